import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthRow } from '../../src/health/columns';
import { HealthMonitor, LOG_HEALTH_FAILED, type HealthSink } from '../../src/pipeline/health';
import type { AlertSink, Delivery } from '../../src/pipeline/ports';
import { runBatch } from '../../src/pipeline/runBatch';
import { CapturingLogger } from '../support/deliveryHarness';

const capture = readFileSync(join(__dirname, '../../samples/capture-operations.eventhub.json'));
const noise = readFileSync(join(__dirname, '../../samples/benign-noise.eventhub.json'));
const LABELS = { source: 'consume', eventHubName: 'h', consumerGroup: 'c' } as const;
const WINDOW = 5 * 60_000;

class MemoryHealthSink implements HealthSink {
  readonly name = 'memory';
  readonly rows: HealthRow[] = [];
  fail = 0;
  async write(rows: readonly HealthRow[]) {
    await Promise.resolve();
    if (this.fail > 0) {
      this.fail--;
      throw new Error('health table unavailable');
    }
    this.rows.push(...rows);
    return { failed: [] };
  }
}

function delivery(health: HealthMonitor, order: string[], failAlerts = false): Delivery {
  const sink: AlertSink = {
    name: 'memory',
    deliver: (alerts) => {
      order.push('alerts');
      if (failAlerts) return Promise.reject(new Error('Logs Ingestion and dead letters down'));
      return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
    },
  };
  return { sink, malformedStore: { name: 'm', keep: () => Promise.resolve() }, health };
}

const at = (iso: string) => () => new Date(iso);
const metas = [{ enqueuedTimeUtc: '2026-01-12T10:00:30' }, { enqueuedTimeUtc: '2026-01-12T10:00:31' }];

describe('health rows from the batch runner', () => {
  it('counts a delivered batch, writes its window once it ended, after the alerts', async () => {
    const sink = new MemoryHealthSink();
    const order: string[] = [];
    const write = sink.write.bind(sink);
    sink.write = async (rows) => {
      order.push('health');
      return write(rows);
    };
    const monitor = new HealthMonitor(sink, WINDOW, LABELS);
    const logger = new CapturingLogger();
    await runBatch([capture, noise], metas, { source: 'consumer' }, delivery(monitor, order), logger, {
      now: at('2026-01-12T10:01:00Z'),
    });
    expect(sink.rows).toEqual([]);
    await runBatch([capture], [{}], { source: 'consumer' }, delivery(monitor, order), logger, {
      now: at('2026-01-12T10:06:00Z'),
    });
    const total = sink.rows.reduce((n, r) => n + r.Records, 0);
    const expected = [capture, noise].reduce(
      (n, b) => n + (JSON.parse(b.toString()) as { records: unknown[] }).records.length,
      0,
    );
    expect(total).toBe(expected);
    expect(sink.rows.every((r) => r.WindowStart === '2026-01-12T10:00:00.000Z')).toBe(true);
    expect(order).toEqual(['alerts', 'alerts', 'health']);
    expect(monitor.counters).toMatchObject({ rowsWritten: sink.rows.length, rowsFailed: 0 });
  });

  it('does not count a batch whose alerts could not be delivered (it will be read again)', async () => {
    const sink = new MemoryHealthSink();
    const monitor = new HealthMonitor(sink, WINDOW, LABELS);
    await expect(
      runBatch([capture], [{}], { source: 'consumer' }, delivery(monitor, [], true), new CapturingLogger(), {
        now: at('2026-01-12T10:01:00Z'),
      }),
    ).rejects.toThrow(/down/);
    await monitor.flush(new Date('2026-01-12T11:00:00Z'), new CapturingLogger(), true);
    expect(sink.rows).toEqual([]);
  });

  it('never fails a batch: a failed write is logged, counted and written at the next flush', async () => {
    const sink = new MemoryHealthSink();
    sink.fail = 1;
    const monitor = new HealthMonitor(sink, WINDOW, LABELS);
    const logger = new CapturingLogger();
    const run = (now: string) =>
      runBatch([noise], [{}], { source: 'consumer' }, delivery(monitor, []), logger, { now: at(now) });
    await run('2026-01-12T10:01:00Z');
    await expect(run('2026-01-12T10:06:00Z')).resolves.toMatchObject({ alerts: 0 });
    expect(logger.lines.filter((l) => l.message === LOG_HEALTH_FAILED)).toHaveLength(1);
    expect(monitor.counters).toMatchObject({ rowsFailed: 1, rowsWritten: 0 });
    await run('2026-01-12T10:11:00Z');
    expect(sink.rows.map((r) => r.WindowStart)).toEqual([
      '2026-01-12T10:00:00.000Z',
      '2026-01-12T10:05:00.000Z',
    ]);
    expect(monitor.counters).toMatchObject({ rowsFailed: 1, rowsWritten: 2 });
  });
});
