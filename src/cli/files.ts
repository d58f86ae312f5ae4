/*
 * The command line's local input files. A directory is walked recursively in name order (the blob
 * archive's `resourceId=/.../y=/m=/d=/h=/m=00/PT1H.json` layout included), following symbolic links: a link
 * back to a directory being walked (a cycle) is reported and not entered, and a file or directory reached a
 * second time through another link is read once. What cannot be read is reported and the walk goes on, so
 * one unreadable folder never hides the rest. Gzip-compressed files are recognised by their first bytes.
 */
import type { Dirent, Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';

/** Names read when walking a directory; a file named on the command line is read whatever its name. */
export const EXPORT_EXTENSIONS: readonly string[] = ['.json', '.jsonl', '.ndjson'].flatMap((e) => [
  e,
  `${e}.gz`,
]);
export const EXPORT_EXTENSIONS_TEXT = '*.json, *.jsonl, *.ndjson, and the same with .gz';

export interface LocalFile {
  /** The path as walked (through links), for messages. */
  readonly path: string;
  /** Bytes on disk; undefined for a pipe or device named on the command line (read as a stream). */
  readonly size: number | undefined;
  readonly mtimeMs: number;
  /** `device:inode`: the same for every path that reaches one file. */
  readonly identity: string;
}

export type WalkNotice =
  | { readonly kind: 'unreadable'; readonly path: string; readonly error: unknown }
  /** A link to a directory that is being walked: entering it would never end. */
  | { readonly kind: 'cycle'; readonly path: string; readonly target: string }
  /** A file or directory already reached through another path; read once. */
  | { readonly kind: 'duplicate'; readonly path: string; readonly first: string };

/** How many entries of one directory are looked at (stat) at once. */
const STAT_CONCURRENCY = 64;

const identityOf = (info: Stats): string => `${info.dev}:${info.ino}`;

export function hasExportExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return EXPORT_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** True when the bytes start like gzip (RFC 1952 magic). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The files under `paths` (see the file header), in walk order. Problems are reported through `notice`
 * as they are met; the walk never throws for a path it cannot read.
 */
export async function* walkPaths(
  paths: readonly string[],
  notice: (n: WalkNotice) => void,
): AsyncGenerator<LocalFile> {
  const seenFiles = new Map<string, string>();
  const seenDirs = new Map<string, string>();

  function* fileOnce(path: string, info: Stats): Generator<LocalFile> {
    const identity = identityOf(info);
    const first = seenFiles.get(identity);
    if (first !== undefined) {
      notice({ kind: 'duplicate', path, first });
      return;
    }
    seenFiles.set(identity, path);
    yield {
      path,
      size: info.isFile() ? info.size : undefined,
      mtimeMs: info.mtimeMs,
      identity,
    };
  }

  async function* walk(dir: string, info: Stats, ancestors: readonly string[]): AsyncGenerator<LocalFile> {
    const identity = identityOf(info);
    if (ancestors.includes(identity)) {
      notice({ kind: 'cycle', path: dir, target: await realpath(dir).catch(() => dir) });
      return;
    }
    const first = seenDirs.get(identity);
    if (first !== undefined) {
      notice({ kind: 'duplicate', path: dir, first });
      return;
    }
    seenDirs.set(identity, dir);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      notice({ kind: 'unreadable', path: dir, error });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const chain = [...ancestors, identity];
    for (let start = 0; start < entries.length; start += STAT_CONCURRENCY) {
      const slice = entries.slice(start, start + STAT_CONCURRENCY);
      // A plain file whose name is not an export is never stat'ed; links are resolved to learn their type.
      const looked = await Promise.all(
        slice.map(async (entry) => {
          const path = join(dir, entry.name);
          if (entry.isFile() && !hasExportExtension(entry.name)) return undefined;
          if (!entry.isFile() && !entry.isDirectory() && !entry.isSymbolicLink()) return undefined;
          try {
            return { path, entry, info: await stat(path) };
          } catch (error) {
            return { path, entry, error };
          }
        }),
      );
      for (const item of looked) {
        if (item === undefined) continue;
        if ('error' in item) {
          notice({ kind: 'unreadable', path: item.path, error: item.error });
          continue;
        }
        if (item.info.isDirectory()) yield* walk(item.path, item.info, chain);
        else if (item.info.isFile() && hasExportExtension(item.entry.name)) {
          yield* fileOnce(item.path, item.info);
        }
      }
    }
  }

  for (const path of paths) {
    let info: Stats;
    try {
      info = await stat(path);
    } catch (error) {
      notice({ kind: 'unreadable', path, error });
      continue;
    }
    if (info.isDirectory()) yield* walk(path, info, []);
    else yield* fileOnce(path, info);
  }
}

/** A notice as one line for the terminal (paths are the user's own; the caller redacts the line). */
export function describeNotice(n: WalkNotice): string {
  switch (n.kind) {
    case 'unreadable':
      return `cannot read ${n.path}: ${errorText(n.error)}`;
    case 'cycle':
      return `not following ${n.path}: it links back to ${n.target}, which is being read (a cycle)`;
    case 'duplicate':
      return `skipping ${n.path}: the same as ${n.first}, already read`;
  }
}

/** A whole input, read at once (`send`). */
export interface InputFile {
  readonly path: string;
  read(): Promise<Buffer>;
}

/**
 * Expands paths into whole files for `send` ("-" is standard input), gzip decompressed. Unlike `scan`,
 * `send` publishes what it reads, so an unreadable path stops it before anything is sent.
 */
export async function expandInputs(
  paths: readonly string[],
  stdin: NodeJS.ReadableStream,
): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      if (!files.some((f) => f.path === '<stdin>')) {
        files.push({ path: '<stdin>', read: async () => gunzipped(await readStream(stdin)) });
      }
      continue;
    }
    let problem: WalkNotice | undefined;
    for await (const file of walkPaths([path], (n) => {
      if (n.kind === 'unreadable') problem ??= n;
    })) {
      files.push({ path: file.path, read: async () => gunzipped(await readFile(file.path)) });
    }
    if (problem?.kind === 'unreadable') {
      throw new DetectorError(
        'USAGE',
        `Cannot read input "${problem.path}": expected a file, a directory or - (${errorText(problem.error)})`,
        { cause: problem.error },
      );
    }
  }
  return files;
}

function gunzipped(bytes: Buffer): Buffer {
  return isGzip(bytes) ? gunzipSync(bytes) : bytes;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
