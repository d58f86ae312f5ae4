/*
 * Sends rows to Logs Ingestion with retries that respect the service, inside a time budget.
 *
 * The rows are cut into calls below the 1 MB limit here (not by the SDK), one call per `upload()`, so the
 * outcome of every row is known: accepted, or failed with a reason. (With several chunks in one `upload()`
 * and an abort signal, the SDK can return without attempting the chunks it had not started.) Only the logs
 * the SDK reports in `failedLogs` are retried. The SDK's own retry policy is switched off
 * (`retryOptions.maxRetries = 0` where the client is made) so every retry is ours: counted, bounded by the
 * budget, and logged.
 */
import { byteLength } from './fitAlert';
import { errorText } from '../lib/errorText';
import { classifyFailure, MAX_REASON_LENGTH, retryDelayMs, type BackoffOptions } from './retryPolicy';

export interface UploadClient {
  upload(
    ruleId: string,
    streamName: string,
    logs: Record<string, unknown>[],
    options?: {
      abortSignal?: AbortSignal;
      maxConcurrency?: number;
      onError?: (failure: { failedLogs: Record<string, unknown>[]; cause: Error }) => void;
    },
  ): Promise<void>;
}

export interface RetrySettings extends BackoffOptions {
  /**
   * Time the whole delivery may take, from its start: no call (first or repeat) runs past it, and whatever
   * is not accepted by then is reported failed (the sink dead-letters it).
   */
  readonly budgetMs: number;
  /** One call is abandoned after this long (a slow or stuck connection), or when the budget ends if sooner. */
  readonly attemptTimeoutMs: number;
  /** Per group of rows; a second bound besides the budget so a tight loop cannot form. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: Omit<RetrySettings, 'budgetMs'> = {
  attemptTimeoutMs: 30_000,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 12,
};

/** One call's body must stay below this (the SDK splits at 1,000,000 bytes counting rows only). */
export const CALL_MAX_BYTES = 990_000;

export interface UploadFailure<T> {
  readonly rows: T[];
  readonly reason: string;
}

export interface UploadOutcome<T> {
  readonly accepted: T[];
  readonly failed: UploadFailure<T>[];
  /** Calls that repeated rows already sent once (retries and the halves of a split). */
  readonly retried: number;
  readonly calls: number;
}

export interface UploadHooks {
  readonly random?: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly onRetry?: (info: { rows: number; attempt: number; delayMs: number; reason: string }) => void;
  /** Before each call: how many rows, which attempt, and how long it may take. */
  readonly onCall?: (info: { rows: number; attempt: number; timeoutMs: number }) => void;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Groups rows into calls whose JSON array stays within `maxBytes`; order is kept. */
export function chunkRows<T>(rows: readonly T[], maxBytes = CALL_MAX_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 2; // the array brackets
  for (const row of rows) {
    const bytes = byteLength(JSON.stringify(row)) + 1; // the comma
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 2;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

interface WorkItem<T> {
  rows: T[];
  attempt: number;
  notBefore: number;
  repeat: boolean;
  lastReason?: string;
}

async function callOnce<T extends object>(
  client: UploadClient,
  ruleId: string,
  streamName: string,
  rows: T[],
  timeoutMs: number,
): Promise<{ accepted: T[]; failures: { rows: T[]; cause: unknown }[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  const failed = new Map<object, unknown>();
  const markFailed = (logs: readonly object[], cause: unknown): void => {
    for (const log of logs) failed.set(log, cause);
  };
  try {
    await client.upload(ruleId, streamName, rows as Record<string, unknown>[], {
      abortSignal: controller.signal,
      maxConcurrency: 1,
      onError: ({ failedLogs, cause }) => {
        markFailed(failedLogs, cause);
      },
    });
  } catch (error) {
    const aggregate = error as { name?: unknown; errors?: { failedLogs?: object[]; cause?: unknown }[] };
    if (aggregate.name === 'AggregateLogsUploadError' && Array.isArray(aggregate.errors)) {
      for (const e of aggregate.errors) markFailed(e.failedLogs ?? [], e.cause);
    } else {
      // Anything else (credential construction, a bug): nothing is known to be accepted.
      markFailed(rows, error);
    }
  } finally {
    clearTimeout(timer);
  }
  const accepted: T[] = [];
  const byCause = new Map<unknown, T[]>();
  for (const row of rows) {
    if (!failed.has(row)) {
      accepted.push(row);
      continue;
    }
    const cause = failed.get(row);
    const list = byCause.get(cause) ?? [];
    list.push(row);
    byCause.set(cause, list);
  }
  return { accepted, failures: [...byCause].map(([cause, list]) => ({ rows: list, cause })) };
}

export async function uploadWithRetry<T extends object>(
  getClient: () => Promise<UploadClient>,
  ruleId: string,
  streamName: string,
  rows: readonly T[],
  settings: RetrySettings,
  hooks: UploadHooks = {},
): Promise<UploadOutcome<T>> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? defaultSleep;
  const random = hooks.random ?? Math.random;
  const start = now();
  const deadline = start + settings.budgetMs;
  const accepted: T[] = [];
  const failed: UploadFailure<T>[] = [];
  let retried = 0;
  let calls = 0;

  let client: UploadClient;
  try {
    client = await getClient();
  } catch (error) {
    return {
      accepted,
      failed: [{ rows: [...rows], reason: `client unavailable: ${errorText(error, MAX_REASON_LENGTH)}` }],
      retried,
      calls,
    };
  }

  const queue: WorkItem<T>[] = chunkRows(rows).map((chunk) => ({
    rows: chunk,
    attempt: 1,
    notBefore: start,
    repeat: false,
  }));
  while (queue.length > 0) {
    queue.sort((a, b) => a.notBefore - b.notBefore);
    const item = queue.shift();
    if (!item) break;
    const wait = item.notBefore - now();
    if (wait > 0) await sleep(wait);
    // The budget bounds the whole delivery, first calls included: each call gets at most what is left of
    // it, and once it is spent the rows not yet accepted go to the dead-letter store unsent.
    const remaining = deadline - now();
    if (remaining <= 0) {
      failed.push({
        rows: item.rows,
        reason: item.repeat
          ? `${item.lastReason ?? 'failed'}; retry budget exhausted`
          : `not sent: the delivery budget of ${Math.round(settings.budgetMs / 1000)} s was spent on earlier calls`,
      });
      continue;
    }
    calls++;
    if (item.repeat) retried++;
    const timeout = Math.min(settings.attemptTimeoutMs, remaining);
    hooks.onCall?.({ rows: item.rows.length, attempt: item.attempt, timeoutMs: timeout });
    const result = await callOnce(client, ruleId, streamName, item.rows, timeout);
    for (const row of result.accepted) accepted.push(row);
    for (const failure of result.failures) {
      const cls = classifyFailure(failure.cause);
      if (cls.kind === 'split' && failure.rows.length > 1) {
        const half = Math.ceil(failure.rows.length / 2);
        for (const part of [failure.rows.slice(0, half), failure.rows.slice(half)]) {
          queue.push({
            rows: part,
            attempt: item.attempt,
            notBefore: now(),
            repeat: true,
            lastReason: cls.reason,
          });
        }
        continue;
      }
      if (cls.kind !== 'retry') {
        failed.push({ rows: failure.rows, reason: cls.reason });
        continue;
      }
      const delayMs = retryDelayMs(item.attempt, settings, random, cls.retryAfterMs);
      const at = now() + delayMs;
      if (item.attempt >= settings.maxAttempts) {
        failed.push({ rows: failure.rows, reason: `${cls.reason}; gave up after ${item.attempt} attempts` });
      } else if (at >= deadline) {
        failed.push({
          rows: failure.rows,
          reason: `${cls.reason}; retry budget of ${Math.round(settings.budgetMs / 1000)} s exhausted after ${item.attempt} attempt${item.attempt === 1 ? '' : 's'}`,
        });
      } else {
        hooks.onRetry?.({ rows: failure.rows.length, attempt: item.attempt, delayMs, reason: cls.reason });
        queue.push({
          rows: failure.rows,
          attempt: item.attempt + 1,
          notBefore: at,
          repeat: true,
          lastReason: cls.reason,
        });
      }
    }
  }
  return { accepted, failed, retried, calls };
}
