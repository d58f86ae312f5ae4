/*
 * Which shape a record has and what its operation is, read one way for everyone: normalization builds the
 * event from it, and the detection's record gate (detect/prefilter.ts) decides from it whether normalizing a
 * record can lead to an alert at all. Two readings of the same field would let the gate skip a record that
 * normalization would have turned into an alert.
 */
import type { SourceFormat } from './activityEvent';

/** Keys an operation name is read from: export shape, then AzureActivity shape (for the byte prefilter). */
export const OPERATION_FIELDS: readonly string[] = ['operationName', 'OperationNameValue', 'OperationName'];

/** AzureActivity rows are recognized by names only that table uses. */
export function detectSourceFormat(record: Readonly<Record<string, unknown>>): SourceFormat {
  return 'OperationNameValue' in record || 'ActivityStatusValue' in record || '_ResourceId' in record
    ? 'AzureActivity'
    : 'DiagnosticExport';
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/**
 * The operation name as normalization reads it, or undefined when the record has none of a readable type
 * (normalization then reports the record as malformed).
 */
export function readOperationName(record: Readonly<Record<string, unknown>>): string | undefined {
  if (detectSourceFormat(record) === 'AzureActivity') {
    return asText(record.OperationNameValue) ?? asText(record.OperationName);
  }
  const value = record.operationName;
  if (typeof value === 'string') return value;
  // The REST API shape: { value, localizedValue }.
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const inner = (value as { value?: unknown }).value;
    if (typeof inner === 'string') return inner;
  }
  return undefined;
}
