import { PassThrough } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import type { CliIo } from '../../src/cli/io';
import { runReplay } from '../../src/cli/replay';
import type { BatchInfo } from '../../src/pipeline/ports';
import { sampleAlerts } from '../support/alerts';
import { CapturingLogger, startHarness, type Harness } from '../support/deliveryHarness';

function captureIo(env: NodeJS.ProcessEnv): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, stdin: new PassThrough(), env, out: () => out, err: () => err };
}

const batch = (p: string): BatchInfo => ({
  source: 'eventhub',
  partitionId: p,
  firstSequenceNumber: 1,
  lastSequenceNumber: 2,
});

describe('replay-dead-letters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ li: { retryAfterSeconds: 0 } });
  }, 60_000);
  afterAll(async () => {
    await h.stop();
  });
  beforeEach(async () => {
    h.li.setDown(false);
    h.li.setFaults(undefined);
    await h.clearDeadLetters();
  });
  const replay = async (args: string[] = []) => {
    const io = captureIo(h.env);
    const code = await runReplay(args, io, { ...h.overrides, retry: undefined });
    return { code, out: io.out(), err: io.err() };
  };
  const outage = async (count: number, offset: number, partitions = ['0', '1']) => {
    h.li.setDown(true);
    const alerts = sampleAlerts(count, offset);
    const per = Math.ceil(count / partitions.length);
    for (const [i, p] of partitions.entries()) {
      const report = await h
        .delivery(new CapturingLogger(), { budgetMs: 200 })
        .sink.deliver(alerts.slice(i * per, (i + 1) * per), batch(p));
      expect(report.deadLettered).toBe(alerts.slice(i * per, (i + 1) * per).length);
    }
    h.li.setDown(false);
    return alerts;
  };

  it('with Logs Ingestion down and then back, brings every alert into the table and deletes the dead letters', async () => {
    const alerts = await outage(10, 100);
    await h
      .delivery(new CapturingLogger())
      .malformedStore.keep(
        [{ code: 'MESSAGE_NOT_JSON', reason: 'x', index: 0, problems: [], problemCount: 1, raw: 'not json' }],
        batch('0'),
      );
    expect(await h.deadLetteredIds()).toHaveLength(10);
    const before = Date.now();
    const { code, out } = await replay();
    expect(code).toBe(0);
    const counts = h.li.countsByAlertId();
    expect(alerts.filter((a) => !counts.has(a.AlertId))).toEqual([]);
    expect(await h.blobNames('alerts/')).toEqual([]);
    expect(await h.blobNames('malformed/')).toHaveLength(1);
    expect(out).toMatch(/replay: 2\/2 dead letters replayed, 10 alerts accepted, 0 still undelivered/);
    expect(out).toMatch(/1 malformed-message dead letter left in place/);
    // TimeGenerated moves to the replay time so the analytics rule's lookback sees the alert; EventTime stays.
    const row = h.li.rows.find((r) => r.AlertId === alerts[0]?.AlertId);
    expect(Date.parse(String(row?.TimeGenerated))).toBeGreaterThanOrEqual(before - 1_000);
    expect(row?.EventTime).toBe(alerts[0]?.EventTime);
    // Safe to run twice: nothing left, nothing sent.
    const rowsBefore = h.li.rows.length;
    expect((await replay()).code).toBe(0);
    expect(h.li.rows.length).toBe(rowsBefore);
  });

  it('keeps what is still undelivered in the dead letter and exits 1', async () => {
    const alerts = await outage(4, 200, ['5']);
    h.li.setFaults({ script: ['bad-request', null, 'bad-request', null, 'bad-request'] });
    const { code, out } = await replay(['--keep-time']);
    expect(code).toBe(1);
    expect(out).toMatch(/kept alerts\/.*: 3 accepted, 1 still undelivered/);
    const [dl] = await h.alertDeadLetters();
    expect(dl?.doc).toMatchObject({ replayAttempts: 1 });
    expect(dl?.doc.alerts.map((a) => a.AlertId)).toEqual([alerts[3]?.AlertId]);
    // The alert kept its original TimeGenerated in the dead letter.
    expect(dl?.doc.alerts[0]?.TimeGenerated).toBe(alerts[3]?.TimeGenerated);
    h.li.setFaults(undefined);
    expect((await replay()).code).toBe(0);
    expect(h.li.countsByAlertId().has(alerts[3]!.AlertId)).toBe(true);
  });

  it('two replays at once lose nothing and send each dead letter once (leases)', async () => {
    const alerts = await outage(12, 300, ['0', '1', '2', '3']);
    const sentBefore = new Map(h.li.countsByAlertId());
    const [a, b] = await Promise.all([replay(), replay()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const counts = h.li.countsByAlertId();
    const lost = alerts.filter((x) => !counts.has(x.AlertId));
    const duplicates = alerts.filter(
      (x) => (counts.get(x.AlertId) ?? 0) - (sentBefore.get(x.AlertId) ?? 0) > 1,
    );
    expect({ lost: lost.length, duplicates: duplicates.length }).toEqual({ lost: 0, duplicates: 0 });
    expect(await h.blobNames('alerts/')).toEqual([]);
  });

  it('reports a dead letter it cannot claim (leased, e.g. by a killed run) and exits 1 while it remains', async () => {
    const alerts = await outage(4, 600, ['6', '7']);
    const [held, other] = await h.blobNames('alerts/');
    const container = BlobServiceClient.fromConnectionString(h.azurite.connectionString).getContainerClient(
      'pcd-dead-letters',
    );
    const lease = container.getBlockBlobClient(held!).getBlobLeaseClient();
    await lease.acquireLease(60);
    try {
      const { code, out } = await replay(['--lease-wait-seconds', '1']);
      expect(code).toBe(1);
      expect(out).toContain(`skipped ${held!} for now: leased`);
      expect(out).toContain(`not replayed ${held!}: still leased`);
      expect(out).toMatch(
        /replay: 1\/2 dead letters replayed, 2 alerts accepted, 0 still undelivered, 1 still leased/,
      );
      expect(await h.blobNames('alerts/')).toEqual([held]);
      expect(other).toBeDefined();
    } finally {
      await lease.releaseLease();
    }
    // Released (or expired): the next run replays it and exits 0.
    expect((await replay(['--lease-wait-seconds', '0'])).code).toBe(0);
    expect(alerts.every((a) => h.li.countsByAlertId().has(a.AlertId))).toBe(true);
  });

  it('waits for a leased dead letter to be released, then replays it', async () => {
    await outage(2, 700, ['8']);
    const [held] = await h.blobNames('alerts/');
    const lease = BlobServiceClient.fromConnectionString(h.azurite.connectionString)
      .getContainerClient('pcd-dead-letters')
      .getBlockBlobClient(held!)
      .getBlobLeaseClient();
    await lease.acquireLease(60);
    const released = new Promise<void>((resolve) => {
      setTimeout(() => {
        void lease.releaseLease().then(() => {
          resolve();
        });
      }, 1_500);
    });
    const { code, out } = await replay(['--lease-wait-seconds', '30']);
    await released;
    expect({ code, out }).toMatchObject({ code: 0 });
    expect(out).toContain(`replayed ${held!}`);
    expect(await h.blobNames('alerts/')).toEqual([]);
  });

  it('leaves a blob that is not a dead-letter document and still replays the others', async () => {
    const alerts = await outage(2, 500, ['4']);
    const container = BlobServiceClient.fromConnectionString(h.azurite.connectionString).getContainerClient(
      'pcd-dead-letters',
    );
    await container.getBlockBlobClient('alerts/0000-bogus.json').upload('not json', 8);
    const { code, out } = await replay();
    expect(code).toBe(1);
    expect(out).toMatch(/left alerts\/0000-bogus\.json/);
    expect(alerts.every((a) => h.li.countsByAlertId().has(a.AlertId))).toBe(true);
    expect(await h.blobNames('alerts/')).toEqual(['alerts/0000-bogus.json']);
  });

  it('lists dead letters without sending anything', async () => {
    await outage(2, 400, ['9']);
    const rows = h.li.rows.length;
    const { code, out } = await replay(['--list']);
    expect(code).toBe(0);
    expect(out).toMatch(/^alerts\/\S+_p9_s1-2_\S+\.json\t\d+ bytes/m);
    expect(h.li.rows.length).toBe(rows);
  });

  it('lists with the storage settings alone: no Logs Ingestion settings needed to send nothing', async () => {
    await outage(1, 500, ['7']);
    const storageOnly = Object.fromEntries(
      Object.entries(h.env).filter(([k]) => !k.startsWith('LOGS_INGESTION_')),
    );
    const io = captureIo(storageOnly);
    expect(await runReplay(['--list'], io, { ...h.overrides, retry: undefined })).toBe(0);
    expect(io.out()).toMatch(/^alerts\/\S+_p7_s1-2_\S+\.json\t\d+ bytes/m);
    const none = captureIo({});
    expect(await runReplay(['--list'], none)).toBe(2);
    expect(none.err()).toMatch(/No dead-letter store is configured/);
  });

  it('answers usage and configuration errors with exit 2', async () => {
    expect((await replay(['--bogus'])).code).toBe(2);
    expect((await replay(['--max', '0'])).code).toBe(2);
    const io = captureIo({});
    expect(await runReplay([], io)).toBe(2);
    expect(io.err()).toMatch(/LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are required/);
    const help = await replay(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: packet-capture-detector replay-dead-letters/);
  });
});
