/*
 * The one event model the rules see, whatever the source shape: a diagnostic-setting export record (Event
 * Hubs, blob archive), an event of the Activity Log REST API (`az monitor activity-log list`,
 * `Get-AzActivityLog`, the portal's JSON download) or a row shaped like the AzureActivity table. Every field
 * is a plain value; nothing here is trusted to be well-formed beyond its type.
 */
export type SourceFormat = 'DiagnosticExport' | 'Rest' | 'AzureActivity';

/**
 * Top-level field `send --smoke-test` adds to every record. Azure's exporter writes a fixed set of top-level
 * fields, so no real record carries it, and nothing a user controls (request bodies, resource names,
 * correlation ids) is written at the top level of one.
 */
export const SMOKE_TEST_FIELD = 'packetCaptureDetectorSmokeTest';

/** Which kind of principal made the call, as Sentinel's entity mapping needs it. */
export type CallerKind = 'User' | 'Guest' | 'ServicePrincipal' | 'ManagedIdentity' | 'Unknown';

/** Where an operation is in its lifecycle: one operation logs a Start, an Accept and a Success record. */
export type Phase = 'start' | 'accept' | 'success' | 'failure' | 'other';

export interface ActivityEvent {
  readonly sourceFormat: SourceFormat;
  /** Record time as logged (kept verbatim for the alert) and normalized to ISO 8601 when parseable. */
  readonly time: string;
  readonly operationName: string;
  /** The result as logged, trimmed: Start/Accept/Success (export, AzureActivity), Started/Accepted/Succeeded (REST). */
  readonly resultType: string;
  readonly phase: Phase;
  readonly resourceId: string;
  readonly category: string;
  readonly callerIpAddress: string;
  readonly correlationId: string;
  /** Where Azure processed the operation, as logged ('' when the record has none; often `global`). */
  readonly location: string;
  /** The Entra ID tenant (never the AzureActivity `TenantId`, which is the workspace's). */
  readonly tenantId: string;
  readonly level: string;
  /** Who did it, as an analyst names them: UPN or name claim for users, app id for applications. */
  readonly caller: string;
  readonly callerKind: CallerKind;
  readonly callerObjectId: string;
  readonly callerAppId: string;
  /** A managed identity's own resource id (`xms_mirid`), when the caller is one. */
  readonly callerResourceId: string;
  /** Subscription and resource group the shape states apart from the resource id (REST, AzureActivity). */
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** `properties`, with JSON-string bodies left as they are (parsed lazily by the rules that need them). */
  readonly properties: Readonly<Record<string, unknown>> | undefined;
  /** Minor fields that were present but null or of the wrong type, and so were left out. */
  readonly droppedFields: readonly string[];
  /** The smoke test run that sent the record (SMOKE_TEST_FIELD); absent on every real record. */
  readonly smokeTestId?: string;
}

export interface ResourceIdParts {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly resourceName: string;
  readonly provider: string;
}

/** Splits `/subscriptions/<id>/resourceGroups/<rg>/providers/<ns>/<type>/<name>[/...]`, case-insensitively. */
export function parseResourceId(resourceId: string): ResourceIdParts {
  const segments = resourceId.split('/').filter((s) => s !== '');
  let subscriptionId = '';
  let resourceGroup = '';
  let provider = '';
  for (let i = 0; i + 1 < segments.length; i++) {
    const key = segments[i]?.toLowerCase();
    const value = segments[i + 1] ?? '';
    if (key === 'subscriptions' && subscriptionId === '') subscriptionId = value;
    else if (key === 'resourcegroups' && resourceGroup === '') resourceGroup = value;
    else if (key === 'providers' && provider === '') provider = value;
  }
  const resourceName = segments.length > 0 && provider !== '' ? (segments[segments.length - 1] ?? '') : '';
  return { subscriptionId, resourceGroup, resourceName, provider };
}

const PHASES: Readonly<Record<string, Phase>> = {
  start: 'start',
  started: 'start',
  beginrequest: 'start',
  accept: 'accept',
  accepted: 'accept',
  success: 'success',
  succeeded: 'success',
  failure: 'failure',
  failed: 'failure',
  canceled: 'failure',
  cancelled: 'failure',
};

/** The lifecycle phase of a logged result (any letter case, trimmed). */
export function phaseOf(result: string): Phase {
  return PHASES[result.trim().toLowerCase()] ?? 'other';
}
