/*
 * What `scan` reads, whatever it comes from: local files (walked, links followed), standard input, or
 * blobs of an archive container (blobSource.ts). Every input can be opened as a stream of chunks; small
 * ones can also be read whole in one request. Decompression and transcoding belong to this input layer,
 * not to the decoder: a stored `.json.gz` is gunzipped as it streams (recognised by its first bytes, not
 * its name), and a file written as UTF-16 with a byte order mark (Windows PowerShell's `>`) is transcoded
 * to UTF-8 as it streams. Bytes are counted as stored, for progress.
 */
import fs, { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { isGzip, type LocalFile } from '../files';

export interface ScanInput {
  /** Identity for `--resume`: what was read, and which version of it; undefined when not resumable. */
  readonly key: string | undefined;
  /** How messages name it (never carries a SAS). */
  readonly label: string;
  /** Where `--since`/`--until` look for the archive's y=/m=/d=/h= folders. */
  readonly path: string;
  /** Bytes as stored, when known before reading. */
  readonly size: number | undefined;
  open(signal: AbortSignal): Promise<AsyncIterable<Buffer>>;
  /**
   * Present for inputs small enough to read in one go: the bytes, in a buffer leased from `pool` (the caller
   * gives it back once the bytes are scanned).
   */
  readWhole?(signal: AbortSignal, pool: BufferPool): Promise<Buffer>;
}

/** Buffers kept for reuse at most (one per file in flight and per detection job, with room to spare). */
const POOL_KEEP = 32;

/**
 * Reusable read buffers. Reading a thousand 300 KB files into fresh Buffers makes V8 collect garbage for
 * the external memory they take (a third of the run's time in the benchmark); leased buffers are read into
 * again and again. Each is a whole ArrayBuffer of its own, so it can be handed to a detection thread and
 * back without a copy (detectPool.ts). Nothing keeps a reference to the bytes once their input is scanned:
 * decoding copies what it keeps into strings and objects.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];

  /** `size` bytes over a pooled ArrayBuffer (the smallest free one that fits, else a new one). */
  lease(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]?.byteLength ?? 0;
      if (length >= size && (best === -1 || length < (this.free[best]?.byteLength ?? 0))) best = i;
    }
    const buffer =
      best === -1 ? Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024)).buffer : this.free.splice(best, 1)[0];
    return Buffer.from(buffer ?? new ArrayBuffer(size), 0, size);
  }

  /** Gives a leased buffer back (a detached one, or one past the bound, is dropped). */
  release(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
    if (this.free.length >= POOL_KEEP) this.free.shift();
    this.free.push(buffer);
  }
}

/** Files up to this size are read whole (one read, one message); larger ones are streamed. */
export const WHOLE_FILE_BYTES = 8 << 20;
/** Chunk size of streamed files: about one JSON Lines segment per read. */
const STREAM_CHUNK_BYTES = 1 << 20;

export function localInput(file: LocalFile): ScanInput {
  const open = (signal: AbortSignal): Promise<AsyncIterable<Buffer>> =>
    Promise.resolve(createReadStream(file.path, { highWaterMark: STREAM_CHUNK_BYTES, signal }));
  const size = file.size;
  return {
    key: `file ${resolve(file.path)} ${size ?? '-'} ${Math.trunc(file.mtimeMs)}`,
    label: file.path,
    path: file.path,
    size,
    open,
    ...(size !== undefined && size <= WHOLE_FILE_BYTES
      ? {
          readWhole: (signal: AbortSignal, pool: BufferPool) =>
            readKnownSize(file.path, pool.lease(size), signal),
        }
      : {}),
  };
}

const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const readInto = (fd: number, buffer: Buffer, offset: number, position: number): Promise<number> =>
  new Promise((done, fail) => {
    fs.read(fd, buffer, offset, buffer.length - offset, position, (error, bytesRead) => {
      if (error) fail(error);
      else done(bytesRead);
    });
  });

/**
 * A file whose size the walk already knows, in one open, one read and one close (no `fstat`, no
 * FileHandle): per small file that is most of what reading costs. The file is read as it was listed: a
 * file that grew since is read to the listed size (its key records that size, so a resumed run reads it
 * again), one that shrank to where it ends now.
 */
async function readKnownSize(path: string, buffer: Buffer, signal: AbortSignal): Promise<Buffer> {
  signal.throwIfAborted();
  const size = buffer.length;
  const fd = await openFile(path, 'r');
  try {
    let filled = 0;
    while (filled < size) {
      const n = await readInto(fd, buffer, filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    await closeFile(fd);
  }
}

export function stdinInput(stdin: NodeJS.ReadableStream): ScanInput {
  return {
    key: undefined,
    label: '<stdin>',
    path: '',
    size: undefined,
    open: () => Promise.resolve(stdin as AsyncIterable<Buffer>),
  };
}

/** Whether whole bytes need the streaming layers below before they are text the decoder can take. */
export function needsTranscoding(bytes: Uint8Array): boolean {
  return isGzip(bytes) || utf16Of(bytes) !== undefined;
}

function utf16Of(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** Chunks as strings or Buffers, as Buffers; `onBytes` sees each stored chunk's size. */
async function* asBuffers(
  source: AsyncIterable<Buffer | string>,
  onBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    onBytes(buf.length);
    yield buf;
  }
}

/** The first chunk, and an iterable of all chunks (that one included). */
async function peek(
  source: AsyncIterable<Buffer>,
): Promise<{ first: Buffer | undefined; all: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const head = await iterator.next();
  if (head.done === true) return { first: undefined, all: nothing() };
  const first = head.value;
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield first;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { first, all: all() };
}

async function* gunzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const input = Readable.from(source);
  const inflate = createGunzip();
  input.on('error', (error) => inflate.destroy(error));
  input.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } finally {
    input.destroy();
    inflate.destroy();
  }
}

async function* transcode(
  source: AsyncIterable<Buffer>,
  encoding: 'utf-16le' | 'utf-16be',
): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder(encoding, { fatal: false, ignoreBOM: false });
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield Buffer.from(text, 'utf8');
  }
  const tail = decoder.decode();
  if (tail !== '') yield Buffer.from(tail, 'utf8');
}

/**
 * The text of a stored stream as UTF-8 chunks: gunzipped if it is gzip (repeatedly, for a `.gz` of a
 * `.gz`), transcoded if it is UTF-16 with a byte order mark.
 */
export async function* textChunks(
  source: AsyncIterable<Buffer | string>,
  onStoredBytes: (n: number) => void,
): AsyncGenerator<Buffer> {
  let stream: AsyncIterable<Buffer> = asBuffers(source, onStoredBytes);
  for (let layer = 0; layer < 4; layer++) {
    const { first, all } = await peek(stream);
    if (first === undefined) return;
    if (isGzip(first)) {
      stream = gunzip(all);
      continue;
    }
    const utf16 = utf16Of(first);
    if (utf16 !== undefined) {
      yield* transcode(all, utf16);
      return;
    }
    yield* all;
    return;
  }
  yield* stream;
}

/** An input with no bytes: an iterable that ends at once. */
async function* nothing(): AsyncGenerator<Buffer> {
  await Promise.resolve();
}
