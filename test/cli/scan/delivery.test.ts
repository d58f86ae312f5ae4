import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { AlertRow } from '../../../src/alert/columns';
import type { CliIo } from '../../../src/cli/io';
import { runScan } from '../../../src/cli/scan';
import { detectBatch } from '../../../src/pipeline/detectBatch';
import { AZURITE_ACCOUNT_KEY } from '../../support/azurite';
import { startHarness, type Harness } from '../../support/deliveryHarness';

/**
 * `scan` delivering to Logs Ingestion (the real client against the local HTTPS fake, dead letters in
 * Azurite, the managed-identity endpoint): one delivery budget for the whole run, honest exit statuses.
 */
const samples = join(__dirname, '../../../samples');
const FILES = 20;

function capture(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

const alertsOf = (jsonl: string) =>
  jsonl
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AlertRow);

describe('scan delivering to Logs Ingestion', () => {
  let h: Harness;
  let dir: string;
  let expectedIds: string[];

  beforeAll(async () => {
    h = await startHarness({ li: { retryAfterSeconds: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'pcd-scan-li-'));
    const body = JSON.parse(readFileSync(join(samples, 'capture-operations.eventhub.json'), 'utf8')) as {
      records: Record<string, unknown>[];
    };
    const alerting = body.records.filter(
      (r) => detectBatch([JSON.stringify(r)], () => ({})).alerts.length === 1,
    );
    // 20 files, each with one capture of its own (its own correlation id), among benign records.
    for (let i = 0; i < FILES; i++) {
      const record = {
        ...alerting[i % alerting.length],
        correlationId: `aaaaaaaa-0000-0000-0000-${String(i).padStart(12, '0')}`,
      };
      const noise = body.records.filter((r) => !alerting.includes(r));
      writeFileSync(
        join(dir, `PT1H-${String(i).padStart(2, '0')}.json`),
        [...noise, record].map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
    }
    expectedIds = alertsOf((await scan([dir], {})).stdout)
      .map((a) => a.AlertId)
      .sort();
    expect(expectedIds).toHaveLength(FILES);
  }, 60_000);

  afterAll(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    h.li.setDown(false);
    h.li.setFaults(undefined);
    await h.clearDeadLetters();
  });

  async function scan(args: string[], env: NodeJS.ProcessEnv | undefined) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = capture(stdout);
    const err = capture(stderr);
    const io: CliIo = { stdout, stderr, stdin: Readable.from(['']), env: env ?? h.env };
    // Production retry timings (1 s doubling, 30 s per attempt): only the budget is shortened, by setting.
    const code = await runScan(args, io, { deliveryOverrides: { ...h.overrides, retry: undefined } });
    return { code, stdout: out(), stderr: err() };
  }

  it('delivers every alert once and exits 0', async () => {
    const rowsBefore = h.li.rows.length;
    const { code, stdout, stderr } = await scan([dir], h.env);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(
      h.li.rows
        .slice(rowsBefore)
        .map((r) => String(r.AlertId))
        .sort(),
    ).toEqual(expectedIds);
    expect(stderr).toMatch(
      /; 20 alerts, 0 malformed, 0 unreadable; delivered 20 to logs-ingestion, dead-lettered 0\n$/,
    );
  });

  it('with the endpoint down, spends one 10 s budget for the whole run, dead-letters the rest at once, exits 4', async () => {
    h.li.setDown(true);
    const env = { ...h.env, DELIVERY_TIME_BUDGET_SECONDS: '10' };
    for (const concurrency of ['4', '1']) {
      await h.clearDeadLetters();
      const requestsBefore = h.li.requests.length;
      const started = Date.now();
      const { code, stderr } = await scan(['--concurrency', concurrency, dir], env);
      const seconds = (Date.now() - started) / 1000;
      expect(code).toBe(4);
      expect(seconds).toBeLessThan(20);
      expect((await h.deadLetteredIds()).sort()).toEqual(expectedIds);
      expect(stderr).toMatch(/delivered 0 to logs-ingestion, dead-lettered 20/);
      expect(stderr).toMatch(
        /scan: 20 alerts were not delivered and dead-lettered to .*pcd-dead-letters.*Once Logs Ingestion accepts them, replay with the same settings: packet-capture-detector replay-dead-letters/,
      );
      // Each file did not get a budget of its own: far fewer calls than 20 files × their retries.
      expect(h.li.requests.length - requestsBefore).toBeLessThan(FILES * 3);
      if (concurrency === '1') {
        // One file at a time: the first spends the budget (its retries give up when the next would not fit),
        // every later one is dead-lettered unattempted, even with a second or two of the budget left.
        const reasons = (await h.alertDeadLetters()).map((d) => d.doc.reason);
        const unattempted = reasons.filter((r) =>
          r.startsWith(
            "not attempted: Logs Ingestion has been failing for the run's whole delivery budget (10 s",
          ),
        );
        expect(unattempted.length).toBe(FILES - 1);
        expect(h.li.requests.length - requestsBefore).toBeLessThanOrEqual(10);
      }
    }
  }, 60_000);

  it('with --wait-for-delivery, waits out an outage instead of dead-lettering', async () => {
    h.li.setDown(true);
    const back = setTimeout(() => {
      h.li.setDown(false);
    }, 3_000);
    const rowsBefore = h.li.rows.length;
    const { code, stderr } = await scan(['--wait-for-delivery', dir], {
      ...h.env,
      DELIVERY_TIME_BUDGET_SECONDS: '1',
    });
    clearTimeout(back);
    expect(code).toBe(0);
    expect(await h.deadLetteredIds()).toEqual([]);
    expect([...new Set(h.li.rows.slice(rowsBefore).map((r) => String(r.AlertId)))].sort()).toEqual(
      expectedIds,
    );
    expect(stderr).toMatch(/scan: Logs Ingestion failing, retrying/);
    expect(stderr).toMatch(/delivered 20 to logs-ingestion, dead-lettered 0/);
  }, 30_000);

  it('when the dead-letter store fails too, prints the alerts rather than lose them, counts everything, exits 3', async () => {
    h.li.setDown(true);
    const env = {
      ...h.env,
      DELIVERY_TIME_BUDGET_SECONDS: '1',
      AzureWebJobsStorage: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;`,
    };
    const { code, stdout, stderr } = await scan([dir], env);
    expect(code).toBe(3);
    expect(
      alertsOf(stdout)
        .map((a) => a.AlertId)
        .sort(),
    ).toEqual(expectedIds);
    expect(stderr).toMatch(
      /scanned 20 files, .*: \d+ records decoded, .*; 20 alerts, 0 malformed, 0 unreadable; delivered 0 to logs-ingestion, dead-lettered 0, 20 neither/,
    );
    expect(stderr).toMatch(
      /scan: 20 alerts could be neither delivered nor dead-lettered: written to standard output/,
    );
  }, 60_000);
});
