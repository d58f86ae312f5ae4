import * as z from '../zod';
import { DetectorError } from '../errors';

/**
 * Every setting the detector reads, validated once at start-up. The README's configuration table and the
 * Bicep app settings are checked against `SETTINGS` by tests, so add a setting here first.
 */
export interface SettingDoc {
  readonly name: string;
  readonly required: 'always' | 'function' | 'delivery' | 'no';
  readonly default?: string;
  readonly description: string;
}

export const DEFAULT_EVENTHUB_NAME = 'insights-activity-logs';
export const DEFAULT_CONSUMER_GROUP = 'packet-capture-detector';
export const DEFAULT_DEAD_LETTER_CONTAINER = 'packet-capture-dead-letters';
export const EVENTHUB_CONNECTION = 'EventHubConnection';

export const SETTINGS: readonly SettingDoc[] = [
  {
    name: 'LOGS_INGESTION_ENDPOINT',
    required: 'delivery',
    description:
      'Logs ingestion endpoint of the DCR (https only). Unset: alerts are written to stdout as JSON Lines.',
  },
  { name: 'LOGS_INGESTION_RULE_ID', required: 'delivery', description: 'Immutable id of the DCR (`dcr-…`).' },
  {
    name: 'LOGS_INGESTION_STREAM_NAME',
    required: 'delivery',
    default: 'Custom-PacketCaptureAlerts_CL',
    description: 'DCR stream that receives alert rows.',
  },
  {
    name: 'AZURE_CLIENT_ID',
    required: 'no',
    description:
      'Client id of the user-assigned managed identity (unset: system-assigned / developer login).',
  },
  {
    name: 'EVENTHUB_NAME',
    required: 'function',
    default: DEFAULT_EVENTHUB_NAME,
    description: 'Event Hub that receives the Activity Log export.',
  },
  {
    name: 'EVENTHUB_CONSUMER_GROUP',
    required: 'function',
    default: DEFAULT_CONSUMER_GROUP,
    description: 'Consumer group the detector reads with (its own, so other readers are unaffected).',
  },
  {
    name: `${EVENTHUB_CONNECTION}__fullyQualifiedNamespace`,
    required: 'function',
    description:
      'Event Hubs namespace host (`<ns>.servicebus.windows.net`) for the identity-based trigger connection. Locally, set `EventHubConnection` to a connection string instead.',
  },
  {
    name: 'EVENTHUB_CONNECTION_STRING',
    required: 'no',
    description:
      '`send` and `consume` only: an Event Hubs connection string (emulator, or SAS where identities are not possible). In Azure prefer `--namespace` with an identity.',
  },
  {
    name: 'DEAD_LETTER_CONTAINER',
    required: 'no',
    default: DEFAULT_DEAD_LETTER_CONTAINER,
    description: 'Blob container that keeps undeliverable alerts and malformed messages.',
  },
  {
    name: 'DEAD_LETTER_BLOB_SERVICE_URI',
    required: 'no',
    description:
      'Blob endpoint for dead letters (https). Unset: `AzureWebJobsStorage__blobServiceUri`, then `AzureWebJobsStorage`.',
  },
  {
    name: 'DELIVERY_TIME_BUDGET_SECONDS',
    required: 'no',
    default: '240',
    description:
      'Time one invocation may spend retrying delivery before dead-lettering (below functionTimeout).',
  },
];

/** Trimmed; an empty value counts as unset. */
const optionalText = z.optional(
  z.pipe(
    z.string().check(z.trim()),
    z.transform((v) => (v === '' ? undefined : v)),
  ),
);

/** A setting that, when set, must also satisfy `schema`. */
const optionalSetting = <T extends z.ZodMiniType<unknown, string>>(schema: T) =>
  z.pipe(optionalText, z.optional(schema));

const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

const httpsUrl = (name: string) =>
  z.string().check(
    z.refine((v) => URL.canParse(v), { error: `${name} must be an absolute URL` }),
    z.refine((v) => !URL.canParse(v) || new URL(v).protocol === 'https:', {
      error: `${name} must use https:// (bearer tokens are never sent over plain http)`,
    }),
  );

const rawSchema = z.object({
  LOGS_INGESTION_ENDPOINT: optionalSetting(httpsUrl('LOGS_INGESTION_ENDPOINT')),
  LOGS_INGESTION_RULE_ID: optionalSetting(
    matching(
      /^dcr-[0-9a-f]{32}$/i,
      'LOGS_INGESTION_RULE_ID must be a DCR immutable id like dcr-<32 hex digits>',
    ),
  ),
  LOGS_INGESTION_STREAM_NAME: optionalSetting(
    matching(/^Custom-[A-Za-z0-9_]+$/, 'LOGS_INGESTION_STREAM_NAME must look like Custom-<Name>'),
  ),
  AZURE_CLIENT_ID: optionalSetting(
    matching(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
      'AZURE_CLIENT_ID must be a GUID',
    ),
  ),
  EVENTHUB_NAME: optionalText,
  EVENTHUB_CONSUMER_GROUP: optionalText,
  [`${EVENTHUB_CONNECTION}__fullyQualifiedNamespace`]: optionalText,
  [EVENTHUB_CONNECTION]: optionalText,
  DEAD_LETTER_CONTAINER: optionalSetting(
    matching(
      /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
      'DEAD_LETTER_CONTAINER must be a valid blob container name (3-63 lowercase letters, digits, single hyphens)',
    ),
  ),
  DEAD_LETTER_BLOB_SERVICE_URI: optionalSetting(httpsUrl('DEAD_LETTER_BLOB_SERVICE_URI')),
  AzureWebJobsStorage__blobServiceUri: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  AzureWebJobsStorage: optionalText,
  DELIVERY_TIME_BUDGET_SECONDS: optionalSetting(
    z.coerce
      .number<string>()
      .check(
        z.refine(Number.isInteger, { error: 'DELIVERY_TIME_BUDGET_SECONDS must be a whole number' }),
        z.minimum(1, 'DELIVERY_TIME_BUDGET_SECONDS must be at least 1'),
        z.maximum(3600, 'DELIVERY_TIME_BUDGET_SECONDS must be at most 3600'),
      ),
  ),
});

export interface LogsIngestionSettings {
  readonly endpoint: string;
  readonly ruleId: string;
  readonly streamName: string;
}

/** Where dead letters go: an identity-based blob endpoint, or a connection string (local/Azurite only). */
export type DeadLetterStorage =
  | { readonly kind: 'serviceUri'; readonly serviceUri: string }
  | { readonly kind: 'connectionString'; readonly connectionString: string };

export interface Settings {
  /** Undefined: no Logs Ingestion configured, alerts go to stdout. */
  readonly logsIngestion: LogsIngestionSettings | undefined;
  readonly managedIdentityClientId: string | undefined;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly deadLetterContainer: string;
  readonly deadLetterStorage: DeadLetterStorage | undefined;
  readonly deliveryTimeBudgetMs: number;
}

export type SettingsPurpose = 'function' | 'cli';

/**
 * Validates the environment. Throws one `CONFIG_INVALID` error that names every problem, so a deployment
 * is fixed in one round trip rather than one setting at a time.
 */
export function loadSettings(env: NodeJS.ProcessEnv, purpose: SettingsPurpose): Settings {
  const parsed = rawSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.');
      problems.push(issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`);
    }
  }
  // Presence rules are checked on the raw environment, so they are reported even when a value is malformed.
  const present = (name: string) => (env[name] ?? '').trim() !== '';
  const hasEndpoint = present('LOGS_INGESTION_ENDPOINT');
  const hasRuleId = present('LOGS_INGESTION_RULE_ID');
  if (hasRuleId && !hasEndpoint)
    problems.push('LOGS_INGESTION_ENDPOINT is required when LOGS_INGESTION_RULE_ID is set');
  if (hasEndpoint && !hasRuleId)
    problems.push('LOGS_INGESTION_RULE_ID is required when LOGS_INGESTION_ENDPOINT is set');
  if (purpose === 'function') {
    if (!present(`${EVENTHUB_CONNECTION}__fullyQualifiedNamespace`) && !present(EVENTHUB_CONNECTION)) {
      problems.push(
        `${EVENTHUB_CONNECTION}__fullyQualifiedNamespace (identity-based, in Azure) or ${EVENTHUB_CONNECTION} (connection string, locally) is required`,
      );
    }
    // Core Tools sets AZURE_FUNCTIONS_ENVIRONMENT=Development: locally alerts may go to stdout. In Azure a
    // missing destination is a deployment error, not a reason to write alerts where nobody looks.
    if (!hasEndpoint && !hasRuleId && env.AZURE_FUNCTIONS_ENVIRONMENT !== 'Development') {
      problems.push(
        'LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are required for the function in Azure (alerts go to stdout only when AZURE_FUNCTIONS_ENVIRONMENT=Development, as under func start)',
      );
    }
  }

  const raw = parsed.success ? parsed.data : undefined;
  const logsIngestion: LogsIngestionSettings | undefined =
    raw?.LOGS_INGESTION_ENDPOINT !== undefined && raw.LOGS_INGESTION_RULE_ID !== undefined
      ? {
          endpoint: raw.LOGS_INGESTION_ENDPOINT,
          ruleId: raw.LOGS_INGESTION_RULE_ID,
          streamName: raw.LOGS_INGESTION_STREAM_NAME ?? 'Custom-PacketCaptureAlerts_CL',
        }
      : undefined;

  if (problems.length > 0 || !raw) {
    throw new DetectorError(
      'CONFIG_INVALID',
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
      parsed.success ? undefined : { cause: parsed.error },
    );
  }

  return {
    logsIngestion,
    managedIdentityClientId: raw.AZURE_CLIENT_ID,
    eventHubName: raw.EVENTHUB_NAME ?? DEFAULT_EVENTHUB_NAME,
    consumerGroup: raw.EVENTHUB_CONSUMER_GROUP ?? DEFAULT_CONSUMER_GROUP,
    deadLetterContainer: raw.DEAD_LETTER_CONTAINER ?? DEFAULT_DEAD_LETTER_CONTAINER,
    deadLetterStorage: resolveDeadLetterStorage(raw),
    deliveryTimeBudgetMs: (raw.DELIVERY_TIME_BUDGET_SECONDS ?? 240) * 1000,
  };
}

function resolveDeadLetterStorage(raw: z.infer<typeof rawSchema>): DeadLetterStorage | undefined {
  if (raw.DEAD_LETTER_BLOB_SERVICE_URI)
    return { kind: 'serviceUri', serviceUri: raw.DEAD_LETTER_BLOB_SERVICE_URI };
  if (raw.AzureWebJobsStorage__blobServiceUri) {
    return { kind: 'serviceUri', serviceUri: raw.AzureWebJobsStorage__blobServiceUri };
  }
  if (raw.AzureWebJobsStorage__accountName) {
    return {
      kind: 'serviceUri',
      serviceUri: `https://${raw.AzureWebJobsStorage__accountName}.blob.core.windows.net`,
    };
  }
  if (raw.AzureWebJobsStorage) return { kind: 'connectionString', connectionString: raw.AzureWebJobsStorage };
  return undefined;
}
