/*
 * What to do with logs the service did not accept. Decided from the failure alone, so the same failure
 * is always handled the same way (and tests can pin every case down).
 * - `retry`: transient (throttling, server errors, timeouts, dropped connections, identity endpoint hiccups).
 * - `split`: the service rejected the content (400/413); halving isolates the row at fault so the others
 *   still get in. A single row rejected this way is final.
 * - `final`: retrying inside this invocation cannot help (401/403/404, TLS trust, programming errors).
 */
import { exponentialDelayMs } from '../lib/backoff';
import { errorText } from '../lib/errorText';

export type FailureClass =
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly kind: 'split'; readonly reason: string }
  | { readonly kind: 'final'; readonly reason: string };

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const SPLIT_STATUS = new Set([400, 413]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'REQUEST_SEND_ERROR',
]);
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError']);
/** Longest Retry-After we honour; a longer one is treated as "not within this invocation". */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;
/** Failure reasons in logs and dead letters stay short: a status, a code and the service's sentence. */
export const MAX_REASON_LENGTH = 300;

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  statusCode?: unknown;
  cause?: unknown;
  response?: { headers?: { get?: (name: string) => string | undefined } };
}

/** Retry-After as seconds or an HTTP date; also the `retry-after-ms` / `x-ms-retry-after-ms` variants. */
export function parseRetryAfter(
  headers: { get?: (name: string) => string | undefined } | undefined,
  now = Date.now(),
): number | undefined {
  const get = (name: string): string | undefined => headers?.get?.(name)?.trim();
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = get(name);
    if (v && /^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v));
  }
  const v = get('retry-after');
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (typeof current === 'object' && current !== null && chain.length < 5) {
    chain.push(current);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

export function classifyFailure(error: unknown): FailureClass {
  const reason = errorText(error, MAX_REASON_LENGTH);
  const chain = errorChain(error);
  const first = chain[0] ?? {};
  const status = typeof first.statusCode === 'number' ? first.statusCode : undefined;
  if (status !== undefined) {
    if (RETRYABLE_STATUS.has(status) || (status >= 500 && status !== 501 && status !== 505)) {
      const retryAfterMs = parseRetryAfter(first.response?.headers);
      return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
    }
    if (SPLIT_STATUS.has(status)) return { kind: 'split', reason };
    return { kind: 'final', reason };
  }
  for (const e of chain) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError')
      return { kind: 'retry', reason: `timeout: ${reason}` };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return { kind: 'retry', reason };
    if (typeof e.name === 'string' && CREDENTIAL_ERRORS.has(e.name)) return { kind: 'retry', reason };
  }
  return { kind: 'final', reason };
}

export interface BackoffOptions {
  /** First retry waits about this long (half of it plus jitter up to it). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay fixed, half random, so instances that
 * failed together do not retry together. A Retry-After from the service is honoured as the minimum wait.
 */
export function retryDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number,
  retryAfterMs?: number,
): number {
  const exp = exponentialDelayMs(attempt, options.baseDelayMs, options.maxDelayMs);
  const backoff = exp / 2 + random() * (exp / 2);
  if (retryAfterMs === undefined) return Math.round(backoff);
  // Honour the service's figure, with a little jitter on top so throttled instances spread out.
  return Math.round(retryAfterMs + random() * Math.min(1_000, retryAfterMs * 0.1));
}
