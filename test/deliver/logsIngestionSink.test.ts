import { loadSettings } from '../../src/config/settings';
import { createDelivery } from '../../src/deliver/index';
import { DetectorError } from '../../src/lib/errors';
import { FIELD_MAX_BYTES } from '../../src/deliver/fitAlert';
import { LOG_DEAD_LETTERED, LOG_DELIVERY } from '../../src/deliver/logsIngestionSink';
import type { BatchInfo } from '../../src/pipeline/ports';
import { sampleAlert, sampleAlerts } from '../support/alerts';
import { CapturingLogger, startHarness, type Harness } from '../support/deliveryHarness';
import { startLogsIngestionFake } from '../support/logsIngestionFake';
import { FAKE_MI_TOKEN_MARKER } from '../support/managedIdentityFake';

const batch: BatchInfo = {
  source: 'eventhub',
  invocationId: 'inv-1',
  partitionId: '3',
  firstSequenceNumber: 100,
  lastSequenceNumber: 199,
};

describe('LogsIngestionSink (real LogsIngestionClient, managed identity, Azurite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ li: { retryAfterSeconds: 0 } });
  }, 60_000);
  afterAll(async () => {
    await h.stop();
  });
  beforeEach(async () => {
    h.li.setFaults(undefined);
    h.li.setDown(false);
    await h.clearDeadLetters();
  });
  afterEach(() => {
    expect(h.li.violations).toEqual([]);
  });

  const accepted = (ids: readonly string[]): number => {
    const counts = h.li.countsByAlertId();
    return ids.filter((id) => (counts.get(id) ?? 0) > 0).length;
  };

  it('delivers alerts with one gzip call and reports the counts', async () => {
    const log = new CapturingLogger();
    const alerts = sampleAlerts(5, 1_000);
    const report = await h.delivery(log).sink.deliver(alerts, batch);
    expect(report).toMatchObject({ delivered: 5, retried: 0, deadLettered: 0 });
    expect(accepted(alerts.map((a) => a.AlertId))).toBe(5);
    const summary = log.lines.find((l) => l.message === LOG_DELIVERY);
    expect(summary?.fields).toMatchObject({
      alerts: 5,
      delivered: 5,
      retried: 0,
      deadLettered: 0,
      partitionId: '3',
    });
    expect(await h.blobNames()).toEqual([]);
  });

  it('retries transient faults (429, 500, 503, 408, reset, timeout) and delivers everything', async () => {
    h.li.setFaults({
      script: ['throttle', 'server-error', 'unavailable', 'request-timeout', 'reset', 'slow'],
    });
    const alerts = sampleAlerts(3, 2_000);
    const report = await h.delivery(new CapturingLogger()).sink.deliver(alerts, batch);
    expect(report).toMatchObject({ delivered: 3, retried: 6, deadLettered: 0 });
    expect(accepted(alerts.map((a) => a.AlertId))).toBe(3);
  });

  it('honours Retry-After before retrying a 429', async () => {
    // A fake answering Retry-After: 1 for this case (the shared one says 0 to keep the suite fast).
    const slowFake = await startLogsIngestionFake({ retryAfterSeconds: 1, faults: { script: ['throttle'] } });
    try {
      const settings = loadSettings({ ...h.env, LOGS_INGESTION_ENDPOINT: slowFake.endpoint }, 'cli');
      const delivery = createDelivery(settings, new CapturingLogger(), {
        ...h.overrides,
        logsIngestionClientOptions: { tlsOptions: { ca: slowFake.ca } },
      });
      const started = Date.now();
      const report = await delivery.sink.deliver([sampleAlert(2_500)], batch);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(report).toMatchObject({ delivered: 1, retried: 1 });
      expect(slowFake.requests.map((r) => r.status)).toEqual([429, 204]);
    } finally {
      await slowFake.stop();
    }
  });

  it('retries only the logs that failed: accepted calls are not sent again', async () => {
    // ~170 KB rows → 5 per call: 20 alerts make 4 calls; the 2nd call fails once.
    const alerts = sampleAlerts(20, 3_000).map((a) => ({
      ...a,
      Runbook: 'r'.repeat(60_000),
      CaptureTarget: 't'.repeat(60_000),
      CaptureStorage: 's'.repeat(50_000),
    }));
    h.li.setFaults({ script: [null, 'server-error'] });
    const firstRequest = h.li.requests.length;
    const report = await h.delivery(new CapturingLogger()).sink.deliver(alerts, batch);
    expect(report.delivered).toBe(20);
    expect(report.retried).toBe(1);
    const counts = h.li.countsByAlertId();
    expect(alerts.every((a) => counts.get(a.AlertId) === 1)).toBe(true);
    expect(
      h.li.requests
        .slice(firstRequest)
        .filter((r) => r.status === 204)
        .map((r) => r.rows),
    ).toEqual([5, 5, 5, 5]);
  });

  it('does not retry 401/403 blindly: the alerts are dead-lettered with the reason and batch coordinates', async () => {
    const log = new CapturingLogger();
    h.li.setFaults({ script: ['forbidden'] });
    const alerts = sampleAlerts(2, 4_000);
    const report = await h.delivery(log).sink.deliver(alerts, batch);
    expect(report).toMatchObject({ delivered: 0, retried: 0, deadLettered: 2 });
    expect(h.li.requests.at(-1)?.status).toBe(403);
    const [dl] = await h.alertDeadLetters();
    expect(dl?.doc).toMatchObject({
      kind: 'alerts',
      batch: { partitionId: '3', firstSequenceNumber: 100, lastSequenceNumber: 199, invocationId: 'inv-1' },
      replayAttempts: 0,
    });
    expect(dl?.doc.reason).toMatch(/HTTP 403/);
    expect(dl?.doc.alerts.map((a) => a.AlertId)).toEqual(alerts.map((a) => a.AlertId));
    expect(dl?.name).toMatch(
      /^alerts\/\d{4}-\d{2}-\d{2}\/\d{2}-\d{2}-\d{2}\.\d{3}Z_p3_s100-199_[0-9a-f-]{36}\.json$/,
    );
    const line = log.lines.find((l) => l.message === LOG_DEAD_LETTERED);
    expect(line).toMatchObject({ level: 'error', fields: { alerts: 2, blob: dl?.name } });
  });

  it('isolates a row the service rejects with 400 by halving, so the other rows get in', async () => {
    h.li.setFaults({ script: ['bad-request', null, 'bad-request', null, 'bad-request'] });
    const alerts = sampleAlerts(4, 5_000);
    const report = await h.delivery(new CapturingLogger()).sink.deliver(alerts, batch);
    // [a b c d] 400 → [a b] ok, [c d] 400 → [c] ok, [d] 400 → dead letter.
    expect(report).toMatchObject({ delivered: 3, deadLettered: 1 });
    expect(await h.deadLetteredIds()).toEqual([alerts[3]?.AlertId]);
  });

  it('dead-letters what is still undelivered when the endpoint is down for the whole budget', async () => {
    h.li.setDown(true);
    const alerts = sampleAlerts(3, 6_000);
    const started = Date.now();
    const report = await h.delivery(new CapturingLogger(), { budgetMs: 1_000 }).sink.deliver(alerts, batch);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(report.delivered).toBe(0);
    expect(report.deadLettered).toBe(3);
    expect(report.retried).toBeGreaterThan(0);
    const [dl] = await h.alertDeadLetters();
    expect(dl?.doc.reason).toMatch(/HTTP 503.*retry budget of 1 s exhausted/);
  });

  it('throws DEAD_LETTER_FAILED when the dead-letter store is unreachable too', async () => {
    h.li.setDown(true);
    const settings = loadSettings(
      {
        ...h.env,
        AzureWebJobsStorage: h.azurite.connectionString.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:9'),
      },
      'cli',
    );
    const log = new CapturingLogger();
    const delivery = createDelivery(settings, log, {
      ...h.overrides,
      retry: { ...h.overrides.retry, budgetMs: 300 },
    });
    const error: unknown = await delivery.sink
      .deliver(sampleAlerts(2, 7_000), batch)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DetectorError);
    expect((error as DetectorError).code).toBe('DEAD_LETTER_FAILED');
    expect(log.lines.some((l) => l.level === 'error' && l.message === 'dead-letter write failed')).toBe(true);
  });

  it('trims an oversized alert up front instead of drawing a 413, and marks it', async () => {
    const huge = sampleAlert(8_000, {
      Context: { resource_id: 'r', properties: { requestbody: 'x'.repeat(2_000_000) } },
    });
    const report = await h.delivery(new CapturingLogger()).sink.deliver([huge], batch);
    expect(report).toMatchObject({ delivered: 1, deadLettered: 0, trimmed: 1 });
    const row = h.li.rows.find((r) => r.AlertId === huge.AlertId);
    const context = row?.Context as Record<string, unknown>;
    expect(context._trimmed).toBe(true);
    expect(context.resource_id).toBe('r');
    expect(Buffer.byteLength(JSON.stringify(context))).toBeLessThanOrEqual(FIELD_MAX_BYTES);
  });

  it('gets its token from the managed identity endpoint and never logs it', async () => {
    const log = new CapturingLogger();
    h.li.setFaults({ script: ['unauthorized', 'throttle'] });
    await h.delivery(log).sink.deliver(sampleAlerts(2, 9_000), batch);
    expect(h.mi.issuedTokens.length).toBeGreaterThan(0);
    const text = log.text() + (await h.allBlobText());
    expect(text).not.toContain(FAKE_MI_TOKEN_MARKER);
    for (const t of h.mi.issuedTokens) expect(text).not.toContain(t);
    expect(text).not.toContain(h.mi.identityHeader);
  });
});
