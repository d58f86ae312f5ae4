import { HEALTH_COLUMNS } from '../../src/health/columns';
import type { BodyCount } from '../../src/health/count';
import { HealthWindows, MAX_SUBSCRIPTIONS, OTHER_SUBSCRIPTIONS } from '../../src/health/windows';

const LABELS = { source: 'function', eventHubName: 'insights-activity-logs', consumerGroup: 'pcd' } as const;
const count = (entries: [string, number, string][]): BodyCount =>
  new Map(entries.map(([s, records, newest]) => [s, { records, newest, oldest: newest }]));

describe('HealthWindows', () => {
  it('adds messages up per window and subscription, and hands out a window once it ended', () => {
    const w = new HealthWindows(5 * 60_000, LABELS);
    w.add(
      [
        { count: count([['s1', 10, '2026-01-12T09:58:00']]), enqueuedTimeUtc: '2026-01-12T09:59:01.5' },
        {
          count: count([
            ['s1', 5, '2026-01-12T09:59:30'],
            ['s2', 1, ''],
          ]),
        },
      ],
      new Date('2026-01-12T10:01:00Z'),
    );
    w.add([{ count: count([['s1', 2, '2026-01-12T09:57:00']]) }], new Date('2026-01-12T10:04:00Z'));
    expect(w.take(new Date('2026-01-12T10:04:59Z'))).toEqual([]);
    const rows = w.take(new Date('2026-01-12T10:05:00Z'));
    expect(rows).toHaveLength(2);
    const s1 = rows.find((r) => r.SubscriptionId === 's1')!;
    expect(s1).toEqual({
      TimeGenerated: '2026-01-12T10:05:00.000Z',
      WindowStart: '2026-01-12T10:00:00.000Z',
      WindowMinutes: 5,
      SubscriptionId: 's1',
      Records: 17,
      Messages: 3,
      NewestRecordTime: '2026-01-12T09:59:30.000Z',
      OldestRecordTime: '2026-01-12T09:57:00.000Z',
      // Trigger metadata has no zone: read as UTC.
      NewestEnqueuedTime: '2026-01-12T09:59:01.500Z',
      LastProcessedTime: '2026-01-12T10:04:00.000Z',
      Source: 'function',
      EventHubName: 'insights-activity-logs',
      ConsumerGroup: 'pcd',
    });
    expect(Object.keys(s1)).toEqual(HEALTH_COLUMNS.map((c) => c.name));
    expect(rows.find((r) => r.SubscriptionId === 's2')).toMatchObject({ Records: 1, NewestRecordTime: '' });
    expect(w.pendingWindows).toBe(0);
  });

  it('keeps at most MAX_SUBSCRIPTIONS subscriptions per window; the rest add up as (other)', () => {
    const w = new HealthWindows(60_000, LABELS);
    const now = new Date('2026-01-12T10:00:10Z');
    const many = Array.from({ length: MAX_SUBSCRIPTIONS + 20 }, (_, i) => ({
      count: count([[`s${i}`, 1, '']]),
    }));
    w.add(many, now);
    const rows = w.take(now, true);
    expect(rows).toHaveLength(MAX_SUBSCRIPTIONS + 1);
    expect(rows.find((r) => r.SubscriptionId === OTHER_SUBSCRIPTIONS)).toMatchObject({
      Records: 20,
      Messages: 20,
    });
  });
});
