/**
 * The one event model the rules see, whatever the source shape: a diagnostic-setting export record (Event
 * Hubs, blob archive) or a row shaped like the AzureActivity table. Every field is a plain value; nothing
 * here is trusted to be well-formed beyond its type.
 */
export type SourceFormat = 'DiagnosticExport' | 'AzureActivity';

/**
 * Top-level field `send --smoke-test` adds to every record. Azure's exporter writes a fixed set of top-level
 * fields, so no real record carries it, and nothing a user controls (request bodies, resource names,
 * correlation ids) is written at the top level of one.
 */
export const SMOKE_TEST_FIELD = 'packetCaptureDetectorSmokeTest';

export interface ActivityEvent {
  readonly sourceFormat: SourceFormat;
  /** Record time as logged (kept verbatim for the alert) and normalized to ISO 8601 when parseable. */
  readonly time: string;
  readonly operationName: string;
  readonly resultType: string;
  readonly resourceId: string;
  readonly category: string;
  readonly callerIpAddress: string;
  readonly correlationId: string;
  readonly location: string;
  readonly tenantId: string;
  readonly level: string;
  readonly caller: string;
  readonly callerObjectId: string;
  /** `properties`, with a JSON-string `requestbody` left as it is (parsed lazily by the rules that need it). */
  readonly properties: Readonly<Record<string, unknown>> | undefined;
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
