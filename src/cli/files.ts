/*
 * The command line's input files: a directory is walked recursively in name order (the blob archive's
 * `resourceId=/.../y=/m=/d=/h=/m=00/PT1H.json` layout included), `-` is standard input.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DetectorError } from '../lib/errors';

/** Extensions read when walking a directory; a file named on the command line is read whatever its name. */
const EXPORT_EXTENSIONS = ['.json', '.jsonl', '.ndjson'];

export interface InputFile {
  readonly path: string;
  read(): Promise<Buffer>;
}

/** Expands paths into files (see the file header). */
export async function expandInputs(
  paths: readonly string[],
  stdin: NodeJS.ReadableStream,
): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push({ path: '<stdin>', read: () => readStream(stdin) });
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new DetectorError('USAGE', `Cannot read input "${path}": expected a file, a directory or -`, {
        cause: error,
      });
    }
    if (info.isDirectory()) files.push(...(await walk(path)));
    else files.push({ path, read: () => readFile(path) });
  }
  return files;
}

async function walk(dir: string): Promise<InputFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: InputFile[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() && EXPORT_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext))) {
      files.push({ path, read: () => readFile(path) });
    }
  }
  return files;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
