import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import type { AlertRow } from '../../src/alert/columns';

const samples = join(__dirname, '../../samples');

function capture(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

async function run(args: string[], opts: { stdin?: string; tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.tty ?? false });
  const stderr = new PassThrough();
  const out = capture(stdout);
  const err = capture(stderr);
  const io: CliIo = { stdout, stderr, stdin: Readable.from([opts.stdin ?? '']), env: opts.env ?? {} };
  const code = await main(args, io);
  return { code, stdout: out(), stderr: err() };
}

const alertsOf = (jsonl: string) =>
  jsonl
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AlertRow);

describe('packet-capture-detector scan', () => {
  it('prints one alert per capture-starting success in samples/, as JSON Lines', async () => {
    const { code, stdout, stderr } = await run(['scan', '--format', 'jsonl', samples]);
    expect(code).toBe(0);
    const alerts = alertsOf(stdout);
    // seed: 3; one per documented operation: 8; archive (JSON Lines): 1; AzureActivity rows: 1.
    expect(alerts).toHaveLength(13);
    expect(new Set(alerts.map((a) => a.AlertId)).size).toBe(13);
    expect(alerts.filter((a) => a.SourceFormat === 'AzureActivity')).toHaveLength(1);
    expect(stderr).toMatch(
      /scanned 5 files \(0 skipped by the prefilter\): \d+ records decoded, 13 alerts, 0 malformed/,
    );
  });

  it('still prints the good alerts around malformed lines, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcd-scan-'));
    const seedBody = JSON.parse(
      (await import('node:fs')).readFileSync(join(samples, 'seed-tests.eventhub.json'), 'utf8'),
    ) as { records: unknown[] };
    const lines = [
      JSON.stringify(seedBody.records[0]),
      '{"time": "2025-12-22T10:30:00Z", "operationName": ',
      'null',
      JSON.stringify(seedBody.records[2]),
    ];
    const file = join(dir, 'PT1H.json');
    writeFileSync(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = await run(['scan', file]);
    expect(code).toBe(1);
    expect(alertsOf(stdout)).toHaveLength(2);
    expect(stderr).toContain(`malformed ${file}:2: MESSAGE_NOT_JSON`);
    expect(stderr).toContain(`malformed ${file}:3: BODY_UNRECOGNIZED`);
    expect(stderr).toMatch(/2 alerts, 2 malformed/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports damage inside a benign file only with --validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcd-scan-'));
    const file = join(dir, 'benign.json');
    writeFileSync(
      file,
      '{"records":[{"operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/READ","resultType":"Success"}, 42]}',
    );
    expect((await run(['scan', file])).code).toBe(0);
    const validated = await run(['scan', '--validate', file]);
    expect(validated.code).toBe(1);
    expect(validated.stderr).toContain('RECORD_NOT_OBJECT');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads standard input', async () => {
    const { code, stdout } = await run(['scan', '-'], {
      stdin: (await import('node:fs')).readFileSync(join(samples, 'seed-tests.eventhub.json'), 'utf8'),
    });
    expect(code).toBe(0);
    expect(alertsOf(stdout)).toHaveLength(3);
  });

  it('prints a table on a terminal', async () => {
    const { code, stdout } = await run(['scan', join(samples, 'seed-tests.eventhub.json')], { tty: true });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^EventTime\s+Severity\s+CaptureKind/);
    expect(stdout).toContain('3 alerts');
  });

  it.each([
    [['scan'], /expected at least one file/],
    [['scan', '--format', 'xml', samples], /--format must be jsonl or table/],
    [['scan', '/definitely/not/here'], /Cannot read input/],
    [['scan', '--bogus', samples], /Unknown option/],
    [['frobnicate'], /Unknown command/],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('refuses an insecure Logs Ingestion endpoint before reading input', async () => {
    const { code, stderr } = await run(['scan', samples], {
      env: {
        LOGS_INGESTION_ENDPOINT: 'http://x.example',
        LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
      },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/must use https/);
  });

  it('documents itself', async () => {
    const { code, stdout } = await run(['scan', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Exit status: 0 all input read, 1 some input was malformed/);
  });
});

describe('packet-capture-detector scan with Logs Ingestion settings', () => {
  it('refuses to deliver without a dead-letter store, with a usage error', async () => {
    const { code, stderr } = await run(['scan', samples], {
      env: {
        LOGS_INGESTION_ENDPOINT: 'https://dcr.example.ingest.monitor.azure.com',
        LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
      },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/dead-letter store/);
  });
});
