import {
  CALL_MAX_BYTES,
  chunkRows,
  DEFAULT_RETRY,
  uploadWithRetry,
  type UploadClient,
} from '../../src/deliver/uploader';
import { sampleAlerts } from '../support/alerts';

describe('chunkRows', () => {
  it('keeps every row once, in order, and each call under the limit with its JSON framing', () => {
    const rows = sampleAlerts(40).map((a, i) => ({ ...a, Runbook: 'r'.repeat(20_000 + i * 1_000) }));
    const chunks = chunkRows(rows);
    expect(chunks.flat()).toEqual(rows);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(CALL_MAX_BYTES);
    expect(chunks.length).toBeGreaterThan(1);
  });
  it('puts a row larger than the limit alone in its call (it will be reported, not lost)', () => {
    const [a, b] = sampleAlerts(2);
    const big = { ...a!, Runbook: 'x'.repeat(CALL_MAX_BYTES) };
    expect(chunkRows([b!, big, b!]).map((c) => c.length)).toEqual([1, 1, 1]);
  });
  it('makes no call for no rows', () => {
    expect(chunkRows([])).toEqual([]);
  });
});

/**
 * The budget bounds the whole delivery, first calls included. Time here is virtual: the client "hangs"
 * for exactly the time the uploader allows the call (then the call is aborted), and waits advance the
 * same clock; so the figures are exact and no test waits for real.
 */
describe('uploadWithRetry and the delivery budget', () => {
  function hangingEndpoint(): {
    client: () => Promise<UploadClient>;
    clock: { now: number };
    calls: { rows: number; attempt: number; timeoutMs: number; at: number }[];
  } {
    const clock = { now: 0 };
    const calls: { rows: number; attempt: number; timeoutMs: number; at: number }[] = [];
    const client: UploadClient = {
      upload: () => {
        const last = calls[calls.length - 1];
        clock.now += last?.timeoutMs ?? 0; // it hangs until the uploader gives up on it
        const abort = new Error('The operation was aborted.');
        abort.name = 'AbortError';
        return Promise.reject(abort);
      },
    };
    return { client: () => Promise.resolve(client), clock, calls };
  }

  const twentyChunks = sampleAlerts(100).map((a) => ({ ...a, Runbook: 'r'.repeat(190_000) }));

  it('with 20 chunks and a hanging endpoint, ends within the budget with every row reported', async () => {
    expect(chunkRows(twentyChunks)).toHaveLength(20);
    const { client, clock, calls } = hangingEndpoint();
    const budgetMs = 240_000;
    const outcome = await uploadWithRetry(
      client,
      'dcr',
      'stream',
      twentyChunks,
      { ...DEFAULT_RETRY, budgetMs },
      {
        now: () => clock.now,
        sleep: (ms) => {
          clock.now += ms;
          return Promise.resolve();
        },
        random: () => 0.5,
        onCall: (info) => calls.push({ ...info, at: clock.now }),
      },
    );
    // Nothing accepted, every row failed exactly once (the sink dead-letters them).
    expect(outcome.accepted).toEqual([]);
    const failedIds = outcome.failed.flatMap((f) => f.rows.map((r) => r.AlertId));
    expect(failedIds.sort()).toEqual(twentyChunks.map((r) => r.AlertId).sort());
    // No call runs past the budget, first calls included, so the whole delivery ends within it.
    for (const c of calls) expect(c.at + c.timeoutMs).toBeLessThanOrEqual(budgetMs);
    expect(clock.now).toBeLessThanOrEqual(budgetMs);
    // The chunks the budget did not reach are reported unsent, not tried with a full attempt each.
    expect(outcome.failed.some((f) => f.reason.startsWith('not sent: the delivery budget of 240 s'))).toBe(
      true,
    );
    expect(calls.length).toBeLessThan(20);
  });

  it('gives a first call only what is left of the budget', async () => {
    const { client, clock, calls } = hangingEndpoint();
    await uploadWithRetry(
      client,
      'dcr',
      'stream',
      twentyChunks.slice(0, 10),
      { ...DEFAULT_RETRY, budgetMs: 45_000, maxAttempts: 1 },
      {
        now: () => clock.now,
        sleep: (ms) => {
          clock.now += ms;
          return Promise.resolve();
        },
        onCall: (info) => calls.push({ ...info, at: clock.now }),
      },
    );
    expect(calls.map((c) => [c.attempt, c.timeoutMs])).toEqual([
      [1, 30_000],
      [1, 15_000],
    ]);
    expect(clock.now).toBe(45_000);
  });
});
