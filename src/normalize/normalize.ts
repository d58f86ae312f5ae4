import * as z from '../zod';
import { DetectorError, describeValue } from '../errors';
import { SMOKE_TEST_FIELD, type ActivityEvent, type SourceFormat } from './activityEvent';

const CLAIM_UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const CLAIM_OBJECT_ID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';

/** A field that must be text when present. Numbers are accepted as text (some producers emit them). */
const text = z.optional(
  z.pipe(
    z.union([z.string(), z.number()]),
    z.transform((v) => String(v)),
  ),
);

/** `operationName` is a string in exports and `{ value, localizedValue }` in the REST API shape. */
const operationNameField = z.optional(
  z.union([
    z.string(),
    z.pipe(
      z.object({ value: z.string() }),
      z.transform((o) => o.value),
    ),
  ]),
);

/** `properties` is an object, or (AzureActivity `Properties`) a JSON string; anything else is ignored. */
const objectOrJson = z.optional(z.union([z.record(z.string(), z.unknown()), z.string()]));

const exportSchema = z.object({
  time: text,
  resourceId: text,
  operationName: operationNameField,
  category: text,
  resultType: text,
  callerIpAddress: text,
  correlationId: text,
  location: text,
  tenantId: text,
  level: text,
  caller: text,
  identity: z.optional(z.object({ claims: z.optional(z.record(z.string(), z.unknown())) })),
  properties: objectOrJson,
  [SMOKE_TEST_FIELD]: text,
});

const azureActivitySchema = z.object({
  TimeGenerated: text,
  _ResourceId: text,
  ResourceId: text,
  OperationNameValue: text,
  OperationName: text,
  CategoryValue: text,
  Category: text,
  ActivityStatusValue: text,
  CallerIpAddress: text,
  CorrelationId: text,
  Caller: text,
  Level: text,
  TenantId: text,
  Claims_d: objectOrJson,
  Claims: objectOrJson,
  Properties_d: objectOrJson,
  Properties: objectOrJson,
  [SMOKE_TEST_FIELD]: text,
});

/** AzureActivity rows are recognized by names only that table uses. */
export function detectSourceFormat(record: Readonly<Record<string, unknown>>): SourceFormat {
  return 'OperationNameValue' in record || 'ActivityStatusValue' in record || '_ResourceId' in record
    ? 'AzureActivity'
    : 'DiagnosticExport';
}

export type NormalizeResult =
  | { readonly ok: true; readonly event: ActivityEvent }
  | { readonly ok: false; readonly error: DetectorError };

/** Turns one decoded record into the event model, or explains which field was wrong and how. */
export function normalizeRecord(record: unknown): NormalizeResult {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return {
      ok: false,
      error: new DetectorError('RECORD_NOT_OBJECT', `Expected a record object, got ${describeValue(record)}`),
    };
  }
  const obj = record as Record<string, unknown>;
  return detectSourceFormat(obj) === 'AzureActivity' ? fromAzureActivity(obj) : fromExport(obj);
}

const EXPECTED_BY_FIELD: Readonly<Record<string, string>> = {
  operationName: 'a string or { value: string }',
  identity: 'an object with optional claims',
  properties: 'an object or a JSON string',
  Properties: 'an object or a JSON string',
  Properties_d: 'an object or a JSON string',
  Claims: 'an object or a JSON string',
  Claims_d: 'an object or a JSON string',
};

function invalid(
  error: z.core.$ZodError,
  format: SourceFormat,
  record: Record<string, unknown>,
): NormalizeResult {
  const details = error.issues
    .slice(0, 5)
    .map((i) => {
      const field = i.path.join('.') || '(record)';
      const top = String(i.path[0] ?? '');
      const expected = EXPECTED_BY_FIELD[top] ?? (i.path.length > 1 ? 'an object of strings' : 'a string');
      const actual = i.path.reduce<unknown>(
        (v, key) =>
          typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined,
        record,
      );
      return `${field}: expected ${expected}, got ${describeValue(actual)}`;
    })
    .join('; ');
  return {
    ok: false,
    error: new DetectorError('RECORD_INVALID', `${format} record has fields of the wrong type: ${details}`, {
      cause: error,
    }),
  };
}

function missingOperation(format: SourceFormat, field: string): NormalizeResult {
  return {
    ok: false,
    error: new DetectorError(
      'RECORD_INVALID',
      `${format} record has no ${field}: expected a string, got undefined`,
    ),
  };
}

function fromExport(obj: Record<string, unknown>): NormalizeResult {
  const parsed = exportSchema.safeParse(obj);
  if (!parsed.success) return invalid(parsed.error, 'DiagnosticExport', obj);
  const r = parsed.data;
  if (r.operationName === undefined) return missingOperation('DiagnosticExport', 'operationName');
  const claims = r.identity?.claims ?? {};
  const upn = claimText(claims[CLAIM_UPN]);
  const appId = claimText(claims.appid);
  const objectId = claimText(claims[CLAIM_OBJECT_ID]) || claimText(claims.oid);
  return {
    ok: true,
    event: {
      sourceFormat: 'DiagnosticExport',
      time: r.time ?? '',
      operationName: r.operationName,
      resultType: r.resultType ?? '',
      resourceId: r.resourceId ?? '',
      category: r.category ?? '',
      callerIpAddress: r.callerIpAddress ?? '',
      correlationId: r.correlationId ?? '',
      location: r.location ?? '',
      tenantId: r.tenantId ?? '',
      level: r.level ?? '',
      caller: upn || appId || objectId || (r.caller ?? ''),
      callerObjectId: objectId,
      properties: asObject(r.properties),
      ...smokeTest(r[SMOKE_TEST_FIELD]),
    },
  };
}

function fromAzureActivity(obj: Record<string, unknown>): NormalizeResult {
  const parsed = azureActivitySchema.safeParse(obj);
  if (!parsed.success) return invalid(parsed.error, 'AzureActivity', obj);
  const r = parsed.data;
  const operationName = r.OperationNameValue ?? r.OperationName;
  if (operationName === undefined) return missingOperation('AzureActivity', 'OperationNameValue');
  const claims = asObject(r.Claims_d ?? r.Claims) ?? {};
  const properties = asObject(r.Properties_d ?? r.Properties);
  const upn = claimText(claims[CLAIM_UPN]);
  const appId = claimText(claims.appid);
  const objectId = claimText(claims[CLAIM_OBJECT_ID]);
  return {
    ok: true,
    event: {
      sourceFormat: 'AzureActivity',
      time: r.TimeGenerated ?? '',
      operationName,
      resultType: r.ActivityStatusValue ?? '',
      resourceId: r._ResourceId ?? r.ResourceId ?? '',
      category: r.CategoryValue ?? r.Category ?? '',
      callerIpAddress: r.CallerIpAddress ?? '',
      correlationId: r.CorrelationId ?? '',
      // AzureActivity has no location column; the rule reports it as unknown rather than guessing.
      location: typeof properties?.location === 'string' ? properties.location : '',
      tenantId: r.TenantId ?? '',
      level: r.Level ?? '',
      caller: upn || appId || objectId || (r.Caller ?? ''),
      callerObjectId: objectId,
      properties,
      ...smokeTest(r[SMOKE_TEST_FIELD]),
    },
  };
}

function smokeTest(id: string | undefined): Pick<ActivityEvent, 'smokeTestId'> {
  return id === undefined ? {} : { smokeTestId: id };
}

function claimText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Objects pass through; JSON strings holding an object are parsed; anything else is dropped. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  if (typeof value === 'string' && value.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return parsed as Record<string, unknown>;
      }
    } catch {
      // Not JSON: callers treat the field as absent; the raw record still reaches the alert's Context.
    }
  }
  return undefined;
}
