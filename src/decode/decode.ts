/*
 * Turns one trigger batch element into record candidates. An element may be a Buffer (dataType 'binary'),
 * a string, or a value the worker already parsed; bytes may be UTF-8, UTF-16 with a BOM or gzip (text.ts).
 * A body is normally `{"records":[...]}`; a single record, an array of records or of bodies, a REST API
 * list page (`{"value":[...]}`) and JSON Lines (the blob archive's PT1H.json) are accepted too.
 * Decoding never throws: whatever cannot be read becomes a problem carrying the raw input, and every
 * readable record beside it is still returned.
 */
import { describeValue, type ErrorCode } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { safeStringify } from '../lib/text';
import { bytesAsText } from './text';

export interface DecodeProblem {
  readonly code: ErrorCode;
  readonly reason: string;
  /** 1-based line for JSON Lines input. */
  readonly line?: number;
  readonly raw: Buffer | string;
}

export interface DecodedMessage {
  /** Record candidates, not yet validated (normalization checks each). */
  readonly records: unknown[];
  /** For JSON Lines input, the 1-based line of each record (parallel to `records`); empty otherwise. */
  readonly recordLines: number[];
  readonly problems: DecodeProblem[];
}

export function decodeMessage(message: unknown): DecodedMessage {
  const out: DecodedMessage = { records: [], recordLines: [], problems: [] };
  if (Buffer.isBuffer(message)) {
    decodeBytes(message, out);
  } else if (message instanceof Uint8Array) {
    decodeBytes(Buffer.from(message.buffer, message.byteOffset, message.byteLength), out);
  } else if (message instanceof ArrayBuffer) {
    decodeBytes(Buffer.from(message), out);
  } else if (typeof message === 'string') {
    decodeText(message, message, out);
  } else if (typeof message === 'object' && message !== null) {
    interpretBody(message, undefined, out);
  } else {
    out.problems.push({
      code: 'MESSAGE_UNSUPPORTED_TYPE',
      reason: `Expected a JSON body (object, string or bytes), got ${describeValue(message)}`,
      raw: safeStringify(message),
    });
  }
  return out;
}

function decodeBytes(buf: Buffer, out: DecodedMessage): void {
  const text = bytesAsText(buf);
  if (!text.ok) {
    out.problems.push({ code: 'MESSAGE_NOT_JSON', reason: text.reason, raw: buf });
    return;
  }
  decodeText(text.text, buf, out);
}

function decodeText(text: string, raw: Buffer | string, out: DecodedMessage): void {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    out.problems.push({
      code: 'MESSAGE_NOT_JSON',
      reason: 'Expected a JSON body, got an empty message',
      raw,
    });
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
  // Not one JSON document: try JSON Lines. If no line parses either, it is one malformed message
  // (e.g. a truncated pretty-printed body), reported once rather than line by line.
  const lines = body.split('\n');
  const parsed: { value: unknown; line: number }[] = [];
  const bad: DecodeProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    try {
      parsed.push({ value: JSON.parse(line), line: i + 1 });
    } catch (error) {
      bad.push({
        code: 'MESSAGE_NOT_JSON',
        reason: `Line ${i + 1} is not JSON: ${errorText(error)}`,
        line: i + 1,
        raw: line,
      });
    }
  }
  if (parsed.length === 0) {
    out.problems.push({
      code: 'MESSAGE_NOT_JSON',
      reason: `Expected JSON or JSON Lines: ${errorText(wholeError)}`,
      raw,
    });
    return;
  }
  for (const { value, line } of parsed) {
    const before = out.records.length;
    interpretBody(value, line, out);
    for (let i = before; i < out.records.length; i++) out.recordLines.push(line);
  }
  out.problems.push(...bad);
  out.problems.sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
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
  out.problems.push(
    withLine(
      {
        code: 'BODY_UNRECOGNIZED',
        reason: `Expected a {"records":[...]} body, a record or an array, got ${describeValue(value)}`,
        raw: safeStringify(value),
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
  out.problems.push(
    withLine(
      {
        code: 'BODY_RECORDS_NOT_ARRAY',
        reason: `Expected "records" to be an array, got ${describeValue(records)}`,
        raw: safeStringify(body),
      },
      line,
    ),
  );
}

function isBody(value: unknown): value is { records: unknown } {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'records')
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

function withLine(problem: DecodeProblem, line: number | undefined): DecodeProblem {
  return line === undefined ? problem : { ...problem, line };
}
