/*
 * Turns one trigger batch element into record candidates. An element may be a Buffer (dataType 'binary'),
 * a string, or a value the worker already parsed; bytes may be UTF-8, UTF-16 with a BOM or gzip (text.ts).
 * A body is normally `{"records":[...]}`; a single record, an array of records or of bodies, a REST API
 * list page (`{"value":[...]}`) and JSON Lines (the blob archive's PT1H.json) are accepted too.
 * Decoding never throws: whatever cannot be read becomes a problem with its position, and every readable
 * record beside it is still returned. The cost stays proportional to the input whatever it holds: lines are
 * walked without splitting the text into an array, only the first `MAX_PROBLEMS_KEPT` problems of a message
 * are described (the rest are counted), and the raw input is not copied into problems — the caller keeps
 * the message once.
 */
import { describeValue, type ErrorCode } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { bytesAsText } from './text';

export interface DecodeProblem {
  readonly code: ErrorCode;
  readonly reason: string;
  /** 1-based line for JSON Lines input. */
  readonly line?: number;
}

/** Problems described per message; past this, problems are only counted (`problemCount`). */
export const MAX_PROBLEMS_KEPT = 20;
/** A problem's reason is cut to this many characters (it can quote the input). */
export const MAX_REASON_LENGTH = 300;

export interface DecodedMessage {
  /** Record candidates, not yet validated (normalization checks each). */
  readonly records: unknown[];
  /** For JSON Lines input, the 1-based line of each record (parallel to `records`); empty otherwise. */
  readonly recordLines: number[];
  /** The first `MAX_PROBLEMS_KEPT` problems, in input order. */
  readonly problems: DecodeProblem[];
  /** Every problem found, the ones past the cap included. */
  problemCount: number;
}

/** Keeps the first problems of a message described and counts every one. */
export function addProblem(out: DecodedMessage, problem: () => DecodeProblem): void {
  out.problemCount++;
  if (out.problems.length < MAX_PROBLEMS_KEPT) out.problems.push(problem());
}

export function decodeMessage(message: unknown): DecodedMessage {
  const out: DecodedMessage = { records: [], recordLines: [], problems: [], problemCount: 0 };
  if (Buffer.isBuffer(message)) {
    decodeBytes(message, out);
  } else if (message instanceof Uint8Array) {
    decodeBytes(Buffer.from(message.buffer, message.byteOffset, message.byteLength), out);
  } else if (message instanceof ArrayBuffer) {
    decodeBytes(Buffer.from(message), out);
  } else if (typeof message === 'string') {
    decodeText(message, out);
  } else if (typeof message === 'object' && message !== null) {
    interpretBody(message, undefined, out);
  } else {
    addProblem(out, () => ({
      code: 'MESSAGE_UNSUPPORTED_TYPE',
      reason: `Expected a JSON body (object, string or bytes), got ${describeValue(message)}`,
    }));
  }
  return out;
}

function isBlank(text: string, from = 0, to = text.length): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!(c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xfeff)) return false;
  }
  return true;
}

/** First character a JSON text can start with: { [ " - digit t f n (after spaces). */
function mayBeJson(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
    return (
      c === 0x7b ||
      c === 0x5b ||
      c === 0x22 ||
      c === 0x2d ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x74 ||
      c === 0x66 ||
      c === 0x6e
    );
  }
  return false;
}

function reasonText(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

function decodeBytes(buf: Buffer, out: DecodedMessage): void {
  const text = bytesAsText(buf);
  if (!text.ok) {
    addProblem(out, () => ({ code: 'MESSAGE_NOT_JSON', reason: text.reason }));
    return;
  }
  decodeText(text.text, out);
}

function decodeText(text: string, out: DecodedMessage): void {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (isBlank(body)) {
    addProblem(out, () => ({
      code: 'MESSAGE_NOT_JSON',
      reason: 'Expected a JSON body, got an empty message',
    }));
    return;
  }
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = JSON.parse(body);
  } catch (error) {
    wholeError = error;
  }
  if (wholeError === undefined) {
    interpretBody(whole, undefined, out);
    return;
  }
  // One line that is not JSON is not JSON Lines either; parsing it a second time would only cost.
  if (!body.includes('\n')) {
    addProblem(out, () => ({
      code: 'MESSAGE_NOT_JSON',
      reason: reasonText(`Expected JSON or JSON Lines: ${errorText(wholeError)}`),
    }));
    return;
  }
  // Not one JSON document: try JSON Lines. If no line parses either, it is one malformed message
  // (e.g. a truncated pretty-printed body), reported once rather than line by line. Lines are walked in
  // place (no array of lines); a bad line costs its parse and a counter, and only the first few are
  // described.
  const parsed: { value: unknown; line: number }[] = [];
  const bad: DecodeProblem[] = [];
  let badCount = 0;
  let lineNumber = 0;
  for (let start = 0; start < body.length;) {
    lineNumber++;
    const newline = body.indexOf('\n', start);
    const end = newline === -1 ? body.length : newline;
    const next = end + 1;
    const stop = end > start && body.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    if (!isBlank(body, start, stop)) {
      const at = lineNumber;
      let value: unknown;
      let error: unknown;
      if (mayBeJson(body, start, stop)) {
        try {
          value = JSON.parse(body.slice(start, stop));
        } catch (e) {
          error = e;
        }
      } else error = new SyntaxError('the line does not start like JSON');
      if (error === undefined) parsed.push({ value, line: at });
      else {
        badCount++;
        if (bad.length < MAX_PROBLEMS_KEPT) {
          bad.push({
            code: 'MESSAGE_NOT_JSON',
            reason: reasonText(`Line ${at} is not JSON: ${errorText(error)}`),
            line: at,
          });
        }
      }
    }
    start = next;
  }
  if (parsed.length === 0) {
    addProblem(out, () => ({
      code: 'MESSAGE_NOT_JSON',
      reason: reasonText(`Expected JSON or JSON Lines: ${errorText(wholeError)}`),
    }));
    return;
  }
  // Problems in line order: the bad lines and what the parsed lines held, merged.
  let b = 0;
  for (const { value, line } of parsed) {
    while (b < bad.length && (bad[b]?.line ?? 0) < line) {
      const p = bad[b++];
      if (p) addProblem(out, () => p);
    }
    const before = out.records.length;
    interpretBody(value, line, out);
    for (let i = before; i < out.records.length; i++) out.recordLines.push(line);
  }
  for (; b < bad.length; b++) {
    const p = bad[b];
    if (p) addProblem(out, () => p);
  }
  // Bad lines past the ones described are counted too.
  out.problemCount += badCount - bad.length;
}

function interpretBody(value: unknown, line: number | undefined, out: DecodedMessage): void {
  if (Array.isArray(value)) {
    // An array holds records or bodies; anything else in it is a record candidate that normalization
    // reports, so nothing nests further than one array of bodies.
    for (const element of value) {
      if (isBody(element)) appendRecords(element, line, out);
      else out.records.push(element);
    }
    return;
  }
  if (isBody(value)) {
    appendRecords(value, line, out);
    return;
  }
  if (isListPage(value)) {
    // A page of the Activity Log REST API's list operation: {"value":[events...],"nextLink":...}.
    for (const record of value.value) out.records.push(record);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    out.records.push(value);
    return;
  }
  addProblem(out, () =>
    withLine(
      {
        code: 'BODY_UNRECOGNIZED',
        reason: `Expected a {"records":[...]} body, a record or an array, got ${describeValue(value)}`,
      },
      line,
    ),
  );
}

function appendRecords(body: object, line: number | undefined, out: DecodedMessage): void {
  const records = (body as { records: unknown }).records;
  if (Array.isArray(records)) {
    for (const record of records) out.records.push(record);
    return;
  }
  addProblem(out, () =>
    withLine(
      {
        code: 'BODY_RECORDS_NOT_ARRAY',
        reason: `Expected "records" to be an array, got ${describeValue(records)}`,
      },
      line,
    ),
  );
}

function isListPage(value: unknown): value is { value: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Array.isArray((value as { value?: unknown }).value)
  );
}

function isBody(value: unknown): value is { records: unknown } {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'records')
  );
}

function withLine(problem: DecodeProblem, line: number | undefined): DecodeProblem {
  return line === undefined ? problem : { ...problem, line };
}
