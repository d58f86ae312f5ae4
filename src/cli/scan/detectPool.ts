/*
 * Where `scan` runs detection: on the main thread (the default), or with `--workers <n>` on n threads
 * (detectWorker.ts), so that several cores scan while the main thread reads, lists, delivers and prints.
 * Scanning is CPU-bound once reads overlap (the byte prefilter is most of the time). Threads are not the
 * default because they were measured slower on the machine this was built on (2 cores shared with other
 * work: BENCHMARKS.md › Scan as a process); on an idle machine with more cores they should pay, which was
 * not measured. The bytes of each batch travel to a thread and back without a copy: a batch's buffer
 * is a whole ArrayBuffer leased from the run's pool (inputs.ts), transferred, and given back to the pool
 * when the thread returns it. Results come back in the order asked for within one input, and every alert
 * still goes through the run's one collector on the main thread.
 *
 * Threads start only once a run has enough to scan to repay their start (a few tens of ms: each loads the
 * detector's code), and never where no compiled thread file sits beside this one (the tests, which run
 * the TypeScript sources, detect on the main thread). A thread that fails stops the pool: what it held is
 * reported as unreadable (read again by a resumed run) and the rest of the run detects on the main thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DetectorError } from '../../lib/errors';
import { errorText } from '../../lib/errorText';
import {
  DETECT_WORKER_MARK,
  detectMessages,
  type DetectJob,
  type DetectReply,
  type DetectResult,
} from './detectWorker';
import type { BufferPool } from './inputs';

export type { DetectResult } from './detectWorker';

/** The most threads `--workers` may ask for: one per core. */
export function maxWorkers(): number {
  return availableParallelism();
}

/** The compiled thread file: beside the CLI bundle (dist/cli/), or beside this file in tsc output. */
function workerFile(): string | undefined {
  return ['scan-detect-worker.js', 'detectWorker.js']
    .map((name) => join(__dirname, name))
    .find((path) => path.endsWith('.js') && existsSync(path));
}

interface Pending {
  resolve(result: DetectResult): void;
  reject(error: Error): void;
}

interface Thread {
  readonly worker: Worker;
  busy: number;
}

export class DetectPool {
  private threads: Thread[] | undefined;
  private broken = false;
  private nextId = 0;
  private readonly pending = new Map<number, Pending & { thread: Thread }>();

  constructor(
    private readonly pool: BufferPool,
    private readonly prefilter: boolean,
    private readonly workers: number,
    /** Asked before threads are started: whether the run is big enough to repay them. */
    private readonly worthThreads: () => boolean,
  ) {}

  /**
   * Detects over `messages`. `leased`: the pool buffer all of them are views of, given back to the pool when
   * done; without one, on a thread, the messages are first copied into a leased buffer.
   */
  async detect(messages: readonly Buffer[], leased: ArrayBuffer | undefined): Promise<DetectResult> {
    const threads = this.ready();
    if (!threads) {
      try {
        return await detectMessages(messages, this.prefilter);
      } finally {
        if (leased) this.pool.release(leased);
      }
    }
    let buffer = leased;
    let views: [number, number, number][];
    if (buffer === undefined || messages.some((m) => m.buffer !== buffer)) {
      const total = messages.reduce((s, m) => s + m.length, 0);
      const copy = this.pool.lease(total);
      let at = 0;
      views = messages.map((m) => {
        const view: [number, number, number] = [0, at, m.length];
        at += m.copy(copy, at);
        return view;
      });
      if (leased) this.pool.release(leased);
      buffer = copy.buffer as ArrayBuffer;
      if (copy.byteOffset !== 0) views = views.map(([b, o, l]) => [b, o + copy.byteOffset, l]);
    } else {
      views = messages.map((m) => [0, m.byteOffset, m.length]);
    }
    const thread = threads.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    const job: DetectJob = { id, buffers: [buffer], views, prefilter: this.prefilter };
    thread.busy++;
    return new Promise<DetectResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, thread });
      thread.worker.postMessage(job, [buffer]);
    });
  }

  private ready(): Thread[] | undefined {
    if (this.broken || this.workers < 1) return undefined;
    if (this.threads) return this.threads;
    if (!this.worthThreads()) return undefined;
    const file = workerFile();
    if (file === undefined) {
      this.broken = true;
      return undefined;
    }
    this.threads = Array.from({ length: this.workers }, () => this.start(file));
    return this.threads;
  }

  private start(file: string): Thread {
    const worker = new Worker(file, { workerData: { role: DETECT_WORKER_MARK } });
    const thread: Thread = { worker, busy: 0 };
    worker.on('message', (reply: DetectReply) => {
      const job = this.pending.get(reply.id);
      if (!job) return;
      this.pending.delete(reply.id);
      thread.busy--;
      for (const buffer of reply.buffers) this.pool.release(buffer);
      if ('error' in reply) job.reject(new DetectorError('USAGE', `detection thread failed: ${reply.error}`));
      else job.resolve(reply.result);
    });
    const fail = (error: unknown) => {
      // Whatever the thread held is lost with it: those inputs are reported, the rest detect here.
      this.broken = true;
      for (const [id, job] of this.pending) {
        if (job.thread !== thread) continue;
        this.pending.delete(id);
        job.reject(new DetectorError('USAGE', `detection thread stopped: ${errorText(error)}`));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0 || this.pending.size > 0) fail(new Error(`exited with code ${code}`));
    });
    // Not unref'd: while a job is out, the thread is what the run waits for. close() ends them.
    return thread;
  }

  async close(): Promise<void> {
    const threads = this.threads ?? [];
    this.threads = undefined;
    this.broken = true;
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
