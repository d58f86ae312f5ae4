import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEALTH_COLUMNS, HEALTH_STREAM_NAME } from '../../src/health/columns';
import { createDelivery } from '../../src/deliver/index';
import { LOG_HEALTH_FAILED } from '../../src/pipeline/health';
import { runBatch } from '../../src/pipeline/runBatch';
import { CapturingLogger, startHarness, type Harness } from '../support/deliveryHarness';

/** Health rows through the real LogsIngestionClient to the local HTTPS fake of the Logs Ingestion API. */
const capture = readFileSync(join(__dirname, '../../samples/capture-operations.eventhub.json'));
const LABELS = { source: 'function', eventHubName: 'insights-activity-logs', consumerGroup: 'pcd' } as const;

describe('health rows into Logs Ingestion', () => {
  let h: Harness;
  beforeAll(async () => {
    // The harness's DCR declares both streams, as the deployed one does.
    h = await startHarness();
  }, 60_000);
  afterAll(async () => {
    await h.stop();
  });

  it('writes one row per subscription and window, every column of the contract, beside the alerts', async () => {
    expect(h.settings.logsIngestion?.healthStreamName).toBe(HEALTH_STREAM_NAME);
    const logger = new CapturingLogger();
    const delivery = createDelivery(h.settings, logger, { ...h.overrides, health: LABELS });
    const meta = [{ enqueuedTimeUtc: '2026-01-12T10:00:30' }];
    await runBatch([capture], meta, { source: 'eventhub' }, delivery, logger, {
      now: () => new Date('2026-01-12T10:01:00Z'),
    });
    const alerts = h.li.rows.length;
    expect(alerts).toBeGreaterThan(0);
    await runBatch([capture], meta, { source: 'eventhub' }, delivery, logger, {
      now: () => new Date('2026-01-12T10:05:01Z'),
    });
    const health = h.li.rows.filter((r) => 'WindowStart' in r);
    expect(health.length).toBeGreaterThan(0);
    for (const row of health) expect(Object.keys(row)).toEqual(HEALTH_COLUMNS.map((c) => c.name));
    const records = (JSON.parse(capture.toString()) as { records: unknown[] }).records.length;
    expect(health.reduce((n, r) => n + Number(r.Records), 0)).toBe(records);
    expect(h.li.violations).toEqual([]);
  });

  it('gives up within its own budget when the service is down, and the batch still succeeds', async () => {
    const logger = new CapturingLogger();
    const delivery = createDelivery(h.settings, logger, {
      ...h.overrides,
      health: LABELS,
      hooks: { sleep: () => Promise.resolve() },
    });
    const run = (now: string) =>
      runBatch([capture], [{}], { source: 'eventhub' }, delivery, logger, { now: () => new Date(now) });
    await run('2026-01-12T11:01:00Z');
    h.li.setDown(true);
    try {
      // Alerts are dead-lettered (delivered nowhere), health rows fail: neither makes the batch throw.
      const outcome = await run('2026-01-12T11:05:01Z');
      expect(outcome.deadLettered).toBeGreaterThan(0);
    } finally {
      h.li.setDown(false);
    }
    const failed = logger.lines.filter((l) => l.message === LOG_HEALTH_FAILED);
    expect(failed).toHaveLength(1);
    expect(Number(failed[0]?.fields?.keptForNextFlush)).toBeGreaterThan(0);
    expect(delivery.health?.counters.rowsFailed).toBeGreaterThan(0);
  });
});
