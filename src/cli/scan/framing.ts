/*
 * Cuts a byte stream of any size into messages the pipeline can take, in bounded memory.
 *
 * - JSON Lines (the blob archive's PT1H.json, one record per line): complete lines are grouped into
 *   segments of about `segmentBytes` (256 KB, the size of an Event Hubs body, which the prefilter's
 *   per-message bounds are made for: past 64 case-folding characters a message is parsed, and 1 MB
 *   segments of a tenant with names like `Groß` crossed that half the time), one message each, so a 1 GB
 *   file is held a chunk at a time and the prefilter skips whole segments unparsed. A line never holds a
 *   raw newline, so cutting at newlines is exact; each segment knows the line it starts at, for messages
 *   about malformed lines.
 * - A single JSON document (pretty-printed, or one huge line): `JSON.parse` needs it whole, so instead a
 *   small tokenizer walks its structure and hands over, one by one, the elements of its `{"records":[...]}`
 *   envelope or of its top-level array: memory is bounded by the largest record, not the document. Any
 *   other document (a single record, an object without `records`) is kept whole up to
 *   `maxDocumentBytes` and refused beyond that with a clear problem.
 *
 * Which of the two applies is decided from the first line: a line that starts with `{` or `[` and ends
 * with the matching closer is JSON Lines; a first line that opens a value without closing it, or that is
 * longer than `maxLineBytes`, starts a document. Inside JSON Lines, a line longer than `maxLineBytes` is
 * walked by the tokenizer too (one huge `{"records":[...]}` body on one line).
 *
 * The tokenizer does not validate: it only finds where values begin and end (strings skipped with
 * `indexOf`, escapes honoured). Whatever it hands over is decoded, and reported if broken, by the decoder.
 */
import type { ErrorCode } from '../../lib/errors';
import { formatBytes } from '../../lib/text';

export interface FramedMessage {
  readonly bytes: Buffer;
  /** 1-based line of the input where the message starts. */
  readonly line: number;
  /** `lines`: complete JSON Lines; `element`: one element of a streamed array; `document`: a whole value. */
  readonly kind: 'lines' | 'element' | 'document';
  /** For `lines`: the 1-based line of its last line. */
  readonly lastLine?: number;
  /** For `element`: its 0-based index in the array it was streamed from. */
  readonly element?: number;
}

export interface FrameProblem {
  readonly code: ErrorCode;
  readonly reason: string;
  readonly line: number;
}

export type FrameEvent =
  | { readonly kind: 'message'; readonly message: FramedMessage }
  | { readonly kind: 'problem'; readonly problem: FrameProblem };

export interface FramerLimits {
  /** Target size of a JSON Lines segment. */
  readonly segmentBytes: number;
  /** A line longer than this is not buffered whole: it is walked by the tokenizer. */
  readonly maxLineBytes: number;
  /** A record (an element of a streamed array) larger than this is refused. */
  readonly maxElementBytes: number;
  /** A document that is neither an envelope nor an array, larger than this, is refused. */
  readonly maxDocumentBytes: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = {
  segmentBytes: 256 << 10,
  maxLineBytes: 16 << 20,
  maxElementBytes: 16 << 20,
  maxDocumentBytes: 64 << 20,
};

const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Of a line that is not JSON at all, this much is kept for the decoder's report. */
const JUNK_KEPT_BYTES = 64 * 1024;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Lines looked at after a first line that opens a value, to tell a document from damaged JSON Lines. */
const DETECT_LINES = 8;
/** ...or as many of them as this holds. */
const DETECT_BYTES = 1 << 20;

type LineShape = 'complete' | 'opens' | 'other';

/** `complete`: starts with `{`/`[` and ends with the matching closer; `opens`: starts so but does not close. */
function lineShape(data: Buffer, from: number, to: number): LineShape {
  let start = from;
  let end = to - 1;
  while (start <= end && isSpace(data[start] ?? 0)) start++;
  while (end >= start && isSpace(data[end] ?? 0)) end--;
  const first = data[start];
  const last = data[end];
  if (first !== 0x7b && first !== 0x5b) return 'other';
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d) ? 'complete' : 'opens';
}

/** Shapes of up to `max` non-blank complete lines from `from` (a last line without newline is left out). */
function lineShapes(data: Buffer, from: number, max: number): LineShape[] {
  const shapes: LineShape[] = [];
  let at = from;
  while (shapes.length < max) {
    const nl = data.indexOf(NL, at);
    if (nl === -1) break;
    let k = at;
    while (k < nl && isSpace(data[k] ?? 0)) k++;
    if (k < nl) shapes.push(lineShape(data, at, nl));
    at = nl + 1;
  }
  return shapes;
}

/** Newlines in `buf` (memchr speed). */
export function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let p = buf.indexOf(NL); p !== -1; p = buf.indexOf(NL, p + 1)) n++;
  return n;
}

function isBlank(buf: Buffer): boolean {
  let start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  while (start < buf.length && isSpace(buf[start] ?? 0)) start++;
  return start === buf.length;
}

/**
 * Walks JSON values across chunks and emits the elements of an envelope's `records` (or of a top-level
 * array) one at a time, other top-level values whole (see the file header).
 */
class DocumentTokenizer {
  private line: number;
  private depth = 0;
  private inString = false;
  private escapePending = false;
  /** Depth of the array whose elements are handed over one by one (0: none). */
  private streamDepth = 0;
  private elementIndex = 0;
  /** The element (or whole value) being kept: its pieces so far. */
  private pieces: Buffer[] = [];
  private piecesBytes = 0;
  private capturing: 'none' | 'element' | 'whole' | 'skip' = 'none';
  private captureLine = 0;
  /** A scalar element (no brackets) ends at the next `,` or closer at the stream depth. */
  private scalarElement = false;
  /** Top-level object: whether the next string is a key, the key being read, and the last key. */
  private expectKey = false;
  private keyBytes: number[] | undefined;
  private lastKey: string | undefined;
  private awaitingRecordsValue = false;
  /** A top-level scalar or junk: kept up to the end of its line. */
  private junk = false;

  constructor(
    private readonly limits: FramerLimits,
    private readonly out: FrameEvent[],
    startLine: number,
  ) {
    this.line = startLine;
  }

  get currentLine(): number {
    return this.line;
  }

  /** Whether a value is open (a document cut off here would be incomplete). */
  get open(): boolean {
    return this.depth > 0 || this.inString || this.capturing !== 'none' || this.junk;
  }

  push(chunk: Buffer): void {
    let i = 0;
    let captureFrom = this.capturing === 'none' || this.capturing === 'skip' ? -1 : 0;
    const len = chunk.length;
    while (i < len) {
      if (this.inString) {
        if (this.escapePending) {
          this.escapePending = false;
          this.keyByte(chunk[i] ?? 0);
          i++;
          continue;
        }
        const q = chunk.indexOf(QUOTE, i);
        const b = this.keyBytes === undefined ? -1 : chunk.indexOf(BACKSLASH, i);
        if (q === -1) {
          this.keyRange(chunk, i, len);
          this.escapePending = trailingBackslashesOdd(chunk, i, len);
          i = len;
          break;
        }
        if (b !== -1 && b < q) {
          // Only keys are read byte by byte; values are skipped with indexOf below.
          this.keyRange(chunk, i, b + 1);
          this.escapePending = true;
          i = b + 1;
          continue;
        }
        if (backslashesBeforeOdd(chunk, i, q)) {
          this.keyRange(chunk, i, q + 1);
          i = q + 1;
          continue;
        }
        this.keyRange(chunk, i, q);
        this.inString = false;
        this.endKey();
        i = q + 1;
        continue;
      }
      const c = chunk[i] ?? 0;
      if (this.junk) {
        // Not JSON at the top level: kept (up to a bound) to the end of its line for the decoder to report.
        const nl = chunk.indexOf(NL, i);
        const to = nl === -1 ? len : nl;
        if (captureFrom !== -1 && this.piecesBytes + (to - captureFrom) > JUNK_KEPT_BYTES) {
          this.addPiece(
            chunk.subarray(captureFrom, captureFrom + Math.max(0, JUNK_KEPT_BYTES - this.piecesBytes)),
          );
          captureFrom = -1;
        }
        if (nl === -1) {
          i = len;
          break;
        }
        this.emitCapture(chunk, captureFrom, nl, 'document');
        captureFrom = -1;
        this.junk = false;
        this.line++;
        i = nl + 1;
        continue;
      }
      if (isSpace(c)) {
        if (c === NL) this.line++;
        i++;
        continue;
      }
      if (this.depth === 0) {
        if (c === 0xef && chunk[i + 1] === 0xbb && chunk[i + 2] === 0xbf) {
          i += 3;
          continue;
        }
        // A new top-level value.
        this.captureLine = this.line;
        this.elementIndex = 0;
        if (c === 0x7b /* { */) {
          this.startCapture('whole');
          captureFrom = i;
          this.depth = 1;
          this.expectKey = true;
          i++;
          continue;
        }
        if (c === 0x5b /* [ */) {
          this.depth = 1;
          this.streamDepth = 1;
          i++;
          continue;
        }
        this.junk = true;
        this.startCapture('whole');
        captureFrom = i;
        i++;
        continue;
      }
      // Inside a value.
      if (this.awaitingRecordsValue) {
        this.awaitingRecordsValue = false;
        if (c === 0x5b && this.depth === 1) {
          // The envelope's records: what was kept of the object so far is not needed.
          this.dropCapture();
          captureFrom = -1;
          this.depth = 2;
          this.streamDepth = 2;
          i++;
          continue;
        }
      }
      const elementStarts =
        this.streamDepth > 0 && this.depth === this.streamDepth && this.capturing === 'none';
      if (elementStarts && c !== 0x5d /* ] */ && c !== 0x2c /* , */) {
        this.captureLine = this.line;
        this.startCapture('element');
        captureFrom = i;
        this.scalarElement = c !== 0x7b && c !== 0x5b;
        if (c === QUOTE) {
          this.inString = true;
          i++;
          continue;
        }
        if (!this.scalarElement) {
          this.depth++;
          i++;
          continue;
        }
        i++;
        continue;
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.streamDepth === 0 && this.expectKey) this.keyBytes = [];
          break;
        case 0x7b:
        case 0x5b:
          this.depth++;
          break;
        case 0x7d:
        case 0x5d: {
          if (this.scalarElement && this.depth === this.streamDepth) {
            this.emitCapture(chunk, captureFrom, i, 'element');
            captureFrom = -1;
            this.scalarElement = false;
          }
          this.depth--;
          if (this.streamDepth > 0 && this.depth === this.streamDepth) {
            // An element closed: handed over, or (refused as too large) just counted.
            this.emitCapture(chunk, captureFrom, i + 1, 'element');
            captureFrom = -1;
          } else if (this.streamDepth > 0 && this.depth === this.streamDepth - 1) {
            this.streamDepth = 0; // the streamed array closed
          }
          if (this.depth === 0) {
            if (this.capturing === 'whole') this.emitCapture(chunk, captureFrom, i + 1, 'document');
            else if (this.capturing === 'skip') this.capturing = 'none';
            captureFrom = -1;
            this.streamDepth = 0;
            this.lastKey = undefined;
          }
          break;
        }
        case 0x2c /* , */:
          if (this.scalarElement && this.depth === this.streamDepth) {
            this.emitCapture(chunk, captureFrom, i, 'element');
            captureFrom = -1;
            this.scalarElement = false;
          }
          if (this.depth === 1 && this.streamDepth === 0) this.expectKey = true;
          break;
        case 0x3a /* : */:
          if (this.depth === 1 && this.streamDepth === 0) {
            this.expectKey = false;
            if (this.lastKey === 'records') this.awaitingRecordsValue = true;
          }
          break;
        default:
          break;
      }
      i++;
      if (captureFrom !== -1 && this.capturing !== 'none' && this.capturing !== 'skip') {
        // Bound what one element or document may hold while it is being kept.
        const held = this.piecesBytes + (i - captureFrom);
        const limit =
          this.capturing === 'element' ? this.limits.maxElementBytes : this.limits.maxDocumentBytes;
        if (held > limit) {
          this.refuse(held);
          captureFrom = -1;
        }
      }
    }
    if (captureFrom !== -1 && this.capturing !== 'none' && this.capturing !== 'skip') {
      this.addPiece(chunk.subarray(captureFrom, len));
      const limit = this.junk
        ? Number.POSITIVE_INFINITY
        : this.capturing === 'element'
          ? this.limits.maxElementBytes
          : this.limits.maxDocumentBytes;
      if (this.piecesBytes > limit) this.refuse(this.piecesBytes);
    }
  }

  /** At the end of the input (or of a long line): whatever is still open is reported. */
  end(where = 'the input ended inside it'): void {
    if (this.junk && this.capturing === 'whole') {
      this.flushPieces('document');
      this.junk = false;
      return;
    }
    if (this.open) {
      this.out.push({
        kind: 'problem',
        problem: {
          code: 'MESSAGE_NOT_JSON',
          reason: `The JSON value starting at line ${this.captureLine} is cut off: ${where}`,
          line: this.captureLine,
        },
      });
    }
    this.pieces = [];
    this.piecesBytes = 0;
    this.capturing = 'none';
  }

  private keyByte(c: number): void {
    if (this.keyBytes !== undefined && this.keyBytes.length < 64) this.keyBytes.push(c);
  }

  private keyRange(chunk: Buffer, from: number, to: number): void {
    if (this.keyBytes === undefined) return;
    for (let k = from; k < to && this.keyBytes.length < 64; k++) this.keyBytes.push(chunk[k] ?? 0);
  }

  private endKey(): void {
    if (this.keyBytes === undefined) return;
    const raw = Buffer.from(this.keyBytes).toString('utf8');
    this.keyBytes = undefined;
    try {
      this.lastKey = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
    } catch {
      this.lastKey = raw;
    }
  }

  private startCapture(kind: 'element' | 'whole'): void {
    this.capturing = kind;
    this.pieces = [];
    this.piecesBytes = 0;
  }

  private dropCapture(): void {
    this.capturing = 'none';
    this.pieces = [];
    this.piecesBytes = 0;
  }

  private addPiece(piece: Buffer): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.piecesBytes += piece.length;
  }

  private emitCapture(chunk: Buffer, from: number, to: number, kind: 'element' | 'document'): void {
    if (this.capturing === 'skip' || this.capturing === 'none') {
      if (this.capturing === 'skip' && kind === 'element') this.capturing = 'none';
      if (kind === 'element') this.elementIndex++;
      return;
    }
    if (from !== -1) this.addPiece(chunk.subarray(from, to));
    const limit = this.junk
      ? Number.POSITIVE_INFINITY
      : kind === 'element'
        ? this.limits.maxElementBytes
        : this.limits.maxDocumentBytes;
    if (this.piecesBytes > limit) {
      // Ended within the chunk that crossed the bound: refused all the same.
      this.refuse(this.piecesBytes);
      this.capturing = 'none';
      if (kind === 'element') this.elementIndex++;
      return;
    }
    this.flushPieces(kind);
  }

  private flushPieces(kind: 'element' | 'document'): void {
    const bytes = this.pieces.length === 1 ? (this.pieces[0] ?? Buffer.alloc(0)) : Buffer.concat(this.pieces);
    this.out.push({
      kind: 'message',
      message: {
        bytes,
        line: this.captureLine,
        kind,
        ...(kind === 'element' ? { element: this.elementIndex } : {}),
      },
    });
    if (kind === 'element') this.elementIndex++;
    this.pieces = [];
    this.piecesBytes = 0;
    this.capturing = 'none';
  }

  private refuse(held: number): void {
    const element = this.capturing === 'element';
    this.out.push({
      kind: 'problem',
      problem: {
        code: 'MESSAGE_TOO_LARGE',
        reason: element
          ? `Record ${this.elementIndex + 1} (starting at line ${this.captureLine}) is larger than ${formatBytes(this.limits.maxElementBytes)}: not read`
          : `The JSON document starting at line ${this.captureLine} is larger than ${formatBytes(this.limits.maxDocumentBytes)} (${formatBytes(held)} so far) and is neither a {"records":[...]} envelope nor an array, so it cannot be read in bounded memory: write it as JSON Lines (jq -c '.records[]' or '.[]') or split it`,
        line: this.captureLine,
      },
    });
    this.pieces = [];
    this.piecesBytes = 0;
    this.capturing = 'skip';
  }
}

/** Whether the run of backslashes ending just before `at` (not before `from`) is odd (escapes `at`). */
function backslashesBeforeOdd(buf: Buffer, from: number, at: number): boolean {
  let n = 0;
  for (let k = at - 1; k >= from && buf[k] === BACKSLASH; k--) n++;
  return n % 2 === 1;
}

function trailingBackslashesOdd(buf: Buffer, from: number, to: number): boolean {
  return backslashesBeforeOdd(buf, from, to);
}

/** The stream cutter (see the file header). Feed chunks with `push`, then call `end`; take the events. */
export class Framer {
  private mode: 'detect' | 'lines' | 'document' = 'detect';
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** 1-based line number of the first byte held in `parts`. */
  private line = 1;
  private tokenizer: DocumentTokenizer | undefined;
  /** In JSON Lines, a line too long to hold is being walked by the tokenizer up to its newline. */
  private longLine = false;
  private readonly events: FrameEvent[] = [];

  constructor(private readonly limits: FramerLimits = DEFAULT_FRAMER_LIMITS) {}

  /** Events produced so far, in input order; each is returned once. */
  take(): FrameEvent[] {
    // The tokenizer appends to this same array: empty it in place.
    return this.events.splice(0);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.mode === 'document') {
      this.tokenizer?.push(chunk);
      return;
    }
    if (this.longLine) {
      this.pushLongLine(chunk);
      return;
    }
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    if (this.mode === 'detect') {
      this.detect(false);
      return;
    }
    this.cutLines(chunk.includes(NL), false);
  }

  end(): void {
    if (this.mode === 'detect') this.detect(true);
    if (this.mode === 'document') {
      this.tokenizer?.end();
      return;
    }
    if (this.longLine) {
      this.tokenizer?.end('its line ended inside it');
      this.longLine = false;
      return;
    }
    this.cutLines(true, true);
  }

  private detect(final: boolean): void {
    const data = this.parts.length === 1 ? (this.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(this.parts);
    this.parts = [data];
    let start = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
    while (start < data.length && isSpace(data[start] ?? 0)) start++;
    if (start === data.length) {
      if (final) this.mode = 'lines';
      return; // only blank so far
    }
    const nl = data.indexOf(NL, start);
    if (nl === -1 && !final && data.length - start <= this.limits.maxLineBytes) return;
    if (nl === -1 && data.length - start > this.limits.maxLineBytes) {
      // One huge first line (a whole export on one line, say): walked up to its newline.
      this.mode = 'lines';
      this.overlongPartial();
      return;
    }
    const first = lineShape(data, start, nl === -1 ? data.length : nl);
    if (first === 'opens') {
      // A first line that opens a value: a pretty-printed document, or JSON Lines whose first line is
      // damaged. The next lines tell: a document's lines do not each hold a whole object.
      const shapes = lineShapes(data, nl === -1 ? data.length : nl + 1, DETECT_LINES);
      const enough =
        shapes.length >= DETECT_LINES ||
        final ||
        data.length >= Math.min(this.limits.maxLineBytes, DETECT_BYTES);
      if (!enough) return;
      const complete = shapes.filter((shape) => shape === 'complete').length;
      if (shapes.length === 0 || complete * 2 <= shapes.length) {
        this.startDocument(data);
        return;
      }
    }
    this.mode = 'lines';
    this.cutLines(true, final);
  }

  private startDocument(data: Buffer): void {
    this.mode = 'document';
    this.tokenizer = new DocumentTokenizer(this.limits, this.events, this.line);
    this.parts = [];
    this.partsBytes = 0;
    this.tokenizer.push(data);
  }

  /** Emits the complete lines held once there are enough of them (or at the end). */
  private cutLines(newlineArrived: boolean, final: boolean): void {
    if (!final && (!newlineArrived || this.partsBytes < this.limits.segmentBytes)) {
      if (!newlineArrived && this.partsBytes > this.limits.maxLineBytes) this.overlongPartial();
      return;
    }
    const data = this.parts.length === 1 ? (this.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(this.parts);
    const target = this.limits.segmentBytes;
    // Segments of about `segmentBytes` each, cut at the last newline within that size (or, for a line
    // longer than that, at its end).
    let start = 0;
    while (start < data.length) {
      const remaining = data.length - start;
      let nl = remaining > target ? data.lastIndexOf(NL, start + target - 1) : data.lastIndexOf(NL);
      if (nl < start) nl = data.indexOf(NL, start + target);
      if (nl === -1 || nl < start) break;
      this.emitLines(data.subarray(start, nl + 1));
      start = nl + 1;
      if (!final && data.length - start < target) break;
    }
    const rest = data.subarray(start);
    if (final) {
      if (!isBlank(rest)) {
        this.events.push({
          kind: 'message',
          message: { bytes: rest, line: this.line, lastLine: this.line, kind: 'lines' },
        });
      }
      this.parts = [];
      this.partsBytes = 0;
      return;
    }
    this.parts = rest.length > 0 ? [rest] : [];
    this.partsBytes = rest.length;
    if (rest.length > this.limits.maxLineBytes) this.overlongPartial();
  }

  private emitLines(segment: Buffer): void {
    const lines = countNewlines(segment);
    if (!isBlank(segment)) {
      this.events.push({
        kind: 'message',
        message: { bytes: segment, line: this.line, lastLine: this.line + lines - 1, kind: 'lines' },
      });
    }
    this.line += lines;
  }

  /**
   * The held bytes end in a line longer than `maxLineBytes` and no newline yet: the complete lines before
   * it are emitted, and the long line goes to the tokenizer up to its newline.
   */
  private overlongPartial(): void {
    const data = this.parts.length === 1 ? (this.parts[0] ?? Buffer.alloc(0)) : Buffer.concat(this.parts);
    const nl = data.lastIndexOf(NL);
    if (nl !== -1) {
      const segment = data.subarray(0, nl + 1);
      const lines = countNewlines(segment);
      if (!isBlank(segment)) {
        this.events.push({
          kind: 'message',
          message: { bytes: segment, line: this.line, lastLine: this.line + lines - 1, kind: 'lines' },
        });
      }
      this.line += lines;
    }
    this.parts = [];
    this.partsBytes = 0;
    this.longLine = true;
    this.tokenizer = new DocumentTokenizer(this.limits, this.events, this.line);
    this.tokenizer.push(data.subarray(nl + 1));
  }

  private pushLongLine(chunk: Buffer): void {
    const nl = chunk.indexOf(NL);
    if (nl === -1) {
      this.tokenizer?.push(chunk);
      return;
    }
    this.tokenizer?.push(chunk.subarray(0, nl));
    this.tokenizer?.end('its line ended inside it');
    this.tokenizer = undefined;
    this.longLine = false;
    this.line++;
    const rest = chunk.subarray(nl + 1);
    if (rest.length > 0) this.push(rest);
  }
}
