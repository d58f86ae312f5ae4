/**
 * `scan` measured as a user runs it, whole processes against whole processes, in a small process of its
 * own (spawned by run.ts, so the parent's large heap does not slow the spawns):
 *
 * 1. Process-level speed: `packet-capture-detector scan <dir>` against a process that merely reads and
 *    `JSON.parse`s every file (parseAllProcess.ts), on the same 1,000 realistic bodies written as files,
 *    in alternating rounds; medians. The alerts must equal the corpus's and those of `scan --validate`
 *    (prefilter off), or the benchmark fails.
 * 2. Bounded memory: `scan` of one large JSON Lines file (the blob archive's format; 1 GB by default) and
 *    of one a tenth of its size, peak RSS of each (bench/peakRss.ts).
 * 3. The blob source: the same 1,000 bodies uploaded to Azurite in the archive's layout
 *    (resourceId=/SUBSCRIPTIONS/<id>/y=/m=/d=/h=/m=00/PT1H.json), `scan <container URL>` against `scan` of
 *    the local copy (the alerts must be the same) and against a process that only downloads every blob
 *    (downloadAll.ts: what the storage can serve).
 *
 * `node dist/bench/scanProcess.js <repo root> <work dir> <rounds> <jsonl MB>`; prints one JSON object.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateCorpus, type Corpus } from './corpus';
import { median } from './stats';

const [root = '.', workDir = '.', roundsText = '7', jsonlMbText = '1024'] = process.argv.slice(2);
const ROUNDS = Number(roundsText);
const JSONL_MB = Number(jsonlMbText);
const SEED = 20251222;
const MATCH_EVERY = 500;
const BIN = join(root, 'bin/packet-capture-detector.js');
const PEAK = join(__dirname, 'peakRss.js');
const PARSE_ALL = join(__dirname, 'parseAllProcess.js');

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME });

interface Run {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly peakRss?: number;
}

function run(args: string[], env: NodeJS.ProcessEnv = baseEnv(), expectStatus = 0): Run {
  const peakFile = join(workDir, `peak-${process.pid}.txt`);
  rmSync(peakFile, { force: true });
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    env: { ...env, PEAK_RSS_FILE: peakFile },
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== expectStatus) {
    throw new Error(`node ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.slice(-2000)}`);
  }
  let peakRss: number | undefined;
  try {
    peakRss = Number(readFileSync(peakFile, 'utf8'));
  } catch {
    peakRss = undefined;
  }
  return { ms, stdout: r.stdout, stderr: r.stderr, ...(peakRss === undefined ? {} : { peakRss }) };
}

const alertIds = (jsonl: string): string[] =>
  jsonl
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { AlertId: string }).AlertId)
    .sort();

const sameIds = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((id, i) => id === b[i]);

function realisticCorpus(bodies: number, seed: number): Corpus {
  return generateCorpus({
    bodies,
    recordsPerBody: 200,
    matchEvery: MATCH_EVERY,
    nearMissEvery: 250,
    foldingNames: true,
    seed,
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The .NET exporter's escaping (as in corpus.ts), for records written one per line. */
const dotnet = (json: string) => json.replace(/'/g, '\\u0027').replace(/&/g, '\\u0026');

function processLevel(dir: string, corpus: Corpus) {
  const parseMs: number[] = [];
  const scanMs: number[] = [];
  const parseOnce = () => {
    const r = run([PARSE_ALL, dir]);
    if (Number(r.stdout.trim()) !== corpus.records) throw new Error('parse-all: record count differs');
    parseMs.push(r.ms);
  };
  let scanIds: string[] = [];
  const scanOnce = () => {
    const r = run([BIN, 'scan', '--format', 'jsonl', dir]);
    scanIds = alertIds(r.stdout);
    scanMs.push(r.ms);
  };
  // Warm-up (page cache, code cache), then rounds alternating which goes first.
  run([PARSE_ALL, dir]);
  run([BIN, 'scan', dir]);
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      parseOnce();
      scanOnce();
    } else {
      scanOnce();
      parseOnce();
    }
    process.stderr.write('p');
  }
  const validated = alertIds(run([BIN, 'scan', '--validate', '--format', 'jsonl', dir]).stdout);
  if (scanIds.length !== corpus.expectedAlerts || !sameIds(scanIds, validated)) {
    throw new Error(
      `scan found ${scanIds.length} alerts, scan --validate ${validated.length}, the corpus holds ${corpus.expectedAlerts}`,
    );
  }
  const parse = median(parseMs);
  const scan = median(scanMs);
  return {
    files: corpus.bodies.length,
    bytes: corpus.bytes,
    records: corpus.records,
    alerts: scanIds.length,
    alertsIdenticalToValidate: true,
    parseMs: parse,
    scanMs: scan,
    parseRuns: parseMs,
    scanRuns: scanMs,
    ratio: parse / scan,
  };
}

/** A JSON Lines file of about `mb` MB of realistic records (the corpus's, one per line). */
function writeJsonl(path: string, mb: number): { bytes: number; records: number; alerts: number } {
  const fd = openSync(path, 'w');
  let bytes = 0;
  let records = 0;
  let alerts = 0;
  try {
    for (let seed = SEED + 1; bytes < mb * 1e6; seed++) {
      const corpus = realisticCorpus(MATCH_EVERY, seed);
      for (const [b, body] of corpus.bodies.entries()) {
        // generateCorpus puts the capture of each run of MATCH_EVERY bodies in its middle one.
        if (b % MATCH_EVERY === Math.floor(MATCH_EVERY / 2)) alerts++;
        const recs = (JSON.parse(body.toString('utf8')) as { records: unknown[] }).records;
        const text = `${recs.map((r) => dotnet(JSON.stringify(r))).join('\n')}\n`;
        writeSync(fd, text);
        bytes += Buffer.byteLength(text);
        records += recs.length;
        if (bytes >= mb * 1e6) break;
      }
      gc();
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, records, alerts };
}

function jsonlMemory(mb: number) {
  const results = [];
  for (const size of [Math.max(1, Math.round(mb / 10)), mb]) {
    const file = join(workDir, `PT1H-${size}MB.json`);
    const written = writeJsonl(file, size);
    const r = run(['-r', PEAK, BIN, 'scan', '--format', 'jsonl', file]);
    const found = alertIds(r.stdout).length;
    rmSync(file);
    process.stderr.write('m');
    results.push({
      bytes: written.bytes,
      records: written.records,
      expectedAlerts: written.alerts,
      alerts: found,
      ms: r.ms,
      mbPerS: written.bytes / 1e6 / (r.ms / 1000),
      peakRss: r.peakRss ?? Number.NaN,
    });
  }
  const idle = run(['-r', PEAK, BIN, 'scan', '--version']);
  return { runs: results, idleRss: idle.peakRss ?? Number.NaN };
}

interface Azurite {
  readonly url: string;
  stop(): void;
}

async function startAzurite(): Promise<Azurite> {
  const main = join(
    dirname(require.resolve('azurite/package.json', { paths: [root] })),
    'dist/src/blob/main.js',
  );
  const dir = join(workDir, 'azurite');
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      '--inMemoryPersistence',
      '--extentMemoryLimit',
      '2048',
      '--loose',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => {
      reject(new Error(`Azurite exited: ${output}`));
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  return { url, stop: () => child.kill('SIGKILL') };
}

const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The archive's blob name for the nth hour after 2025-12-01T00. */
function hourBlob(n: number): string {
  const t = new Date(Date.UTC(2025, 11, 1) + n * 3_600_000);
  const p = (v: number) => String(v).padStart(2, '0');
  return `resourceId=/SUBSCRIPTIONS/7F3C2A10-5B7E-4C1D-9A0E-2F6B8D4C1E35/y=${t.getUTCFullYear()}/m=${p(t.getUTCMonth() + 1)}/d=${p(t.getUTCDate())}/h=${p(t.getUTCHours())}/m=00/PT1H.json`;
}

async function blobSource(corpus: Corpus) {
  const azurite = await startAzurite();
  try {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const cs = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${azurite.url}/${ACCOUNT};`;
    const container = BlobServiceClient.fromConnectionString(cs).getContainerClient('insights-activity-logs');
    await container.create();
    const archiveDir = join(workDir, 'archive');
    for (let i = 0; i < corpus.bodies.length; i += 16) {
      await Promise.all(
        corpus.bodies.slice(i, i + 16).map(async (body, k) => {
          const name = hourBlob(i + k);
          await container.getBlockBlobClient(name).upload(body, body.length);
          const local = join(archiveDir, 'insights-activity-logs', name);
          mkdirSync(dirname(local), { recursive: true });
          writeFileSync(local, body);
        }),
      );
    }
    const env = { ...baseEnv(), AZURE_STORAGE_CONNECTION_STRING: cs };
    const url = `${azurite.url}/${ACCOUNT}/insights-activity-logs`;
    const blobMs: number[] = [];
    const localMs: number[] = [];
    const downloadMs: number[] = [];
    let blobIds: string[] = [];
    let localIds: string[] = [];
    run([BIN, 'scan', url], env);
    for (let round = 0; round < Math.max(3, Math.ceil(ROUNDS / 2)); round++) {
      const b = run([BIN, 'scan', '--format', 'jsonl', url], env);
      const l = run([BIN, 'scan', '--format', 'jsonl', archiveDir], env);
      const d = run([join(__dirname, 'downloadAll.js'), 'insights-activity-logs'], env);
      if (Number(d.stdout.trim()) !== corpus.bytes) throw new Error('download-only: byte count differs');
      blobMs.push(b.ms);
      localMs.push(l.ms);
      downloadMs.push(d.ms);
      blobIds = alertIds(b.stdout);
      localIds = alertIds(l.stdout);
      process.stderr.write('b');
    }
    if (!sameIds(blobIds, localIds) || blobIds.length !== corpus.expectedAlerts) {
      throw new Error(`blob source: ${blobIds.length} alerts, local copy ${localIds.length}`);
    }
    const blob = median(blobMs);
    const local = median(localMs);
    const download = median(downloadMs);
    return {
      blobs: corpus.bodies.length,
      bytes: corpus.bytes,
      alerts: blobIds.length,
      blobMs: blob,
      localMs: local,
      blobMbPerS: corpus.bytes / 1e6 / (blob / 1000),
      localMbPerS: corpus.bytes / 1e6 / (local / 1000),
      downloadMs: download,
      downloadMbPerS: corpus.bytes / 1e6 / (download / 1000),
    };
  } finally {
    azurite.stop();
  }
}

async function main(): Promise<void> {
  mkdirSync(workDir, { recursive: true });
  const dir = join(workDir, 'bodies');
  mkdirSync(dir, { recursive: true });
  let corpus: Corpus | undefined = realisticCorpus(1000, SEED);
  corpus.bodies.forEach((body, i) => {
    writeFileSync(join(dir, `body-${String(i).padStart(5, '0')}.json`), body);
  });
  const level = processLevel(dir, corpus);
  const blob = await blobSource(corpus);
  corpus = undefined;
  gc();
  const memory = jsonlMemory(JSONL_MB);
  process.stdout.write(`${JSON.stringify({ processLevel: level, memory, blob })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
