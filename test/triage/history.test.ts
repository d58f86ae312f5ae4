import type { AlertRow } from '../../src/alert/columns';
import { MemoryCaptureHistoryStore } from '../../src/state/memoryHistoryStore';
import {
  HISTORY_WINDOW_MS,
  MAX_STARTS_PER_KEY,
  nextStarts,
  priorStarts,
  recordHistory,
  type CaptureHistoryStore,
} from '../../src/triage/history';
import { sampleAlert } from '../support/alerts';

const DAY = 24 * 3600_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** A capture by `caller` from `ip`, `daysAgo` before T0 (AlertId distinct per n). */
function capture(n: number, daysAgo: number, over: Partial<AlertRow> = {}): AlertRow {
  return sampleAlert(n, {
    EventTime: iso(T0 - daysAgo * DAY),
    Caller: 'alice@contoso.example',
    CallerObjectId: '000000000000400080000000000a11ce',
    CallerIpAddress: '203.0.113.10',
    // As buildAlert writes them: unknown until triage.
    CallerPriorCaptures: -1,
    CallerIpPriorCaptures: -1,
    CallerLastPriorCapture: '',
    ...over,
  });
}

const answer = (r: AlertRow) => [r.CallerPriorCaptures, r.CallerIpPriorCaptures, r.CallerLastPriorCapture];

describe('the history list', () => {
  it('keeps each operation once, the newest first, within 90 days of the newest, bounded', () => {
    const list = nextStarts(
      [
        { op: 'a', at: T0 - 100 * DAY },
        { op: 'b', at: T0 - 10 * DAY },
        { op: 'b', at: T0 - 10 * DAY },
      ],
      { add: { op: 'c', at: T0 } },
      T0,
    );
    expect(list).toEqual([
      { op: 'c', at: T0 },
      { op: 'b', at: T0 - 10 * DAY },
    ]);
    const many = Array.from({ length: 300 }, (_, i) => ({ op: `o${i}`, at: T0 - i * 1000 }));
    expect(nextStarts(many, {}, T0)).toHaveLength(MAX_STARTS_PER_KEY);
    // Forged starts dated far ahead are not kept; a withdrawn one is forgotten.
    expect(nextStarts([], { add: { op: 'x', at: T0 + 3 * DAY } }, T0)).toEqual([]);
    expect(nextStarts(list, { forget: 'c' }, T0)).toEqual([{ op: 'b', at: T0 - 10 * DAY }]);
  });

  it('answers for the time of the capture: earlier starts within 90 days, itself excluded', () => {
    const starts = [
      { op: 'self', at: T0 },
      { op: 'later', at: T0 + DAY },
      { op: 'recent', at: T0 - 3 * DAY },
      { op: 'edge', at: T0 - HISTORY_WINDOW_MS },
      { op: 'old', at: T0 - HISTORY_WINDOW_MS - 1 },
    ];
    expect(priorStarts(starts, 'self', T0)).toEqual({ count: 2, last: T0 - 3 * DAY });
    expect(priorStarts([], 'self', T0)).toEqual({ count: 0, last: undefined });
  });
});

describe('recordHistory', () => {
  it('answers runbook step 3 per principal and per caller IP, in event time', async () => {
    const store = new MemoryCaptureHistoryStore();
    const first = await recordHistory([capture(1, 125), capture(2, 30)], store, new Date(T0));
    // 95 days before the second capture is outside its 90 days: the second is the first in the window.
    expect(first.rows.map(answer)).toEqual([
      [0, 0, ''],
      [0, 0, ''],
    ]);
    const next = await recordHistory(
      [
        capture(3, 2),
        // Same IP, another principal (a service principal: its object id is its identity).
        capture(4, 1, {
          Caller: '00000000-0000-4000-8000-0000000005b1',
          CallerObjectId: '00000000-0000-4000-8000-0000000005b0',
        }),
        // Same principal from another IP.
        capture(5, 0, { CallerIpAddress: '2001:db8::7' }),
      ],
      store,
      new Date(T0),
    );
    expect(next.rows.map(answer)).toEqual([
      [1, 1, iso(T0 - 30 * DAY)],
      [0, 2, ''],
      [2, 0, iso(T0 - 2 * DAY)],
    ]);
    expect(next.failed).toBe(0);
  });

  it('knows a principal by its name or its object id, never by the client app id every user of it shares', async () => {
    const store = new MemoryCaptureHistoryStore();
    const portal = 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c';
    await recordHistory([capture(1, 3, { CallerAppId: portal })], store, new Date(T0));
    const { rows } = await recordHistory(
      [
        // A shape without the UPN: the caller is its object id.
        capture(2, 2, { Caller: '000000000000400080000000000a11ce', CallerIpAddress: '198.51.100.1' }),
        // Another user of the same portal app, from another IP: no history of its own.
        capture(3, 1, {
          Caller: 'bob@contoso.example',
          CallerObjectId: '00000000000040008000000000000b0b',
          CallerAppId: portal,
          CallerIpAddress: '198.51.100.2',
        }),
      ],
      store,
      new Date(T0),
    );
    expect(rows.map(answer)).toEqual([
      [1, 0, iso(T0 - 3 * DAY)],
      [0, 0, ''],
    ]);
  });

  it('gives a completing row (same AlertId) the answer of its first row; a withdrawn finding is forgotten', async () => {
    const store = new MemoryCaptureHistoryStore();
    await recordHistory([capture(1, 10)], store, new Date(T0));
    const [firstRow] = (await recordHistory([capture(2, 5)], store, new Date(T0))).rows;
    const [completing] = (await recordHistory([capture(2, 5, { AlertRevision: 3 })], store, new Date(T0)))
      .rows;
    expect(answer(completing!)).toEqual(answer(firstRow!));
    // The finding of op 1 is withdrawn (a Status poll learned late): it is no longer history for later ones.
    await recordHistory([capture(1, 10, { AlertRevision: 10, Suppressed: true })], store, new Date(T0));
    const [later] = (await recordHistory([capture(3, 0)], store, new Date(T0))).rows;
    expect(answer(later!)).toEqual([1, 1, iso(T0 - 5 * DAY)]);
  });

  it("keeps each rule's history apart: another rule's finding by the same caller is not a capture", async () => {
    const store = new MemoryCaptureHistoryStore();
    await recordHistory([capture(1, 2, { RuleId: 'Azure.Other.Rule' })], store, new Date(T0));
    const { rows } = await recordHistory([capture(2, 1)], store, new Date(T0));
    expect(rows.map(answer)).toEqual([[0, 0, '']]);
  });

  it('records and answers nothing for smoke test rows, nor for a row with no caller or IP', async () => {
    const store = new MemoryCaptureHistoryStore();
    const { rows } = await recordHistory(
      [
        capture(1, 3, { SmokeTestId: 'smoke-1' }),
        capture(2, 2, { Caller: '', CallerObjectId: '', CallerIpAddress: '' }),
        capture(3, 1),
      ],
      store,
      new Date(T0),
    );
    expect(rows.map(answer)).toEqual([
      [-1, -1, ''],
      [-1, -1, ''],
      [0, 0, ''],
    ]);
  });

  it('leaves the answer unknown (-1) when the store fails, and writes the rows anyway', async () => {
    const failing: CaptureHistoryStore = {
      name: 'broken',
      update: () => Promise.reject(new Error('table down')),
    };
    const result = await recordHistory([capture(1, 1), capture(2, 0)], failing, new Date(T0));
    expect(result.rows).toHaveLength(2);
    expect(result.rows.map(answer)).toEqual([
      [-1, -1, ''],
      [-1, -1, ''],
    ]);
    expect(result.failed).toBe(2);
    expect(String(result.firstError)).toMatch(/table down/);
  });
});
