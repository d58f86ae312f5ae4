import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { runScan } from '../../src/cli/scan';
import type { AlertRow } from '../../src/alert/columns';
import { displayWidth } from '../../src/cli/scan/table';

const samples = join(__dirname, '../../samples');
const seedFile = join(samples, 'seed-tests.eventhub.json');
const archiveFile = join(
  samples,
  'archive/insights-activity-logs/resourceId=/SUBSCRIPTIONS/7F3C2A10-5B7E-4C1D-9A0E-2F6B8D4C1E35/y=2025/m=12/d=22/h=11/m=00/PT1H.json',
);

function capture(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

interface RunOptions {
  stdin?: string | Buffer;
  tty?: boolean;
  columns?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

async function run(args: string[], opts: RunOptions = {}) {
  const stdout = Object.assign(new PassThrough(), {
    isTTY: opts.tty ?? false,
    ...(opts.columns === undefined ? {} : { columns: opts.columns }),
  });
  const stderr = new PassThrough();
  const out = capture(stdout);
  const err = capture(stderr);
  const io: CliIo = { stdout, stderr, stdin: Readable.from([opts.stdin ?? '']), env: opts.env ?? {} };
  const code =
    args[0] === 'scan' && opts.signal
      ? await runScan(args.slice(1), io, { signal: opts.signal })
      : await main(args, io);
  return { code, stdout: out(), stderr: err() };
}

const alertsOf = (jsonl: string) =>
  jsonl
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AlertRow);

const ids = (jsonl: string) =>
  alertsOf(jsonl)
    .map((a) => a.AlertId)
    .sort();

const seedRecords = () =>
  (JSON.parse(readFileSync(seedFile, 'utf8')) as { records: Record<string, unknown>[] }).records;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcd-scan-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('packet-capture-detector scan', () => {
  it('prints one alert per capture-starting success in samples/, as JSON Lines, and a one-line summary', async () => {
    const { code, stdout, stderr } = await run(['scan', '--format', 'jsonl', samples]);
    expect(code).toBe(0);
    const alerts = alertsOf(stdout);
    // seed: 3; one per documented operation: 8; archive (JSON Lines): 1; AzureActivity rows: 1.
    expect(alerts).toHaveLength(13);
    expect(new Set(alerts.map((a) => a.AlertId)).size).toBe(13);
    expect(alerts.filter((a) => a.SourceFormat === 'AzureActivity')).toHaveLength(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(
      /^scanned 5 files, [\d.]+ KB in [\d.]+ s \([^)]*\): 69 records decoded, 0 of 5 parts skipped by the prefilter; 13 alerts, 0 malformed, 0 unreadable\n$/,
    );
  });

  it('still prints the good alerts around malformed lines, and exits 1', async () => {
    const records = seedRecords();
    const lines = [
      JSON.stringify(records[0]),
      '{"time": "2025-12-22T10:30:00Z", "operationName": ',
      'null',
      JSON.stringify(records[2]),
    ];
    const file = join(dir, 'PT1H.json');
    writeFileSync(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = await run(['scan', file]);
    expect(code).toBe(1);
    expect(alertsOf(stdout)).toHaveLength(2);
    expect(stderr).toContain(`malformed ${file}:2: MESSAGE_NOT_JSON`);
    expect(stderr).toContain(`malformed ${file}:3: BODY_UNRECOGNIZED`);
    expect(stderr).toMatch(/2 alerts, 2 malformed, 0 unreadable/);
  });

  it('reports damage inside a benign file only with --validate', async () => {
    const file = join(dir, 'benign.json');
    writeFileSync(
      file,
      '{"records":[{"operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/READ","resultType":"Success"}, 42]}',
    );
    expect((await run(['scan', file])).code).toBe(0);
    const validated = await run(['scan', '--validate', file]);
    expect(validated.code).toBe(1);
    expect(validated.stderr).toContain('RECORD_NOT_OBJECT');
  });

  it('reads standard input once, even when "-" is given twice', async () => {
    const { code, stdout, stderr } = await run(['scan', '-', '-'], { stdin: readFileSync(seedFile, 'utf8') });
    expect(code).toBe(0);
    expect(alertsOf(stdout)).toHaveLength(3);
    expect(stderr).toMatch(/^scanned 1 file, /);
  });

  it('prints the same alert once per run, however many files hold it', async () => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'one.json'), readFileSync(seedFile));
    writeFileSync(join(dir, 'b', 'copy.json'), readFileSync(seedFile));
    const { code, stdout, stderr } = await run(['scan', dir]);
    expect(code).toBe(0);
    expect(alertsOf(stdout)).toHaveLength(3);
    expect(stderr).toMatch(/3 alerts \(3 more copies of them ignored\)/);
  });

  it("joins an operation's records across files, whatever their order, and prints the alert once, complete", async () => {
    const nw = (
      JSON.parse(
        readFileSync(
          join(__dirname, '../fixtures/activity-log/export/network-watcher-vm.eventhub.json'),
          'utf8',
        ),
      ) as { records: Record<string, unknown>[] }
    ).records;
    // The success first in name order (and in a file of its own), its Start and Accept in later files.
    writeFileSync(join(dir, 'a-success.json'), JSON.stringify({ records: [nw[2]] }));
    writeFileSync(join(dir, 'b-accept.json'), JSON.stringify({ records: [nw[1]] }));
    writeFileSync(join(dir, 'c-start.json'), JSON.stringify({ records: [nw[0]] }));
    for (const concurrency of ['1', '4']) {
      const { code, stdout } = await run(['scan', '--concurrency', concurrency, dir]);
      expect(code).toBe(0);
      const alerts = alertsOf(stdout);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ OperationRecords: 'Start, Accept, Success', AlertRevision: 3 });
      expect(alerts[0]!.CaptureStorage).toMatch(/storageAccounts\/stdiagweu01$/);
    }
  });

  it('reads .json.gz (and gzip whatever the name), and UTF-16 files with a byte order mark', async () => {
    writeFileSync(join(dir, 'seed.json.gz'), gzipSync(readFileSync(seedFile)));
    writeFileSync(join(dir, 'archive.jsonl.gz'), gzipSync(gzipSync(readFileSync(archiveFile))));
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(readFileSync(join(samples, 'azure-activity-table.json'), 'utf8'), 'utf16le'),
    ]);
    writeFileSync(join(dir, 'powershell.json'), utf16);
    const { code, stdout, stderr } = await run(['scan', dir]);
    expect(stderr).toMatch(/^scanned 3 files/);
    expect(code).toBe(0);
    const expected = ids(
      (await run(['scan', seedFile, archiveFile, join(samples, 'azure-activity-table.json')])).stdout,
    );
    expect(ids(stdout)).toEqual(expected);
    expect(expected).toHaveLength(5);
  });

  it('follows symbolic links, reports a link cycle and a dangling link, and scans the rest (exit 1)', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'seed.json'), readFileSync(seedFile));
    const links = join(dir, 'links');
    mkdirSync(links);
    symlinkSync(join(real, 'seed.json'), join(links, 'seed-link.json'));
    symlinkSync(archiveFile, join(links, 'PT1H.json'));
    symlinkSync(real, join(links, 'real-dir'));
    symlinkSync(links, join(links, 'loop'));
    symlinkSync(join(dir, 'nowhere.json'), join(links, 'dangling.json'));
    const { code, stdout, stderr } = await run(['scan', links]);
    expect(code).toBe(1);
    expect(ids(stdout)).toHaveLength(4);
    expect(stderr).toContain(`cannot read ${join(links, 'dangling.json')}: ENOENT`);
    expect(stderr).toMatch(/not following .*loop: it links back to .*links, which is being read \(a cycle\)/);
    // The same file reached through a link and through its folder is read once.
    expect(stderr).toMatch(/skipping .*seed-link\.json: the same as .*real-dir\/seed\.json, already read/);
    expect(stderr).toMatch(/scanned 2 files, .* 4 alerts, 0 malformed, 1 unreadable/);
  });

  it('reports a path it cannot read and scans the others (exit 1); no input at all is an error (exit 2)', async () => {
    const some = await run(['scan', join(dir, 'missing'), seedFile]);
    expect(some.code).toBe(1);
    expect(alertsOf(some.stdout)).toHaveLength(3);
    expect(some.stderr).toContain(`cannot read ${join(dir, 'missing')}: ENOENT`);
    expect(some.stderr).toMatch(/3 alerts, 0 malformed, 1 unreadable/);

    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty', 'notes.txt'), 'not an export');
    const none = await run(['scan', join(dir, 'empty')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^scan: no input found in .*empty \(directories are searched for \*\.json, \*\.jsonl, \*\.ndjson, and the same with \.gz/,
    );
  });

  it('reads a file it cannot open as unreadable, not as malformed', async () => {
    const file = join(dir, 'locked.json');
    writeFileSync(file, readFileSync(seedFile));
    chmodSync(file, 0o000);
    const isRoot = process.getuid?.() === 0;
    const { code, stderr } = await run(['scan', file, archiveFile]);
    chmodSync(file, 0o600);
    if (isRoot) {
      // Root reads it anyway; test/cli/scan/process.test.ts runs this case as an unprivileged user.
      expect(code).toBe(0);
      return;
    }
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot read ${file}: EACCES`);
    expect(stderr).toMatch(/0 malformed, 1 unreadable/);
  });

  it('streams a large JSON Lines file in parts and gives the alerts and line numbers of reading it whole', async () => {
    const records = seedRecords();
    const filler = JSON.stringify({
      ...records[0],
      operationName: 'MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE',
      properties: { pad: 'x'.repeat(900) },
    });
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) lines.push(filler);
    lines[1_500] = JSON.stringify(records[0]);
    lines[6_001] = '{"broken": ';
    lines[11_998] = JSON.stringify(records[2]);
    const file = join(dir, 'PT1H.json');
    writeFileSync(file, lines.join('\n') + '\n');
    expect(readFileSync(file).length).toBeGreaterThan(8 << 20); // beyond what is read whole
    const expected = [String(records[0]?.operationName), String(records[2]?.operationName)];
    // The broken line sits in a part with no capture operation: skipped unparsed by the prefilter.
    const fast = await run(['scan', file]);
    expect(fast.code).toBe(0);
    expect(alertsOf(fast.stdout).map((a) => a.OperationName)).toEqual(expected);
    expect(fast.stderr).toMatch(/ of \d+ parts skipped by the prefilter/);
    const { code, stdout, stderr } = await run(['scan', '--validate', file]);
    expect(code).toBe(1);
    expect(alertsOf(stdout).map((a) => a.OperationName)).toEqual(expected);
    expect(stderr).toContain(`malformed ${file}:6002: MESSAGE_NOT_JSON`);
    expect(stderr).toMatch(
      /11,999 records decoded, 0 of \d+ parts skipped by the prefilter; 2 alerts, 1 malformed/,
    );
  });

  it('streams a large pretty-printed {"records":[...]} document record by record', async () => {
    const records = seedRecords();
    const filler = {
      ...records[0],
      operationName: 'MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE',
      properties: { pad: 'y'.repeat(900) },
    };
    const body = { records: [...Array.from({ length: 9_000 }, () => filler), ...records] };
    const file = join(dir, 'export.json');
    writeFileSync(file, JSON.stringify(body, null, 2));
    expect(readFileSync(file).length).toBeGreaterThan(8 << 20);
    const { code, stdout } = await run(['scan', file]);
    expect(code).toBe(0);
    expect(ids(stdout)).toEqual(ids((await run(['scan', seedFile])).stdout));
  });

  it('selects the archive hours by path with --since/--until, for a local copy too', async () => {
    const hour = (h: number) => join(dir, `y=2025/m=12/d=22/h=${String(h).padStart(2, '0')}/m=00/PT1H.json`);
    const records = seedRecords();
    for (const [h, record] of [
      [9, records[0]],
      [10, records[1]],
      [11, records[2]],
    ] as const) {
      mkdirSync(join(hour(h), '..'), { recursive: true });
      writeFileSync(hour(h), `${JSON.stringify(record)}\n`);
    }
    writeFileSync(join(dir, 'undated.json'), `${JSON.stringify(records[0])}\n`);
    const all = await run(['scan', dir]);
    expect(alertsOf(all.stdout)).toHaveLength(3);
    const later = await run(['scan', '--since', '2025-12-22T10:30Z', dir]);
    expect(later.code).toBe(0);
    expect(alertsOf(later.stdout).map((a) => a.OperationName)).toEqual([
      String(records[1]?.operationName),
      String(records[2]?.operationName),
    ]);
    expect(later.stderr).toMatch(
      /scanned 2 files.*; 2 files or folders outside hours from 2025-12-22T10:30Z on not read/,
    );
    const window = await run(['scan', '--since', '2025-12-22T10:00Z', '--until', '2025-12-22T11:00Z', dir]);
    expect(alertsOf(window.stdout)).toHaveLength(1);
    const none = await run(['scan', '--since', '2026-01-01', dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no input found in hours from 2026-01-01T00:00Z on/);
    expect((await run(['scan', '--since', 'yesterday', dir])).stderr).toMatch(
      /--since must be a date or time/,
    );
  });

  it('--resume skips what an earlier run finished and still prints the whole backfill', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    mkdirSync(first);
    mkdirSync(second);
    writeFileSync(join(first, 'seed.json'), readFileSync(seedFile));
    writeFileSync(join(second, 'PT1H.json'), readFileSync(archiveFile));
    const state = join(dir, 'state.jsonl');
    const earlier = await run(['scan', '--resume', state, first]);
    expect(earlier.code).toBe(0);
    expect(alertsOf(earlier.stdout)).toHaveLength(3);
    const resumed = await run(['scan', '--resume', state, first, second]);
    expect(resumed.code).toBe(0);
    expect(ids(resumed.stdout)).toEqual(ids((await run(['scan', first, second])).stdout));
    expect(resumed.stderr).toMatch(
      /scanned 1 file, .*4 alerts \(3 found by the earlier run\).*; 1 file finished by an earlier run skipped/,
    );
    // A file that changed since is read again.
    writeFileSync(join(first, 'seed.json'), `${readFileSync(seedFile, 'utf8')}\n`);
    const changed = await run(['scan', '--resume', state, first, second]);
    expect(changed.stderr).toMatch(/scanned 1 file, .*; 1 file finished by an earlier run skipped/);
    expect(readFileSync(state, 'utf8').split('\n')[0]).toMatch(/"kind":"packet-capture-detector scan state"/);
    writeFileSync(join(dir, 'other.txt'), 'hello\n');
    const foreign = await run(['scan', '--resume', join(dir, 'other.txt'), first]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/is not a scan state file/);
  });

  it('shows progress on a terminal (files, bytes, alerts, rate) and only the summary line otherwise', async () => {
    const body = readFileSync(seedFile);
    const slowStdin = new Readable({
      read() {
        // Half the body now, the rest after 700 ms: long enough for the progress line to be drawn.
      },
    });
    slowStdin.push(body.subarray(0, 100));
    setTimeout(() => {
      slowStdin.push(body.subarray(100));
      slowStdin.push(null);
    }, 700);
    const stdout = new PassThrough();
    const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    const err = capture(stderr);
    const out = capture(stdout);
    const code = await runScan(['--format', 'jsonl', '-', seedFile], {
      stdout,
      stderr,
      stdin: slowStdin,
      env: {},
    });
    expect(code).toBe(0);
    expect(alertsOf(out())).toHaveLength(3);
    const text = err();
    expect(text).toMatch(/\r\x1b\[Kscan [01]\/2 files · [\d.]+ [KM]?B · [03] alerts · [\d.]+ [KM]?B\/s/);
    // The progress line is cleared before the summary.
    expect(text).toMatch(/\r\x1b\[Kscanned 2 files, /);
  });

  it('stops at an abort (as at SIGINT) with exit 130 and says how to continue', async () => {
    const controller = new AbortController();
    controller.abort();
    const { code, stderr } = await run(['scan', samples], { signal: controller.signal });
    expect(code).toBe(130);
    expect(stderr).toMatch(/stopped before the end: add --resume <state file>/);
  });

  it.each([160, 100, 80, 60, 40])(
    'prints a table that fits a %i-column terminal, with operation and target',
    async (columns) => {
      const { code, stdout } = await run(['scan', samples], { tty: true, columns });
      expect(code).toBe(0);
      const lines = stdout.trimEnd().split('\n');
      expect(Math.max(...lines.map(displayWidth))).toBeLessThanOrEqual(columns);
      if (columns >= 80) {
        expect(lines[0]).toMatch(/^Time \(UTC\)\s+Kind\s+Operation\s+Target\s+Caller/);
        // The target is the captured VM, which the operation's Start record names (the lifecycle join).
        expect(stdout).toMatch(
          /2025-12-22 09:00:40 +Network\S* +PACKETCAPTURES\S* +vm-payments-\S* +mallory@/,
        );
      } else {
        // Too narrow for the columns: one short block per alert.
        expect(stdout).toContain('Operation: PACKETCAPTURES/WRITE');
        expect(stdout).toContain('Target: vm-payments-01');
      }
      if (columns >= 100) expect(stdout).toContain('2025-12-22 09:00:40  NetworkWatcher  ');
      if (columns >= 160) expect(lines[0]).toMatch(/Caller IP\s+Severity\s+Location\s+AlertId$/);
      expect(stdout).toMatch(/\n13 alerts/);
    },
  );

  it('never lets record text move the cursor: control characters print as ?', async () => {
    const record = { ...seedRecords()[0], caller: 'evil\u001b[2J\u0007@contoso.example' };
    const file = join(dir, 'evil.json');
    writeFileSync(file, JSON.stringify(record));
    const { stdout } = await run(['scan', '--format', 'table', file], { columns: 200 });
    expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(stdout).toContain('evil?[2J?@contoso.example');
  });

  it.each([
    [['scan'], /expected at least one file, directory, URL or -/],
    [['scan', '--format', 'xml', samples], /--format must be jsonl or table/],
    [['scan', '/definitely/not/here'], /cannot read \/definitely\/not\/here[\s\S]*no input found/],
    [['scan', '--bogus', samples], /Unknown option/],
    [['scan', '--concurrency', '0', samples], /--concurrency must be a whole number of at least 1/],
    [
      ['scan', '--since', '2025-12-23', '--until', '2025-12-22', samples],
      /--until \(2025-12-22\) must be later than --since/,
    ],
    [['scan', 'ftp://example.com/x'], /cannot read ftp:/],
    [['scan', 'http://example.com/acct/container'], /must be read over https/],
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
    expect(stdout).toMatch(
      /Exit status: 0 all input read and every alert delivered or printed, 1 some input was malformed/,
    );
    expect(stdout).toMatch(/4 some alerts were dead-lettered/);
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
