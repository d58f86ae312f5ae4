/*
 * The argument, help and usage scaffold every command uses: `--help`/`-h` and `--version` on every command,
 * one way to report a usage error (redacted, with the command's help), and typed option readers.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { EXIT_OK, EXIT_USAGE, writeLine, type CliIo } from './io';

export const PROGRAM = 'packet-capture-detector';

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  readonly name: string;
  readonly help: string;
  readonly options: O;
  /** Whether positional arguments are accepted; `required`: at least one. */
  readonly positionals: 'none' | 'optional' | 'required';
  /** Named in the usage error when positionals are required and missing. */
  readonly positionalName?: string;
}

const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} as const satisfies ParseArgsOptionsConfig;

type ParsedValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O & typeof COMMON_OPTIONS; allowPositionals: true; args: string[] }>
>['values'];

export type CommandArgs<O extends ParseArgsOptionsConfig> =
  | { readonly ok: true; readonly values: ParsedValues<O>; readonly positionals: string[] }
  | { readonly ok: false; readonly exit: number };

let cachedVersion: string | undefined;

/** This package's version, from its package.json (found upwards from the compiled or source file). */
export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === PROGRAM && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        return cachedVersion;
      }
    } catch {
      // Not here: look one folder up.
    }
    dir = dirname(dir);
  }
  cachedVersion = 'unknown';
  return cachedVersion;
}

/** A usage error: `<command>: <what was wrong>` (redacted) on stderr, optionally followed by the help. */
export function usageError(io: CliIo, command: string, error: unknown, help?: string): number {
  writeLine(io.stderr, `${command}: ${errorText(error)}${help === undefined ? '' : `\n\n${help}`}`);
  return EXIT_USAGE;
}

/** Parses a command's arguments; on `--help`, `--version` or a usage error, says so and gives the exit code. */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
  args: readonly string[],
  io: CliIo,
): CommandArgs<O> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { ...spec.options, ...COMMON_OPTIONS },
    });
  } catch (error) {
    return { ok: false, exit: usageError(io, spec.name, error, spec.help) };
  }
  const values = parsed.values;
  const common = parsed.values as { help?: boolean; version?: boolean };
  if (common.help === true) {
    writeLine(io.stdout, spec.help);
    return { ok: false, exit: EXIT_OK };
  }
  if (common.version === true) {
    writeLine(io.stdout, `${PROGRAM} ${packageVersion()}`);
    return { ok: false, exit: EXIT_OK };
  }
  if (spec.positionals === 'none' && parsed.positionals.length > 0) {
    return {
      ok: false,
      exit: usageError(io, spec.name, `unexpected argument "${parsed.positionals[0] ?? ''}"`, spec.help),
    };
  }
  if (spec.positionals === 'required' && parsed.positionals.length === 0) {
    return {
      ok: false,
      exit: usageError(
        io,
        spec.name,
        `expected at least one ${spec.positionalName ?? 'argument'}`,
        spec.help,
      ),
    };
  }
  return { ok: true, values, positionals: parsed.positionals };
}

/** A whole number of at least 1 from an option's text; `fallback` when the option was not given. */
export function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new DetectorError('USAGE', `${name} must be a whole number of at least 1, got "${text}"`);
  }
  return value;
}

/** A whole number of at least 0; `fallback` when the option was not given. */
export function nonNegativeInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new DetectorError('USAGE', `${name} must be a whole number of at least 0, got "${text}"`);
  }
  return value;
}

/** One of a fixed set of words; `fallback` when the option was not given. */
export function oneOf<T extends string>(
  name: string,
  text: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  const choices =
    allowed.length > 1
      ? `${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1] ?? ''}`
      : allowed.join('');
  throw new DetectorError('USAGE', `${name} must be ${choices}, got "${text}"`);
}
