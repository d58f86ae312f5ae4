/*
 * The three shapes an Activity Log record arrives in, and where each field of the event model is read from
 * in each: one table, used by normalization, by the detection's record gate (detect/prefilter.ts, through
 * `readOperationName`, so the gate never skips a record normalization would alert on) and by the README's
 * mapping table (generated from it).
 *
 * Readers are lenient about form and strict about type: text is a string, a number, or the REST API's
 * `{ value, localizedValue }`; an object is an object or a JSON string holding one. A value of another type,
 * or null, is dropped (and named in `droppedFields`) rather than a reason to reject the record.
 */
import type { SourceFormat } from './activityEvent';

export const SOURCE_FORMATS: readonly SourceFormat[] = ['DiagnosticExport', 'Rest', 'AzureActivity'];

type Sources = Readonly<Record<SourceFormat, readonly string[]>>;

/** Per event field and shape: the record paths read, first readable one wins. */
export const FIELD_SOURCES = {
  time: { DiagnosticExport: ['time'], Rest: ['eventTimestamp'], AzureActivity: ['TimeGenerated'] },
  operationName: {
    DiagnosticExport: ['operationName'],
    Rest: ['operationName'],
    AzureActivity: ['OperationNameValue', 'OperationName'],
  },
  resultType: {
    DiagnosticExport: ['resultType'],
    Rest: ['status'],
    AzureActivity: ['ActivityStatusValue', 'ActivityStatus'],
  },
  eventName: { DiagnosticExport: [], Rest: ['eventName'], AzureActivity: [] },
  resourceId: {
    DiagnosticExport: ['resourceId'],
    Rest: ['resourceId'],
    AzureActivity: ['_ResourceId', 'ResourceId'],
  },
  category: {
    DiagnosticExport: ['category'],
    Rest: ['category'],
    AzureActivity: ['CategoryValue', 'Category'],
  },
  callerIpAddress: {
    DiagnosticExport: ['callerIpAddress'],
    Rest: ['httpRequest.clientIpAddress'],
    AzureActivity: ['CallerIpAddress'],
  },
  correlationId: {
    DiagnosticExport: ['correlationId'],
    Rest: ['correlationId'],
    AzureActivity: ['CorrelationId'],
  },
  // AzureActivity has no location column; some producers put one in Properties.
  location: {
    DiagnosticExport: ['location'],
    Rest: [],
    AzureActivity: ['Properties_d.location', 'Properties.location'],
  },
  // AzureActivity's TenantId is the workspace's id; the Entra tenant comes from the claims there.
  tenantId: { DiagnosticExport: ['tenantId'], Rest: ['tenantId'], AzureActivity: [] },
  level: { DiagnosticExport: ['level'], Rest: ['level'], AzureActivity: ['Level'] },
  caller: { DiagnosticExport: ['caller'], Rest: ['caller'], AzureActivity: ['Caller'] },
  subscriptionId: { DiagnosticExport: [], Rest: ['subscriptionId'], AzureActivity: ['SubscriptionId'] },
  resourceGroup: { DiagnosticExport: [], Rest: ['resourceGroupName'], AzureActivity: ['ResourceGroup'] },
  claims: {
    DiagnosticExport: ['identity.claims'],
    Rest: ['claims'],
    AzureActivity: ['Claims_d', 'Claims'],
  },
  properties: {
    DiagnosticExport: ['properties'],
    Rest: ['properties'],
    AzureActivity: ['Properties_d', 'Properties'],
  },
} as const satisfies Readonly<Record<string, Sources>>;

export type EventField = keyof typeof FIELD_SOURCES;

/** Keys an operation name is read from, in any shape (the byte prefilter looks for them). */
export const OPERATION_FIELDS: readonly string[] = [
  ...new Set(SOURCE_FORMATS.flatMap((f) => FIELD_SOURCES.operationName[f])),
];

/**
 * Keys only one shape uses. A record is read in the shape whose keys it holds most of, so one stray field
 * of another shape (an export record with `_ResourceId`, say) does not change how it is read.
 */
const SHAPE_KEYS: Readonly<Record<SourceFormat, readonly string[]>> = {
  DiagnosticExport: ['time', 'resultType', 'resultSignature', 'callerIpAddress', 'identity', 'durationMs'],
  Rest: ['eventTimestamp', 'submissionTimestamp', 'status', 'httpRequest', 'eventDataId', 'eventName'],
  AzureActivity: [
    'TimeGenerated',
    'OperationNameValue',
    'ActivityStatusValue',
    'ActivityStatus',
    'CategoryValue',
    '_ResourceId',
  ],
};

export function detectSourceFormat(record: Readonly<Record<string, unknown>>): SourceFormat {
  // Nearly every record is an export record: one with the export's own time and result keys and none of the
  // other shapes' time, status or operation keys is read as one without counting (the gate runs this on
  // every record of a parsed body).
  if (
    'resultType' in record &&
    'time' in record &&
    !('eventTimestamp' in record) &&
    !('status' in record) &&
    !('TimeGenerated' in record) &&
    !('OperationNameValue' in record)
  ) {
    return 'DiagnosticExport';
  }
  let best: SourceFormat = 'DiagnosticExport';
  let bestScore = -1;
  for (const format of SOURCE_FORMATS) {
    let score = 0;
    for (const key of SHAPE_KEYS[format]) if (key in record) score++;
    if (score > bestScore) {
      best = format;
      bestScore = score;
    }
  }
  // No distinctive key at all: read it as the export shape unless it names an operation only AzureActivity uses.
  if (bestScore === 0 && !('operationName' in record) && 'OperationName' in record) return 'AzureActivity';
  return best;
}

/** A value at a dotted path; `present` is false when the path does not exist at all. */
const SEGMENTS = new Map<string, readonly string[]>();

function segments(path: string): readonly string[] {
  let parts = SEGMENTS.get(path);
  if (!parts) {
    parts = path.split('.');
    SEGMENTS.set(path, parts);
  }
  return parts;
}

export function valueAt(
  record: Readonly<Record<string, unknown>>,
  path: string,
): { present: boolean; value: unknown } {
  let current: unknown = record;
  for (const key of segments(path)) {
    if (typeof current === 'string' && current.startsWith('{')) current = parseObject(current);
    if (typeof current !== 'object' || current === null || Array.isArray(current)) {
      return { present: current !== undefined, value: undefined };
    }
    if (!Object.hasOwn(current, key)) return { present: false, value: undefined };
    current = (current as Record<string, unknown>)[key];
  }
  return { present: true, value: current };
}

/** Text: a string, a number, or the REST API's `{ value }`; undefined for anything else. */
export function readText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const inner = (value as { value?: unknown }).value;
    if (typeof inner === 'string') return inner;
  }
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON: the field is treated as absent; the raw record still reaches the alert's Context.
  }
  return undefined;
}

/** An object, or a JSON string holding one; undefined for anything else. */
export function readObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  if (typeof value === 'string' && value.trimStart().startsWith('{')) return parseObject(value.trim());
  return undefined;
}

/**
 * A field of the event model read from its sources in this shape: the first readable source wins; a source
 * that is present but unreadable (null, wrong type) is reported in `dropped` by its path.
 */
export function readField<T>(
  record: Readonly<Record<string, unknown>>,
  format: SourceFormat,
  field: EventField,
  read: (value: unknown) => T | undefined,
  dropped?: string[],
): T | undefined {
  // An empty text gives way to a later source (AzureActivity exports write "" for a column with no value).
  let empty: T | undefined;
  for (const path of FIELD_SOURCES[field][format]) {
    const { present, value } = valueAt(record, path);
    if (!present) continue;
    const got = read(value);
    if (got === undefined) dropped?.push(path);
    else if (typeof got === 'string' && got.trim() === '') empty ??= got;
    else return got;
  }
  return empty;
}

/**
 * The operation name as normalization reads it, or undefined when the record has none of a readable type
 * (normalization then reports the record as malformed).
 */
export function readOperationName(
  record: Readonly<Record<string, unknown>>,
  format: SourceFormat = detectSourceFormat(record),
): string | undefined {
  return readField(record, format, 'operationName', readText);
}
