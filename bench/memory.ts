/**
 * Peak memory of one trigger batch, in a fresh process: `node --expose-gc dist/bench/memory.js <corpus>
 * <parse|handler>`. The corpus file is written by run.ts (so that generating it leaves no garbage here).
 * A worker thread samples the process RSS every millisecond while the main thread runs the batch
 * synchronously; RSS covers the V8 heap and the Buffers alike. Prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { MemorySink, parseAll, runHandler, triggerBatches } from './harness';

const SAMPLER = `
const { workerData } = require('node:worker_threads');
const state = new Int32Array(workerData, 0, 2); // [0]: 1 = sample, 2 = stop; [1]: spare
const peak = new Float64Array(workerData, 8, 1);
const tick = new Int32Array(new SharedArrayBuffer(4));
while (Atomics.load(state, 0) !== 2) {
  if (Atomics.load(state, 0) === 1) {
    const rss = process.memoryUsage.rss();
    if (rss > peak[0]) peak[0] = rss;
  }
  Atomics.wait(tick, 0, 0, 1);
}
`;

/** Reads the length-prefixed body file written by run.ts: [count][length...][bytes...]. */
export function readCorpusFile(path: string): Buffer[] {
  const all = readFileSync(path);
  const count = all.readUInt32LE(0);
  const bodies: Buffer[] = [];
  let at = 4 + 4 * count;
  for (let i = 0; i < count; i++) {
    const length = all.readUInt32LE(4 + 4 * i);
    bodies.push(all.subarray(at, at + length));
    at += length;
  }
  return bodies;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc');
  collect();
  collect();
}

async function main(): Promise<void> {
  const [file, mode] = process.argv.slice(2);
  if (file === undefined || (mode !== 'parse' && mode !== 'handler')) {
    throw new Error('usage: memory.js <corpus file> <parse|handler>');
  }
  const shared = new SharedArrayBuffer(16);
  const state = new Int32Array(shared, 0, 2);
  const peak = new Float64Array(shared, 8, 1);
  const sampler = new Worker(SAMPLER, { eval: true, workerData: shared });
  await sleep(200);
  gc();
  await sleep(100);
  const rssEmpty = process.memoryUsage.rss();

  const bodies = readCorpusFile(file);
  const batchBytes = bodies.reduce((s, b) => s + b.length, 0);
  const batches = triggerBatches(bodies, bodies.length);
  gc();
  await sleep(100);
  const rssLoaded = process.memoryUsage.rss();

  peak[0] = rssLoaded;
  Atomics.store(state, 0, 1);
  const started = process.hrtime.bigint();
  let alerts = 0;
  if (mode === 'parse') parseAll(bodies);
  else {
    const sink = new MemorySink();
    await runHandler(batches, sink);
    alerts = sink.alerts;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await sleep(5);
  Atomics.store(state, 0, 2);
  await sampler.terminate();
  const heap = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      mode,
      bodies: bodies.length,
      batchBytes,
      rssEmpty,
      rssLoaded,
      rssPeak: peak[0],
      heapTotalAfter: heap.heapTotal,
      ms,
      alerts,
    })}\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
