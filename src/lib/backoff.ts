/* Exponential backoff, shared by delivery retries and the consumer's batch retries. */

/** `baseMs`, doubling per attempt (1-based), capped at `maxMs`. */
export function exponentialDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30));
}
