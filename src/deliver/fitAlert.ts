/*
 * Logs Ingestion truncates any field over 64 KB (which would leave the dynamic `Context` as broken JSON)
 * and rejects a call over 1 MB with 413. An oversized alert is therefore made to fit before it is sent:
 * deterministically (the same alert always yields the same row, so redeliveries stay identical), the
 * `Context` first, and marked so an analyst knows (`Context._trimmed = true` with the original size and a
 * SHA-256 of the original Context). The alert itself is never dropped, and the identity columns (time,
 * AlertId, rule) are never touched.
 */
import { createHash } from 'node:crypto';
import type { AlertRow } from '../alert/columns';

export const FIELD_MAX_BYTES = 64_000;
/** Leaves room for many rows per call and for the array framing under the 1,000,000-byte call limit. */
export const ROW_MAX_BYTES = 256_000;
/** Each value kept in a trimmed Context is cut to at most this much. */
const CONTEXT_VALUE_MAX_BYTES = 8_000;
/** Room kept in a trimmed Context for the markers. */
const MARKER_RESERVE_BYTES = 1_024;
const MIN_COLUMN_BYTES = 1_024;
const TRUNCATION_SUFFIX = '…[trimmed]';

/** Columns that identify the alert; trimming them would break deduplication or the time axis. */
const PROTECTED_COLUMNS: ReadonlySet<string> = new Set([
  'TimeGenerated',
  'EventTime',
  'AlertId',
  'RuleId',
  'RuleVersion',
  'Severity',
  'Context',
]);

export interface FitResult {
  readonly row: AlertRow;
  readonly trimmed: boolean;
  /** Serialized size after fitting. */
  readonly bytes: number;
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function jsonBytes(value: unknown): number {
  // JSON.stringify(undefined) is undefined despite its declared type; values here are never undefined.
  return value === undefined ? 0 : byteLength(JSON.stringify(value));
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes (suffix included) without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number, suffix = TRUNCATION_SUFFIX): string {
  if (byteLength(text) <= maxBytes) return text;
  const room = Math.max(0, maxBytes - byteLength(suffix));
  let cut = Buffer.from(text, 'utf8').subarray(0, room).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  if (cut.endsWith('\uFFFD') && !text.startsWith(cut)) cut = cut.slice(0, -1);
  // JSON escaping can make a string longer than its raw bytes; keep the serialized form within bounds too.
  while (cut.length > 0 && byteLength(JSON.stringify(cut + suffix)) - 2 > maxBytes)
    cut = cut.slice(0, -Math.max(1, Math.ceil(cut.length / 16)));
  return cut + suffix;
}

function trimContext(context: Record<string, unknown>, targetBytes: number): Record<string, unknown> {
  const original = JSON.stringify(context);
  const out: Record<string, unknown> = {
    _trimmed: true,
    _originalBytes: byteLength(original),
    _originalSha256: createHash('sha256').update(original).digest('hex'),
  };
  const truncatedKeys: string[] = [];
  const omittedKeys: string[] = [];
  let used = jsonBytes(out) + MARKER_RESERVE_BYTES;
  // Key order is the builder's (identifying fields first, `properties` last), so what matters most survives.
  for (const [key, value] of Object.entries(context)) {
    if (key === '_trimmed' || value === undefined) continue;
    const serialized = JSON.stringify(value);
    const keyCost = byteLength(JSON.stringify(key)) + 2;
    const valueBytes = byteLength(serialized);
    const room = targetBytes - used - keyCost;
    if (valueBytes <= Math.min(room, CONTEXT_VALUE_MAX_BYTES)) {
      out[key] = value;
      used += keyCost + valueBytes;
      continue;
    }
    const limit = Math.min(room, CONTEXT_VALUE_MAX_BYTES);
    if (limit < 64) {
      omittedKeys.push(key);
      continue;
    }
    const text = typeof value === 'string' ? value : serialized;
    const cut = truncateUtf8(text, limit - 2);
    out[key] = cut;
    used += keyCost + jsonBytes(cut);
    truncatedKeys.push(key);
  }
  if (truncatedKeys.length > 0) out._truncatedKeys = truncatedKeys;
  if (omittedKeys.length > 0) out._omittedKeys = omittedKeys;
  return out;
}

/** Makes one alert row fit the service's limits; returns the row unchanged (same object) when it already fits. */
export function fitAlert(row: AlertRow): FitResult {
  const rowBytes = jsonBytes(row);
  const contextBytes = jsonBytes(row.Context);
  const oversizedColumns = Object.entries(row).filter(
    ([name, value]) =>
      typeof value === 'string' && !PROTECTED_COLUMNS.has(name) && byteLength(value) > FIELD_MAX_BYTES,
  );
  if (rowBytes <= ROW_MAX_BYTES && contextBytes <= FIELD_MAX_BYTES && oversizedColumns.length === 0) {
    return { row, trimmed: false, bytes: rowBytes };
  }

  const next: Record<string, unknown> = { ...row };
  const trimmedColumns: string[] = [];
  // 1. Context first: to the field limit, and to whatever room the other columns leave in the row.
  const othersBytes = rowBytes - contextBytes;
  const contextTarget = Math.min(FIELD_MAX_BYTES, Math.max(4_096, ROW_MAX_BYTES - othersBytes));
  let context: Record<string, unknown> =
    contextBytes > contextTarget ? trimContext(row.Context, contextTarget) : { ...row.Context };
  // 2. Then any other text column over the field limit.
  for (const [name] of oversizedColumns) {
    next[name] = truncateUtf8(next[name] as string, FIELD_MAX_BYTES);
    trimmedColumns.push(name);
  }
  // 3. Still too big for a row (many large columns): cut the largest text columns, largest first.
  const measure = (): number => jsonBytes({ ...next, Context: context });
  let total = measure();
  const candidates = Object.keys(next)
    .filter((name) => !PROTECTED_COLUMNS.has(name) && typeof next[name] === 'string')
    .sort((a, b) => byteLength(next[b] as string) - byteLength(next[a] as string) || a.localeCompare(b));
  for (const name of candidates) {
    if (total <= ROW_MAX_BYTES - MARKER_RESERVE_BYTES) break;
    const current = next[name] as string;
    const excess = total - (ROW_MAX_BYTES - MARKER_RESERVE_BYTES);
    const target = Math.max(MIN_COLUMN_BYTES, byteLength(current) - excess);
    if (target >= byteLength(current)) continue;
    next[name] = truncateUtf8(current, target);
    if (!trimmedColumns.includes(name)) trimmedColumns.push(name);
    total = measure();
  }
  if (context._trimmed !== true) context = { ...context, _trimmed: true };
  if (trimmedColumns.length > 0) context._trimmedColumns = trimmedColumns;
  next.Context = context;
  const fitted = next as AlertRow;
  return { row: fitted, trimmed: true, bytes: jsonBytes(fitted) };
}
