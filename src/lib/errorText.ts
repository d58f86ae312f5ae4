/*
 * The one way an error becomes text, for every log line, dead letter and terminal message: one line,
 * secrets redacted, the HTTP status and error code kept (they are what an operator searches for).
 * SDKs report exhausted retries as an AggregateError with an empty message; its inner errors explain it.
 */
import { DetectorError } from './errors';
import { redactText } from './redact';

const DEFAULT_MAX_LENGTH = 2_000;

interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly statusCode?: unknown;
}

function describeOne(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const e = error as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : '';
  const parts: string[] = [];
  if (typeof e.statusCode === 'number') parts.push(`HTTP ${e.statusCode}`);
  // A DetectorError's message is written for people; its code is printed by whoever needs it.
  if (!(error instanceof DetectorError)) {
    if (typeof e.code === 'string' && e.code !== '') {
      if (!message.includes(e.code)) parts.push(e.code);
    } else if (typeof e.name === 'string' && !['Error', 'RestError', ''].includes(e.name)) {
      if (!message.includes(e.name)) parts.push(e.name);
    }
  }
  if (message !== '') parts.push(message);
  return parts.join(': ');
}

/** An error (or anything thrown) as one redacted line of at most `maxLength` characters. */
export function errorText(error: unknown, maxLength = DEFAULT_MAX_LENGTH): string {
  const parts: string[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (e instanceof AggregateError && depth < 3) {
      if (e.message !== '') parts.push(e.message);
      for (const inner of e.errors.slice(0, 10)) visit(inner, depth + 1);
      return;
    }
    parts.push(describeOne(e));
  };
  visit(error, 0);
  const text = [...new Set(parts.map((p) => p.replace(/\s+/g, ' ').trim()).filter((p) => p !== ''))].join(
    '; ',
  );
  return redactText(text === '' ? 'unknown error' : text).slice(0, maxLength);
}

/** Structured fields of an error for a JSON log line: name, stable code when there is one, redacted text. */
export function errorFields(error: unknown): { name?: string; code?: string; message: string } {
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  return {
    ...(typeof e.name === 'string' ? { name: e.name } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    message: errorText(error),
  };
}
