/**
 * `npm run bench`: the detector's throughput against `JSON.parse` of the same bytes, its peak memory per
 * trigger batch, the function entry's cold start, the time redaction takes on adversarial text, and `scan`
 * as whole processes (against a parse-all process, on a 1 GB JSON Lines file, from Azurite:
 * bench/scanProcess.ts). Timing is not a test (CI runs none of this); the
 * figures and how they were taken are in BENCHMARKS.md.
 *
 * Environment: BENCH_BODIES (bodies per scenario, default 2000), BENCH_ROUNDS (timed rounds, default 7),
 * BENCH_MEMORY_RUNS (fresh processes per memory figure, default 3), BENCH_COLD_RUNS (default 15),
 * BENCH_SCAN_ROUNDS (alternating process runs of the scan comparison, default 7), BENCH_JSONL_MB (size of the
 * large JSON Lines file scanned for memory, default 1024), BENCH_JSON (write the results there as JSON too).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { prefilterFor, type PrefilterVerdict } from '../src/detect/prefilter';
import { RULES } from '../src/detect/registry';
import type { BatchOutcome } from '../src/pipeline/ports';
import type { ColdStart } from './coldstart';
import { generateCorpus, type CorpusOptions } from './corpus';
import {
  BENCH_CONTEXT,
  benchHealth,
  CountingStateStore,
  MemorySink,
  parseAll,
  runHandler,
  triggerBatches,
} from './harness';
import { measureRedaction, type RedactionResult } from './redaction';
import { fmt, median, table } from './stats';

const int = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const BODIES = int('BENCH_BODIES', 2000);
const ROUNDS = int('BENCH_ROUNDS', 7);
const MEMORY_RUNS = int('BENCH_MEMORY_RUNS', 3);
const COLD_RUNS = int('BENCH_COLD_RUNS', 15);
const SCAN_ROUNDS = int('BENCH_SCAN_ROUNDS', 7);
const JSONL_MB = int('BENCH_JSONL_MB', 1024);
const BATCH = 1000;
const RECORDS_PER_BODY = 200;
const SEED = 20251222;

interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly options: Omit<CorpusOptions, 'bodies' | 'recordsPerBody' | 'seed'>;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'realistic',
    description:
      '1 body in 500 holds a capture-starting success, 1 in 250 a capture-related non-start (read, stop)',
    options: { matchEvery: 500, nearMissEvery: 250, foldingNames: true },
  },
  {
    name: 'all matching',
    description: 'every body holds a capture-starting success (worst case: every body is parsed)',
    options: { matchEvery: 1, nearMissEvery: 0, foldingNames: true },
  },
  {
    name: 'none matching',
    description: 'no body holds anything capture-related (best case)',
    options: { matchEvery: 0, nearMissEvery: 0, foldingNames: true },
  },
];

interface PathFigures {
  readonly ms: number;
  readonly mbPerS: number;
  readonly recordsPerS: number;
  readonly nsPerRecord: number;
  /** Median peak RSS above the process before the batch, per byte of the batch (own bytes included). */
  readonly heldPerByte: number;
  readonly overheadMb: number;
}

interface ScenarioResult {
  readonly scenario: Scenario;
  readonly bodies: number;
  readonly bytes: number;
  readonly records: number;
  readonly expectedAlerts: number;
  readonly verdicts: Partial<Record<PrefilterVerdict, number>>;
  readonly counts: {
    parsedRecords: number;
    prefiltered: number;
    alerts: number;
    malformed: number;
    /** Updates of the lifecycle join's state store in one pass over the corpus. */
    stateUpdates: number;
  };
  readonly parse: PathFigures;
  readonly handler: PathFigures;
  /** The handler with health rows (the Function's and consume's path): time only. */
  readonly handlerHealthMs: number;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (npm run bench does)');
  collect();
}

function timeMs(fn: () => void): number {
  gc();
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function timeMsAsync(fn: () => Promise<void>): Promise<number> {
  gc();
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function writeCorpusFile(path: string, bodies: readonly Buffer[]): void {
  const head = Buffer.alloc(4 + 4 * bodies.length);
  head.writeUInt32LE(bodies.length, 0);
  bodies.forEach((b, i) => head.writeUInt32LE(b.length, 4 + 4 * i));
  writeFileSync(path, Buffer.concat([head, ...bodies]));
}

interface MemoryRun {
  batchBytes: number;
  rssEmpty: number;
  rssLoaded: number;
  rssPeak: number;
}

function memoryRun(file: string, mode: 'parse' | 'handler'): MemoryRun {
  const r = spawnSync(process.execPath, ['--expose-gc', join(__dirname, 'memory.js'), file, mode], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`memory run (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as MemoryRun;
}

function figures(ms: number, bytes: number, records: number, memory: MemoryRun[]): PathFigures {
  const held = median(memory.map((m) => (m.rssPeak - m.rssEmpty) / m.batchBytes));
  const overhead = median(memory.map((m) => m.rssPeak - m.rssLoaded));
  return {
    ms,
    mbPerS: bytes / 1e6 / (ms / 1000),
    recordsPerS: records / (ms / 1000),
    nsPerRecord: (ms * 1e6) / records,
    heldPerByte: held,
    overheadMb: overhead / 1e6,
  };
}

async function runScenario(scenario: Scenario, workDir: string): Promise<ScenarioResult> {
  const corpus = generateCorpus({
    ...scenario.options,
    bodies: BODIES,
    recordsPerBody: RECORDS_PER_BODY,
    seed: SEED,
  });
  const prefilter = prefilterFor(RULES, BENCH_CONTEXT);
  const verdicts: Partial<Record<PrefilterVerdict, number>> = {};
  for (const body of corpus.bodies) {
    const v = prefilter.classify(body);
    verdicts[v] = (verdicts[v] ?? 0) + 1;
  }
  const batches = triggerBatches(corpus.bodies, BATCH);

  let outcomes: BatchOutcome[] = [];
  let stateUpdates = 0;
  const handlerOnce = async (withHealth = false) => {
    const sink = new MemorySink();
    const store = new CountingStateStore();
    outcomes = await runHandler(batches, sink, store, withHealth ? benchHealth() : undefined);
    stateUpdates = store.updates;
    if (sink.alerts !== corpus.expectedAlerts) {
      throw new Error(`${scenario.name}: ${sink.alerts} alerts, expected ${corpus.expectedAlerts}`);
    }
  };
  const parseOnce = () => {
    if (parseAll(corpus.bodies) !== corpus.records) throw new Error(`${scenario.name}: record count differs`);
  };

  // Warm-up, then rounds alternating which path goes first.
  parseOnce();
  await handlerOnce();
  await handlerOnce(true);
  const parseMs: number[] = [];
  const handlerMs: number[] = [];
  const handlerHealthMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      parseMs.push(timeMs(parseOnce));
      handlerMs.push(await timeMsAsync(handlerOnce));
      handlerHealthMs.push(await timeMsAsync(() => handlerOnce(true)));
    } else {
      handlerHealthMs.push(await timeMsAsync(() => handlerOnce(true)));
      handlerMs.push(await timeMsAsync(handlerOnce));
      parseMs.push(timeMs(parseOnce));
    }
    process.stderr.write('.');
  }

  const file = join(workDir, `${scenario.name.replace(/\W+/g, '-')}.bin`);
  writeCorpusFile(file, corpus.bodies.slice(0, BATCH));
  const memory = { parse: [] as MemoryRun[], handler: [] as MemoryRun[] };
  for (let i = 0; i < MEMORY_RUNS; i++) {
    memory.parse.push(memoryRun(file, 'parse'));
    memory.handler.push(memoryRun(file, 'handler'));
    process.stderr.write('m');
  }
  rmSync(file);

  const sum = (f: (o: BatchOutcome) => number) => outcomes.reduce((s, o) => s + f(o), 0);
  return {
    scenario,
    bodies: corpus.bodies.length,
    bytes: corpus.bytes,
    records: corpus.records,
    expectedAlerts: corpus.expectedAlerts,
    verdicts,
    counts: {
      parsedRecords: sum((o) => o.records),
      prefiltered: sum((o) => o.prefiltered),
      alerts: sum((o) => o.alerts),
      malformed: sum((o) => o.malformed),
      stateUpdates,
    },
    parse: figures(median(parseMs), corpus.bytes, corpus.records, memory.parse),
    handler: figures(median(handlerMs), corpus.bytes, corpus.records, memory.handler),
    handlerHealthMs: median(handlerHealthMs),
  };
}

/** The slowest 1 MB of adversarial text may take this long to redact (linear: the old pattern took ~15 min). */
const REDACTION_TARGET_MS = 250;

function redactionReport(r: RedactionResult): string {
  const rows = r.figures.map((f) => [f.name, fmt(f.ms, 1), fmt(f.mbPerS, 1), fmt(f.stepsPerChar, 2)]);
  const previous = r.previous.map((p) => `${fmt(p.bytes / 1024)} KB ${fmt(p.ms, 0)} ms`).join(', ');
  return [
    `Redaction (src/lib/redact.ts), 1 MB of each input, medians of ${ROUNDS} rounds:`,
    table(['input (1 MB)', 'ms', 'MB/s', 'characters examined per character'], rows),
    '',
    table(
      ['target', 'measured', 'target', ''],
      [
        [
          'redaction: slowest 1 MB of adversarial text',
          `${fmt(r.worstMs, 1)} ms`,
          `≤ ${REDACTION_TARGET_MS} ms`,
          r.worstMs <= REDACTION_TARGET_MS ? 'met' : 'MISSED',
        ],
      ],
    ),
    '',
    `For reference, the JWT pattern used before (quadratic) on eyJ-eyJ-…: ${previous} (each doubling of the length about quadruples the time).`,
  ].join('\n');
}

function report(results: readonly ScenarioResult[], cold: ColdStart, load: readonly number[][]): string {
  const out: string[] = [];
  const cpu = cpus();
  out.push(
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}, load average ${load.map((l) => fmt(l[0] ?? 0, 2)).join(' → ')} (1 min, start → end)`,
  );
  const first = results[0];
  if (first) {
    out.push(
      `Corpus per scenario: ${fmt(first.bodies)} bodies × ${RECORDS_PER_BODY} records, ${fmt(first.bytes / first.bodies / 1000)} KB per body, ${fmt(first.bytes / 1e6)} MB; trigger batches of ${BATCH}; medians of ${ROUNDS} rounds; memory: medians of ${MEMORY_RUNS} fresh processes, one batch of ${BATCH} bodies each.`,
    );
  }
  out.push('');
  const rows: string[][] = [];
  for (const r of results) {
    const healthRow = [
      `${r.scenario.name}: handler + health rows`,
      fmt(r.handlerHealthMs, 1),
      fmt(r.bytes / 1e6 / (r.handlerHealthMs / 1000)),
      fmt(r.records / (r.handlerHealthMs / 1000) / 1e6, 2),
      fmt((r.handlerHealthMs * 1e6) / r.records),
      '',
      '',
    ];
    for (const [path, f] of [
      ['JSON.parse every body', r.parse],
      ['handler (prefilter → decode → detect → alerts)', r.handler],
    ] as const) {
      rows.push([
        `${r.scenario.name}: ${path}`,
        fmt(f.ms, 1),
        fmt(f.mbPerS),
        fmt(f.recordsPerS / 1e6, 2),
        fmt(f.nsPerRecord),
        fmt(f.overheadMb, 1),
        `${fmt(f.heldPerByte, 2)}×`,
      ]);
    }
    rows.push(healthRow);
  }
  out.push(
    table(
      [
        'scenario: path',
        'ms',
        'MB/s',
        'M records/s',
        'ns/record',
        'peak above batch (MB)',
        'peak held / batch bytes',
      ],
      rows,
    ),
  );
  out.push('');
  for (const r of results) {
    const parsed = Object.entries(r.verdicts)
      .filter(([v]) => v !== 'skip')
      .map(([v, n]) => `${v} ${fmt(n)}`)
      .join(', ');
    out.push(
      `${r.scenario.name} (${r.scenario.description}): ${fmt(r.verdicts.skip ?? 0)} of ${fmt(r.bodies)} bodies skipped unparsed; parsed: ${parsed || 'none'}. Handler counts: ${fmt(r.counts.prefiltered)} prefiltered, ${fmt(r.counts.parsedRecords)} records decoded, ${fmt(r.counts.alerts)} alerts (expected ${fmt(r.expectedAlerts)}), ${fmt(r.counts.malformed)} malformed; ${fmt(r.counts.stateUpdates)} state-store updates (${fmt((r.counts.stateUpdates / r.records) * 1e6, 1)} per million records).`,
    );
  }
  out.push('');
  const byName = (n: string) => results.find((r) => r.scenario.name === n);
  const realistic = byName('realistic');
  const all = byName('all matching');
  const none = byName('none matching');
  const targets: string[][] = [];
  if (realistic) {
    const x = realistic.parse.ms / realistic.handler.ms;
    targets.push([
      'realistic: handler throughput / JSON.parse throughput',
      `${fmt(x, 2)}×`,
      '≥ 3×',
      x >= 3 ? 'met' : 'MISSED',
    ]);
    const h = realistic.parse.ms / realistic.handlerHealthMs;
    targets.push([
      'realistic: handler with health rows (Function, consume) / JSON.parse throughput',
      `${fmt(h, 2)}× (health rows +${fmt((realistic.handlerHealthMs / realistic.handler.ms - 1) * 100, 0)} %)`,
      '≥ 3×',
      h >= 3 ? 'met' : 'MISSED',
    ]);
  }
  if (all) {
    const x = all.handler.ms / all.parse.ms;
    targets.push([
      'all matching: handler time / JSON.parse time',
      `${fmt(x, 2)}×`,
      '≤ 1.3×',
      x <= 1.3 ? 'met' : 'MISSED',
    ]);
  }
  if (none) {
    const x = none.parse.ms / none.handler.ms;
    targets.push([
      'none matching: handler throughput / JSON.parse throughput',
      `${fmt(x, 2)}×`,
      '(best case)',
      '',
    ]);
  }
  const worstHeld = Math.max(...results.map((r) => r.handler.heldPerByte));
  targets.push([
    'peak memory of a 1,000-body batch, handler, worst scenario',
    `${fmt(worstHeld, 2)}× its bytes`,
    '≤ ~2×',
    worstHeld <= 2 ? 'met' : 'MISSED',
  ]);
  // The decided target: the detector's own import cost on top of @azure/functions' (outside our control).
  const ownRatio = (cold.entryMs - cold.functionsMs) / cold.bareMs;
  targets.push([
    "cold start: the detector's own import (node + entry − node + @azure/functions) / bare node",
    `${fmt(ownRatio, 2)}× (${fmt(cold.entryMs - cold.functionsMs, 1)} of ${fmt(cold.bareMs, 1)} ms)`,
    '≤ 0.5×',
    ownRatio <= 0.5 ? 'met' : 'MISSED',
  ]);
  targets.push([
    '… for reference: node + import of the function entry (package.json main) / bare node',
    `${fmt(cold.entryMs / cold.bareMs, 2)}× (${fmt(cold.entryMs, 1)} vs ${fmt(cold.bareMs, 1)} ms)`,
    '',
    '',
  ]);
  targets.push([
    'Azure SDK clients loaded by importing the entry',
    cold.sdkClientsLoaded.length === 0 ? 'none' : cold.sdkClientsLoaded.join(', '),
    'none',
    cold.sdkClientsLoaded.length === 0 ? 'met' : 'MISSED',
  ]);
  out.push(table(['target', 'measured', 'target', ''], targets));
  out.push('');
  const kb = (bytes: number) => `${fmt(bytes / 1024, 0)} KB`;
  const parts = Object.entries(cold.bundle.composition)
    .sort((x, y) => y[1] - x[1])
    .map(([name, bytes]) => `${name} ${kb(bytes)}`)
    .join(', ');
  out.push(
    `Cold start (medians of ${cold.runs} runs, wall time of a process started with only PATH and HOME set): bare node ${fmt(cold.bareMs, 1)} ms; node + the bundle ${fmt(cold.entryMs, 1)} ms; node + @azure/functions alone ${fmt(cold.functionsMs, 1)} ms (${fmt(cold.functionsMs / cold.bareMs, 2)}×: the programming model every v4 app imports, with Node's http, net, stream and crypto); node + the unbundled tsc output of the same entry ${fmt(cold.unbundledMs, 1)} ms (${fmt(cold.unbundledMs / cold.bareMs, 2)}×). Inside one process: requiring the bundle takes ${fmt(cold.bundle.ms, 1)} ms and reads ${cold.bundle.files} file(s); the unbundled entry takes ${fmt(cold.unbundled.ms, 1)} ms and reads ${cold.unbundled.files}. Bundle: ${kb(cold.bundle.bytes)} (${parts}). Deferred to the first delivery, not part of the import: loading @azure/identity ${fmt(cold.firstDelivery['@azure/identity'] ?? Number.NaN, 0)} ms and @azure/monitor-ingestion ${fmt(cold.firstDelivery['@azure/monitor-ingestion'] ?? Number.NaN, 0)} ms on the first alert, @azure/storage-blob ${fmt(cold.firstDelivery['@azure/storage-blob'] ?? Number.NaN, 0)} ms on the first dead letter (medians of 5 processes).`,
  );
  return out.join('\n');
}

/** What bench/scanProcess.ts measures (its JSON output). */
interface ScanProcess {
  readonly processLevel: {
    files: number;
    bytes: number;
    records: number;
    alerts: number;
    parseMs: number;
    scanMs: number;
    parseRuns: number[];
    scanRuns: number[];
    ratio: number;
  };
  readonly memory: {
    runs: {
      bytes: number;
      records: number;
      expectedAlerts: number;
      alerts: number;
      ms: number;
      mbPerS: number;
      peakRss: number;
    }[];
    idleRss: number;
  };
  readonly blob: {
    blobs: number;
    bytes: number;
    alerts: number;
    blobMs: number;
    localMs: number;
    blobMbPerS: number;
    localMbPerS: number;
    downloadMs: number;
    downloadMbPerS: number;
  };
}

/** `scan` as whole processes, in a small process of its own (bench/scanProcess.ts). */
function measureScanApart(root: string, workDir: string): ScanProcess {
  const r = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      join(__dirname, 'scanProcess.js'),
      root,
      join(workDir, 'scan'),
      String(SCAN_ROUNDS),
      String(JSONL_MB),
    ],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      maxBuffer: 16 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error('scan process measurement failed (see above)');
  return JSON.parse(r.stdout.toString()) as ScanProcess;
}

function scanReport(scan: ScanProcess): string {
  const out: string[] = [];
  const p = scan.processLevel;
  const mb = (bytes: number) => `${fmt(bytes / 1e6)} MB`;
  out.push(
    `Scan as a process (${fmt(p.files)} files of realistic bodies, ${mb(p.bytes)}, ${fmt(p.records)} records; medians of ${p.scanRuns.length} alternating runs; wall time of the whole process, started with only PATH and HOME set):`,
  );
  out.push('');
  const rows: string[][] = [
    [
      'node dist/bench/parseAllProcess.js <dir> (read + JSON.parse every file)',
      fmt(p.parseMs),
      fmt(p.bytes / 1e6 / (p.parseMs / 1000)),
      p.parseRuns.map((x) => fmt(x)).join(', '),
    ],
    [
      'packet-capture-detector scan <dir>',
      fmt(p.scanMs),
      fmt(p.bytes / 1e6 / (p.scanMs / 1000)),
      p.scanRuns.map((x) => fmt(x)).join(', '),
    ],
    [
      `packet-capture-detector scan <Azurite container> (${fmt(scan.blob.blobs)} blobs, archive layout)`,
      fmt(scan.blob.blobMs),
      fmt(scan.blob.blobMbPerS),
      '',
    ],
    [
      'packet-capture-detector scan <the same blobs, local copy>',
      fmt(scan.blob.localMs),
      fmt(scan.blob.localMbPerS),
      '',
    ],
    [
      'node dist/bench/downloadAll.js (list + download every blob, 16 at a time, nothing else)',
      fmt(scan.blob.downloadMs),
      fmt(scan.blob.downloadMbPerS),
      '',
    ],
  ];
  out.push(table(['process', 'ms', 'MB/s', 'runs (ms)'], rows));
  out.push('');
  const memRows = scan.memory.runs.map((r) => [
    `scan of one JSON Lines file of ${mb(r.bytes)} (${fmt(r.records)} records)`,
    fmt(r.ms),
    fmt(r.mbPerS),
    `${fmt(r.peakRss / 2 ** 20)} MiB`,
    `${fmt(r.alerts)} of ${fmt(r.expectedAlerts)}`,
  ]);
  memRows.push([
    'scan --version (the process alone)',
    '',
    '',
    `${fmt(scan.memory.idleRss / 2 ** 20)} MiB`,
    '',
  ]);
  out.push(table(['run', 'ms', 'MB/s', 'peak RSS', 'alerts'], memRows));
  out.push('');
  const largest = scan.memory.runs[scan.memory.runs.length - 1];
  const targets: string[][] = [
    [
      'process-level scan / process-level parse-all, same files, identical alerts',
      `${fmt(p.ratio, 2)}×`,
      '≥ 4×',
      p.ratio >= 4 ? 'met' : 'MISSED',
    ],
  ];
  const smallest = scan.memory.runs[0];
  if (largest && smallest && largest !== smallest) {
    // Bounded: ten times the file adds less to the peak than a tenth of the extra bytes.
    const grew = largest.peakRss - smallest.peakRss;
    const extra = largest.bytes - smallest.bytes;
    const alertsOk = scan.memory.runs.every((r) => r.alerts === r.expectedAlerts);
    targets.push([
      `peak RSS scanning a ${mb(largest.bytes)} JSON Lines file, against one of ${mb(smallest.bytes)}`,
      `${fmt(largest.peakRss / 2 ** 20)} vs ${fmt(smallest.peakRss / 2 ** 20)} MiB (+${fmt((grew / extra) * 100, 1)} % of the extra bytes)`,
      'bounded',
      !alertsOk ? 'MISSED (alerts differ)' : grew < extra / 10 ? 'met' : 'MISSED',
    ]);
  }
  targets.push([
    'blob source: scan <container> throughput / download-only throughput (Azurite on this machine)',
    `${fmt(scan.blob.blobMbPerS / scan.blob.downloadMbPerS, 2)}×`,
    '(reported)',
    scan.blob.alerts === p.alerts ? 'same alerts as the local copy' : 'MISSED (alerts differ)',
  ]);
  out.push(table(['scan target', 'measured', 'target', ''], targets));
  return out.join('\n');
}

/** In a small process of its own (bench/coldstart.ts says why), with nothing but PATH and HOME set. */
function measureColdStartApart(root: string, runs: number): ColdStart {
  const r = spawnSync(process.execPath, [join(__dirname, 'coldstart.js'), root, String(runs)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`cold-start measurement failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as ColdStart;
}

async function main(): Promise<void> {
  const load = [loadavg()];
  const workDir = mkdtempSync(join(tmpdir(), 'pcd-bench-'));
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of SCENARIOS) {
      process.stderr.write(`${scenario.name} `);
      results.push(await runScenario(scenario, workDir));
      process.stderr.write('\n');
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  process.stderr.write('redaction\n');
  const redaction = measureRedaction(join(__dirname, '../..'), ROUNDS);
  process.stderr.write('cold start\n');
  const cold = measureColdStartApart(join(__dirname, '../..'), COLD_RUNS);
  process.stderr.write('scan as a process ');
  const scanDir = mkdtempSync(join(tmpdir(), 'pcd-bench-scan-'));
  let scan: ScanProcess;
  try {
    scan = measureScanApart(join(__dirname, '../..'), scanDir);
  } finally {
    rmSync(scanDir, { recursive: true, force: true });
  }
  process.stderr.write('\n');
  load.push(loadavg());
  const text = `${report(results, cold, load)}\n\n${redactionReport(redaction)}\n\n${scanReport(scan)}`;
  process.stdout.write(`${text}\n`);
  const jsonPath = process.env.BENCH_JSON;
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ results, cold, scan, load, redaction }, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
