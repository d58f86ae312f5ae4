/*
 * How many Activity Log records a message holds, per subscription, and how fresh they are, read from its raw
 * bytes without parsing it: most bodies are never parsed (the byte prefilter skips them), and parsing them
 * for a count would cost what the prefilter saves.
 *
 * A record is a `"resourceId"` key (the export and REST shapes write one per record, at the top level; inside
 * a string value the quotes would be escaped, so a body that mentions the word does not count). The key's
 * value gives the subscription (`/subscriptions/<id>/…`, compared without regard to case). Its time is the
 * `"time"` key just before it, where the diagnostic export writes it (`{"time": "…", "resourceId": "…"`); a
 * record laid out otherwise counts with no time. Times are compared as text to the second
 * (`YYYY-MM-DDTHH:MM:SS`, the shape every Activity Log time has); one later than `ceiling` is ignored, so a
 * clock-skewed or forged record cannot hide a real lag. The count is exact for records written so; it is not
 * a validation: anyone with the hub's Send key can write records for any subscription.
 */

/** What one message says about one subscription's records. */
export interface SubscriptionCount {
  records: number;
  /** Newest and oldest record time to the second, `YYYY-MM-DDTHH:MM:SS`; '' when no record said. */
  newest: string;
  oldest: string;
}

/** Per subscription id (lower case; '' for records naming none). */
export type BodyCount = Map<string, SubscriptionCount>;

const KEY = Buffer.from('"resourceId"', 'latin1');
/**
 * What is searched for: the key's tail, whose first byte (`u`) is much rarer in Activity Log JSON than `"`,
 * so the native search skips further between candidates; the head is then checked.
 */
const KEY_TAIL = Buffer.from('urceId"', 'latin1');
const KEY_HEAD = KEY.length - KEY_TAIL.length;
const SUBSCRIPTIONS = Buffer.from('/subscriptions/', 'latin1');
const TIME_KEY = Buffer.from('"time"', 'latin1');
/** Longest subscription id read (a GUID is 36). */
const MAX_ID = 64;
/** Distinct subscriptions of one body matched by bytes; more than this are looked up by string. */
const MAX_SEEN = 8;
/** Length of the compared part of a time. */
const TIME_CHARS = 19;
/** Furthest a time value is looked for before its record's resourceId. */
const TIME_REACH = 64;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(buf: Buffer, at: number): number {
  let p = at;
  while (isSpace(buf[p])) p++;
  return p;
}

/** `/subscriptions/` at `at`, ASCII case-insensitively. */
function subscriptionsAt(buf: Buffer, at: number): boolean {
  if (at + SUBSCRIPTIONS.length > buf.length) return false;
  for (let i = 0; i < SUBSCRIPTIONS.length; i++) {
    if (((buf[at + i] ?? 0) | 0x20) !== SUBSCRIPTIONS[i]) return false;
  }
  return true;
}

const DIGIT_AT = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/** A `YYYY-MM-DDTHH:MM:SS` at `at` (the T in either case). */
function timeAt(buf: Buffer, at: number): boolean {
  if (at + TIME_CHARS > buf.length) return false;
  for (const i of DIGIT_AT) {
    const c = buf[at + i] ?? 0;
    if (c < 0x30 || c > 0x39) return false;
  }
  return (
    buf[at + 4] === 0x2d &&
    buf[at + 7] === 0x2d &&
    ((buf[at + 10] ?? 0) | 0x20) === 0x74 &&
    buf[at + 13] === 0x3a &&
    buf[at + 16] === 0x3a
  );
}

/**
 * Where the time value of the record whose `"resourceId"` key is at `key` starts, or -1: the value of a
 * `"time"` key that ends just before it (`"time": "<value>",`).
 */
function timeBefore(buf: Buffer, key: number): number {
  let p = key - 1;
  while (isSpace(buf[p])) p--;
  if (buf[p] !== 0x2c) return -1;
  p--;
  while (isSpace(buf[p])) p--;
  if (buf[p] !== 0x22) return -1;
  const end = p;
  const stop = Math.max(0, end - TIME_REACH);
  p--;
  while (p > stop && buf[p] !== 0x22) p--;
  if (buf[p] !== 0x22 || end - p - 1 < TIME_CHARS) return -1;
  const value = p + 1;
  p--;
  while (isSpace(buf[p])) p--;
  if (buf[p] !== 0x3a) return -1;
  p--;
  while (isSpace(buf[p])) p--;
  const keyStart = p - TIME_KEY.length + 1;
  if (keyStart < 0) return -1;
  for (let i = 0; i < TIME_KEY.length; i++) if (buf[keyStart + i] !== TIME_KEY[i]) return -1;
  return timeAt(buf, value) ? value : -1;
}

/** Compares the times at `a` and `b` of the buffer (or `b` in `other`). */
function compareTimes(buf: Buffer, a: number, other: Buffer, b: number): number {
  for (let i = 0; i < TIME_CHARS; i++) {
    const d = ((buf[a + i] ?? 0) | (i === 10 ? 0x20 : 0)) - ((other[b + i] ?? 0) | (i === 10 ? 0x20 : 0));
    if (d !== 0) return d;
  }
  return 0;
}

interface Pending {
  entry: SubscriptionCount;
  /** Where the subscription's first and last records' keys are. */
  first: number;
  last: number;
}

/** Where the `"resourceId"` key at `k` names its subscription: [start, length], or [-1, 0]. */
function subscriptionOf(body: Buffer, k: number): [number, number] {
  let p = skipSpace(body, k + KEY.length);
  if (body[p] !== 0x3a) return [-2, 0];
  p = skipSpace(body, p + 1);
  if (body[p] !== 0x22 || !subscriptionsAt(body, p + 1)) return [-1, 0];
  const start = p + 1 + SUBSCRIPTIONS.length;
  let e = start;
  const max = Math.min(body.length, start + MAX_ID);
  while (e < max) {
    const c = body[e];
    if (c === 0x2f || c === 0x22 || c === 0x5c) break;
    e++;
  }
  return [start, e - start];
}

/** The first and the last `"resourceId"` key of the body (-1 when none). */
function firstKey(body: Buffer): number {
  for (let t = body.indexOf(KEY_TAIL, KEY_HEAD); t !== -1; t = body.indexOf(KEY_TAIL, t + KEY_TAIL.length)) {
    if (keyAt(body, t - KEY_HEAD) && subscriptionOf(body, t - KEY_HEAD)[0] !== -2) return t - KEY_HEAD;
  }
  return -1;
}

function lastKey(body: Buffer): number {
  for (let t = body.lastIndexOf(KEY_TAIL); t >= KEY_HEAD; t = body.lastIndexOf(KEY_TAIL, t - 1)) {
    if (keyAt(body, t - KEY_HEAD) && subscriptionOf(body, t - KEY_HEAD)[0] !== -2) return t - KEY_HEAD;
  }
  return -1;
}

/**
 * Counts the records of a raw body per subscription. When all of them name the subscription of the first and
 * the last record (a diagnostic setting exports one subscription's log), each is only compared, byte for
 * byte, with the first; otherwise every record's subscription is read. The times are those of each
 * subscription's first and last record in the body (Azure writes a body's records in time order; reading
 * every record's time would cost more than the count).
 */
export function countRecordBytes(body: Buffer, ceiling: Buffer): BodyCount {
  const first = firstKey(body);
  if (first < 0) return new Map();
  const last = lastKey(body);
  const [a, aLength] = subscriptionOf(body, first);
  const [b, bLength] = subscriptionOf(body, last);
  if (aLength !== bLength || !sameId(body, a, b, aLength)) return countEachRecord(body, ceiling);
  // The first record's key-to-id-end text, compared byte for byte with each record's.
  const sample = a < 0 ? 0 : a + aLength + 1 - (first + KEY.length);
  // Every record must name that subscription too (checked by bytes); the first that does not sends the body
  // to the record-by-record count.
  let records = 0;
  for (
    let tail = body.indexOf(KEY_TAIL, KEY_HEAD);
    tail !== -1;
    tail = body.indexOf(KEY_TAIL, tail + KEY_TAIL.length)
  ) {
    const k = tail - KEY_HEAD;
    if (!keyAt(body, k)) continue;
    // Written exactly as the first record's (spacing, case, the id and what ends it): the same subscription.
    if (!sameBytes(body, k + KEY.length, first + KEY.length, sample)) {
      const [start, length] = subscriptionOf(body, k);
      if (start === -2) continue;
      if (length !== aLength || !sameId(body, start, a, length)) return countEachRecord(body, ceiling);
    }
    records++;
  }
  const entry: SubscriptionCount = { records, newest: '', oldest: '' };
  setTimes(body, ceiling, entry, first, last);
  return new Map([[a < 0 ? '' : body.toString('latin1', a, a + aLength).toLowerCase(), entry]]);
}

/** Every record read: its subscription and time. */
function countEachRecord(body: Buffer, ceiling: Buffer): BodyCount {
  const out: BodyCount = new Map();
  // The body's distinct subscriptions as byte ranges: a record is matched against them without making a
  // string (GUIDs differ in their first bytes, so a mismatch costs a comparison or two).
  const seen: { start: number; length: number; pending: Pending }[] = [];
  const pendingOf = new Map<SubscriptionCount, Pending>();
  for (
    let tail = body.indexOf(KEY_TAIL, KEY_HEAD);
    tail !== -1;
    tail = body.indexOf(KEY_TAIL, tail + KEY_TAIL.length)
  ) {
    const k = tail - KEY_HEAD;
    if (!keyAt(body, k)) continue;
    const [idStart, idLength] = subscriptionOf(body, k);
    if (idStart === -2) continue;
    let pending = seen.find(
      (s) => s.length === idLength && sameId(body, idStart, s.start, idLength),
    )?.pending;
    if (pending === undefined) {
      const id = idStart < 0 ? '' : body.toString('latin1', idStart, idStart + idLength).toLowerCase();
      let entry = out.get(id);
      if (!entry) {
        entry = { records: 0, newest: '', oldest: '' };
        out.set(id, entry);
      }
      pending = pendingOf.get(entry);
      if (!pending) {
        pending = { entry, first: k, last: k };
        pendingOf.set(entry, pending);
      }
      // Another spelling of a known id shares its entry; the list stays short however many ids a body holds.
      if (seen.length < MAX_SEEN) seen.push({ start: idStart, length: idLength, pending });
    }
    pending.entry.records++;
    pending.last = k;
  }
  for (const pending of pendingOf.values())
    setTimes(body, ceiling, pending.entry, pending.first, pending.last);
  return out;
}

/** The newest and oldest of the times of the records whose keys are at `first` and `last`. */
function setTimes(
  body: Buffer,
  ceiling: Buffer,
  entry: SubscriptionCount,
  first: number,
  last: number,
): void {
  let newest = -1;
  let oldest = -1;
  for (const k of first === last ? [first] : [first, last]) {
    const t = timeBefore(body, k);
    if (t < 0 || compareTimes(body, t, ceiling, 0) > 0) continue;
    if (newest < 0 || compareTimes(body, t, body, newest) > 0) newest = t;
    if (oldest < 0 || compareTimes(body, t, body, oldest) < 0) oldest = t;
  }
  if (newest >= 0) entry.newest = isoSecond(body, newest);
  if (oldest >= 0) entry.oldest = isoSecond(body, oldest);
}

function sameBytes(buf: Buffer, a: number, b: number, length: number): boolean {
  if (length === 0 || a + length > buf.length) return false;
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function keyAt(buf: Buffer, at: number): boolean {
  for (let i = 0; i < KEY_HEAD; i++) if (buf[at + i] !== KEY[i]) return false;
  return true;
}

function sameId(buf: Buffer, a: number, b: number, length: number): boolean {
  if (a < 0 || b < 0) return a === b;
  for (let i = 0; i < length; i++)
    if (((buf[a + i] ?? 0) | 0x20) !== ((buf[b + i] ?? 0) | 0x20)) return false;
  return true;
}

function isoSecond(buf: Buffer, at: number): string {
  const text = buf.toString('latin1', at, at + TIME_CHARS);
  return `${text.slice(0, 10)}T${text.slice(11)}`;
}

/** Records of an already-parsed body (a host that hands over objects): the same fields, read directly. */
export function countRecordObjects(body: unknown, ceiling: string): BodyCount {
  const out: BodyCount = new Map();
  const records =
    typeof body === 'object' && body !== null && Array.isArray((body as { records?: unknown }).records)
      ? (body as { records: unknown[] }).records
      : Array.isArray(body)
        ? body
        : [body];
  const ends = new Map<SubscriptionCount, [unknown, unknown]>();
  for (const record of records) {
    if (typeof record !== 'object' || record === null) continue;
    const r = record as { resourceId?: unknown; time?: unknown };
    if (!('resourceId' in r)) continue;
    const rid = typeof r.resourceId === 'string' ? r.resourceId : '';
    const id = /^\/subscriptions\/([^/"\\]{0,64})/i.exec(rid)?.[1]?.toLowerCase() ?? '';
    let entry = out.get(id);
    if (!entry) {
      entry = { records: 0, newest: '', oldest: '' };
      out.set(id, entry);
    }
    entry.records++;
    // As for bytes: the times of the subscription's first and last records.
    const seen = ends.get(entry);
    ends.set(entry, [seen ? seen[0] : r.time, r.time]);
  }
  for (const [entry, [first, last]] of ends) {
    for (const value of first === last ? [first] : [first, last]) {
      const time = typeof value === 'string' ? value.slice(0, TIME_CHARS) : '';
      if (!/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}$/.test(time)) continue;
      const t = `${time.slice(0, 10)}T${time.slice(11)}`;
      if (t > ceiling) continue;
      if (entry.newest === '' || t > entry.newest) entry.newest = t;
      if (entry.oldest === '' || t < entry.oldest) entry.oldest = t;
    }
  }
  return out;
}

/** Record times later than this are ignored (clock skew between Azure and the host, forged records). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** The latest record time counted, computed once per batch. */
export interface Ceiling {
  readonly bytes: Buffer;
  readonly text: string;
}

export function ceilingFor(now: Date): Ceiling {
  const text = new Date(now.getTime() + FUTURE_TOLERANCE_MS).toISOString().slice(0, TIME_CHARS);
  return { bytes: Buffer.from(text, 'latin1'), text };
}

/** A message's count, in whichever form the host delivered it. */
export function countRecords(body: unknown, ceiling: Ceiling): BodyCount {
  if (Buffer.isBuffer(body)) return countRecordBytes(body, ceiling.bytes);
  if (body instanceof Uint8Array)
    return countRecordBytes(Buffer.from(body.buffer, body.byteOffset, body.byteLength), ceiling.bytes);
  if (body instanceof ArrayBuffer) return countRecordBytes(Buffer.from(body), ceiling.bytes);
  if (typeof body === 'string') return countRecordBytes(Buffer.from(body, 'utf8'), ceiling.bytes);
  return countRecordObjects(body, ceiling.text);
}
