/*
 * Which Event Hub the send and consume commands talk to, and how they authenticate. One resolution for both
 * commands, from flags first and then the same settings the function reads (`EventHubConnection`,
 * `EventHubConnection__fullyQualifiedNamespace`, `EVENTHUB_NAME`), so a local.settings.json exported to the
 * shell works unchanged.
 */
import { DEFAULT_EVENTHUB_NAME, EVENTHUB_CONNECTION } from '../config/settings';
import { DetectorError } from '../lib/errors';
import { redactText } from '../lib/redact';
import { nonEmpty } from '../lib/text';

export type EventHubTarget =
  | {
      readonly kind: 'connectionString';
      readonly connectionString: string;
      /** Passed to the client only when the connection string has no `EntityPath`. */
      readonly eventHubName: string | undefined;
      readonly host: string;
      readonly hub: string;
    }
  | {
      readonly kind: 'identity';
      readonly fullyQualifiedNamespace: string;
      readonly host: string;
      readonly hub: string;
    };

export interface TargetFlags {
  readonly connectionString?: string;
  readonly namespace?: string;
  readonly hub?: string;
}

/** The connection-string environment variable named in the CLI help (besides `EventHubConnection`). */
export const EVENTHUB_CONNECTION_STRING_ENV = 'EVENTHUB_CONNECTION_STRING';

/** Key=value pairs of a connection string; keys compared case-insensitively as the SDK does. */
export function connectionStringParts(connectionString: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    parts.set(segment.slice(0, eq).trim().toLowerCase(), segment.slice(eq + 1).trim());
  }
  return parts;
}

export function resolveEventHubTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): EventHubTarget {
  const fromEnvConnection = nonEmpty(env[EVENTHUB_CONNECTION]);
  const connectionString =
    nonEmpty(flags.connectionString) ??
    nonEmpty(env[EVENTHUB_CONNECTION_STRING_ENV]) ??
    // The function's setting holds a connection string locally; in Azure the namespace form below is used.
    (fromEnvConnection?.includes('=') ? fromEnvConnection : undefined);
  const namespace =
    nonEmpty(flags.namespace) ?? nonEmpty(env[`${EVENTHUB_CONNECTION}__fullyQualifiedNamespace`]);
  const hubFlag = nonEmpty(flags.hub) ?? nonEmpty(env.EVENTHUB_NAME);

  if (nonEmpty(flags.connectionString) !== undefined && nonEmpty(flags.namespace) !== undefined) {
    throw new DetectorError('USAGE', 'Give either --connection-string or --namespace, not both');
  }

  if (connectionString !== undefined && nonEmpty(flags.namespace) === undefined) {
    const parts = connectionStringParts(connectionString);
    const endpoint = parts.get('endpoint');
    const hostMatch = endpoint === undefined ? null : /^[a-z]+:\/\/([^/;]+)/i.exec(endpoint);
    if (!hostMatch?.[1]) {
      throw new DetectorError(
        'USAGE',
        `The Event Hubs connection string must contain Endpoint=sb://<namespace>/, got ${redactText(connectionString).slice(0, 200)}`,
      );
    }
    if (!parts.has('sharedaccesskey') && !parts.has('sharedaccesssignature')) {
      throw new DetectorError(
        'USAGE',
        'The Event Hubs connection string must contain SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)',
      );
    }
    const entityPath = nonEmpty(parts.get('entitypath'));
    if (entityPath !== undefined && hubFlag !== undefined && entityPath !== hubFlag) {
      throw new DetectorError(
        'USAGE',
        `The connection string is for Event Hub "${entityPath}" but the hub given is "${hubFlag}"`,
      );
    }
    const hub = entityPath ?? hubFlag ?? DEFAULT_EVENTHUB_NAME;
    return {
      kind: 'connectionString',
      connectionString,
      eventHubName: entityPath === undefined ? hub : undefined,
      host: hostMatch[1],
      hub,
    };
  }

  if (namespace !== undefined) {
    const host = namespace.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) {
      throw new DetectorError(
        'USAGE',
        `--namespace must be a host name like <namespace>.servicebus.windows.net, got "${namespace}"`,
      );
    }
    return {
      kind: 'identity',
      fullyQualifiedNamespace: host,
      host,
      hub: hubFlag ?? DEFAULT_EVENTHUB_NAME,
    };
  }

  throw new DetectorError(
    'USAGE',
    `No Event Hub given: use --namespace <ns>.servicebus.windows.net (signs in with DefaultAzureCredential) or --connection-string (also read from ${EVENTHUB_CONNECTION_STRING_ENV}, ${EVENTHUB_CONNECTION} or ${EVENTHUB_CONNECTION}__fullyQualifiedNamespace)`,
  );
}

export function describeTarget(target: EventHubTarget): string {
  return `${target.host}/${target.hub}`;
}
