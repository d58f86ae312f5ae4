/*
 * One decoded record → the event model, in whichever of the three shapes it arrives (shapes.ts says where
 * each field is read from). Normalization fails closed only on what the rules cannot do without: a record
 * whose operation cannot be read, or whose result or time is present but unreadable, is malformed. Every other
 * field fails open: null or of the wrong type, it is dropped and named in `droppedFields`, and the record
 * is still evaluated, so that a damaged minor field can never hide a capture.
 */
import { DetectorError, describeValue } from '../lib/errors';
import { phaseOf, SMOKE_TEST_FIELD, type ActivityEvent, type SourceFormat } from './activityEvent';
import { identifyCaller } from './caller';
import {
  detectSourceFormat,
  FIELD_SOURCES,
  readField,
  readObject,
  readText,
  valueAt,
  type EventField,
} from './shapes';

export type NormalizeResult =
  | { readonly ok: true; readonly event: ActivityEvent }
  | { readonly ok: false; readonly error: DetectorError };

/** Largest number of dropped fields named per record (a record cannot amplify itself into a long list). */
const MAX_DROPPED_NAMED = 16;

function invalid(format: SourceFormat, field: string, value: unknown, expected: string): NormalizeResult {
  return {
    ok: false,
    error: new DetectorError(
      'RECORD_INVALID',
      `${format} record has no readable ${field}: expected ${expected}, got ${describeValue(value)}`,
    ),
  };
}

/** Turns one decoded record into the event model, or explains which field was wrong and how. */
export function normalizeRecord(record: unknown): NormalizeResult {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return {
      ok: false,
      error: new DetectorError('RECORD_NOT_OBJECT', `Expected a record object, got ${describeValue(record)}`),
    };
  }
  const obj = record as Record<string, unknown>;
  const format = detectSourceFormat(obj);
  const dropped: string[] = [];
  const text = (field: EventField): string => readField(obj, format, field, readText, dropped)?.trim() ?? '';

  const operationName = readField(obj, format, 'operationName', readText);
  if (operationName === undefined) {
    const path = firstPresent(obj, format, 'operationName');
    return invalid(
      format,
      path ?? 'operation name',
      path === undefined ? undefined : valueAt(obj, path).value,
      'a string or { value: string }',
    );
  }
  // Result and time decide whether and when the rule fires: present but unreadable, the record is malformed.
  const required: Partial<Record<'resultType' | 'time', string>> = {};
  for (const field of ['resultType', 'time'] as const) {
    const unreadable: string[] = [];
    const value = readField(obj, format, field, readText, unreadable);
    if (value === undefined && unreadable.length > 0) {
      const path = unreadable[0] ?? field;
      return invalid(format, path, valueAt(obj, path).value, 'a string or { value: string }');
    }
    required[field] = value?.trim() ?? '';
  }
  const result = required.resultType ?? '';

  const claims = readField(obj, format, 'claims', readObject, dropped);
  const properties = readField(obj, format, 'properties', readObject, dropped);
  const identity = identifyCaller(claims, text('caller'));
  // The REST API says BeginRequest on the Start event whatever its status text.
  const eventName = text('eventName');
  // Top level only, in every shape: nothing a user controls is written there in a real record.
  const smokeTestId = readText(obj[SMOKE_TEST_FIELD])?.trim();
  if (smokeTestId === undefined && obj[SMOKE_TEST_FIELD] !== undefined) dropped.push(SMOKE_TEST_FIELD);
  const phase = eventName.toLowerCase() === 'beginrequest' ? 'start' : phaseOf(result);

  return {
    ok: true,
    event: {
      sourceFormat: format,
      time: required.time ?? '',
      operationName,
      resultType: result,
      phase,
      resourceId: text('resourceId'),
      category: text('category'),
      callerIpAddress: text('callerIpAddress'),
      correlationId: text('correlationId'),
      location: text('location'),
      tenantId: text('tenantId') || identity.tenantId,
      level: text('level'),
      caller: identity.caller,
      callerKind: identity.kind,
      callerObjectId: identity.objectId,
      callerAppId: identity.appId,
      callerResourceId: identity.managedIdentityResourceId,
      subscriptionId: text('subscriptionId'),
      resourceGroup: text('resourceGroup'),
      properties,
      droppedFields: [...new Set(dropped)].slice(0, MAX_DROPPED_NAMED),
      ...(smokeTestId === undefined || smokeTestId === '' ? {} : { smokeTestId }),
    },
  };
}

function firstPresent(
  obj: Readonly<Record<string, unknown>>,
  format: SourceFormat,
  field: EventField,
): string | undefined {
  const paths: readonly string[] = FIELD_SOURCES[field][format];
  return paths.find((p) => valueAt(obj, p).present);
}

/** Objects pass through; JSON strings holding an object are parsed; anything else is dropped. */
export const asObject = readObject;
