/*
 * Turns export files into Event Hubs event bodies the way a diagnostic setting would publish them:
 * `{"records":[...]}`. A body found in the input (a whole file, an array element, a JSON Lines line) is sent
 * unchanged as one event, never split or merged; loose records (the blob archive's JSON Lines, arrays of
 * records, AzureActivity rows) are grouped in order into bodies of at most `recordsPerEvent` records and
 * `maxBodyBytes` bytes.
 *
 * The detector's decoder (`decodeMessage`) flattens every shape into records; sending needs the body
 * boundaries it discards, hence this separate (small) classification on top of `JSON.parse`.
 */
import { describeValue, type ErrorCode } from '../lib/errors';

export interface OutgoingBody {
  /** Where it came from: `file`, `file:line` or `file#index`; for messages and the summary. */
  readonly origin: string;
  readonly records: number;
  readonly bytes: Buffer;
}

export interface InputProblem {
  readonly origin: string;
  readonly code: ErrorCode;
  readonly reason: string;
}

export interface BodyOptions {
  readonly recordsPerEvent: number;
  /** Budget for a grouped body's JSON; a body found whole in the input is never re-cut to fit. */
  readonly maxBodyBytes: number;
  /**
   * A top-level field added to every record (the smoke test's marker). Whole bodies are then re-serialized
   * with their records marked, instead of being sent byte for byte.
   */
  readonly mark?: { readonly field: string; readonly value: string };
}

export interface FileBodies {
  readonly bodies: OutgoingBody[];
  readonly problems: InputProblem[];
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : 'unreadable JSON';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBody(value: unknown): value is { records: unknown } {
  return isPlainObject(value) && Object.hasOwn(value, 'records');
}

class RecordGrouper {
  private pending: string[] = [];
  private pendingBytes = 0;
  private firstOrigin = '';

  constructor(
    private readonly path: string,
    private readonly options: BodyOptions,
    private readonly out: FileBodies,
  ) {}

  /** The record with the marker, when there is one. */
  marked(record: Record<string, unknown>): Record<string, unknown> {
    const mark = this.options.mark;
    return mark === undefined ? record : { ...record, [mark.field]: mark.value };
  }

  get marking(): boolean {
    return this.options.mark !== undefined;
  }

  add(record: Record<string, unknown>, origin: string): void {
    const json = JSON.stringify(this.marked(record));
    const recordBytes = Buffer.byteLength(json) + 1;
    const envelope = '{"records":[]}'.length;
    if (envelope + recordBytes > this.options.maxBodyBytes) {
      this.out.problems.push({
        origin,
        code: 'MESSAGE_TOO_LARGE',
        reason: `The record alone is ${recordBytes} bytes; a body can hold at most ${this.options.maxBodyBytes} bytes`,
      });
      return;
    }
    if (
      this.pending.length >= this.options.recordsPerEvent ||
      envelope + this.pendingBytes + recordBytes > this.options.maxBodyBytes
    ) {
      this.flush();
    }
    if (this.pending.length === 0) this.firstOrigin = origin;
    this.pending.push(json);
    this.pendingBytes += recordBytes;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const origin =
      this.pending.length === 1 ? this.firstOrigin : `${this.firstOrigin} (+${this.pending.length - 1})`;
    this.out.bodies.push({
      origin: origin || this.path,
      records: this.pending.length,
      bytes: Buffer.from(`{"records":[${this.pending.join(',')}]}`),
    });
    this.pending = [];
    this.pendingBytes = 0;
  }
}

/** Classifies one parsed JSON value (a whole file, or one JSON Lines line). */
function classify(
  value: unknown,
  origin: string,
  rawText: string | undefined,
  grouper: RecordGrouper,
  out: FileBodies,
): void {
  if (isBody(value)) {
    if (!Array.isArray(value.records)) {
      out.problems.push({
        origin,
        code: 'BODY_RECORDS_NOT_ARRAY',
        reason: `Expected "records" to be an array, got ${describeValue(value.records)}`,
      });
      return;
    }
    // Bodies keep their place in the stream: records grouped before it are sent first.
    grouper.flush();
    const records: unknown[] = value.records;
    const bytes = grouper.marking
      ? JSON.stringify({ ...value, records: records.map((r) => (isPlainObject(r) ? grouper.marked(r) : r)) })
      : (rawText ?? JSON.stringify(value));
    out.bodies.push({ origin, records: records.length, bytes: Buffer.from(bytes) });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((element, index) => {
      const at = `${origin}#${index}`;
      if (isBody(element) || isPlainObject(element)) classify(element, at, undefined, grouper, out);
      else {
        out.problems.push({
          origin: at,
          code: 'RECORD_NOT_OBJECT',
          reason: `Expected a record object or a {"records":[...]} body, got ${describeValue(element)}`,
        });
      }
    });
    return;
  }
  if (isPlainObject(value)) {
    grouper.add(value, origin);
    return;
  }
  out.problems.push({
    origin,
    code: 'BODY_UNRECOGNIZED',
    reason: `Expected a {"records":[...]} body, a record or an array, got ${describeValue(value)}`,
  });
}

export function bodiesFromText(path: string, input: Buffer | string, options: BodyOptions): FileBodies {
  const out: FileBodies = { bodies: [], problems: [] };
  const grouper = new RecordGrouper(path, options, out);
  const decoded = typeof input === 'string' ? input : input.toString('utf8');
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  if (text.trim() === '') {
    out.problems.push({
      origin: path,
      code: 'MESSAGE_NOT_JSON',
      reason: 'Expected JSON or JSON Lines, got an empty file',
    });
    return out;
  }
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = JSON.parse(text);
  } catch (error) {
    wholeError = error;
  }
  if (wholeError === undefined) {
    classify(whole, path, text.trim(), grouper, out);
    grouper.flush();
    return out;
  }
  const lines = text.split('\n');
  const lineProblems: InputProblem[] = [];
  let parsedAny = false;
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const origin = `${path}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      lineProblems.push({
        origin,
        code: 'MESSAGE_NOT_JSON',
        reason: `Line is not JSON: ${errorText(error)}`,
      });
      continue;
    }
    parsedAny = true;
    classify(value, origin, line.trim(), grouper, out);
  }
  grouper.flush();
  if (!parsedAny) {
    out.problems.push({
      origin: path,
      code: 'MESSAGE_NOT_JSON',
      reason: `Expected JSON or JSON Lines: ${errorText(wholeError)}`,
    });
    return out;
  }
  for (const problem of lineProblems) out.problems.push(problem);
  return out;
}
