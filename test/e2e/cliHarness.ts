import { PassThrough, Readable } from 'node:stream';
import type { AlertRow } from '../../src/alert/columns';
import type { CliIo } from '../../src/cli/io';

/** In-process CLI streams: what a command wrote, readable while it still runs. */
export interface CapturedIo {
  readonly io: CliIo;
  stdout(): string;
  stderr(): string;
}

export function captureIo(
  options: { env?: NodeJS.ProcessEnv; stdin?: string; stderrTty?: boolean; columns?: number } = {},
): CapturedIo {
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), {
    isTTY: options.stderrTty ?? false,
    columns: options.columns ?? 80,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: { stdout, stderr, stdin: Readable.from([options.stdin ?? '']), env: options.env ?? {} },
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}

export function alertsOf(jsonl: string): AlertRow[] {
  return jsonl
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as AlertRow);
}

/** Polls an asynchronous `condition` every 100 ms until it holds or `timeoutMs` passes. */
export async function waitForAsync(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes (then fails with `what`). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
