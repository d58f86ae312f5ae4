/*
 * The scanning engine: inputs listed ahead, several read at once (so the disk or the network works while
 * the detector scans what already arrived), each cut into messages (framing.ts) and run through the same
 * batch runner as the function. Every alert goes through the run's collector (collector.ts), and, with
 * Logs Ingestion, through the run's one delivery budget (runDelivery.ts). Problems are reported per
 * input and never stop the others; counts are kept as things happen, so the summary is true whatever
 * failed. A finished input is recorded in the state file (resume.ts) only once its alerts are safe.
 */
import type { AlertRow } from '../../alert/columns';
import { errorText } from '../../lib/errorText';
import { redactText } from '../../lib/redact';
import { formatBytes } from '../../lib/text';
import type { AlertSink, BatchInfo, DeliveryReport, Logger, OperationStateStore } from '../../pipeline/ports';
import type { RunAlertCollector } from './collector';
import type { RuleContext } from '../../detect/types';
import type { Allowlist } from '../../triage/allowlist';
import type { CaptureHistoryStore } from '../../triage/history';
import { RunDetector, type DetectResult } from './detect';
import { Framer, type FramedMessage, type FrameEvent } from './framing';
import { BufferPool, needsTranscoding, textChunks, type ScanInput } from './inputs';
import type { ResumeState } from './resume';
import type { RunDelivery } from './runDelivery';
import type { StatusLine } from './status';

export interface ScanTotals {
  /** Inputs listed so far, and whether the listing is complete. */
  listed: number;
  listedBytes: number;
  /** Listed inputs whose size is not known before reading (standard input, a pipe). */
  listedUnsized: number;
  listingDone: boolean;
  /** Inputs read to the end (malformed content included). */
  scanned: number;
  /** Inputs an earlier run finished (`--resume`), not read again. */
  resumed: number;
  resumedBytes: number;
  /** Inputs that could not be opened or read to the end. */
  unreadable: number;
  /** Bytes read, as stored (compressed bytes for .gz). */
  bytes: number;
  /** Messages the pipeline was given (files, JSON Lines segments, records of a streamed document). */
  messages: number;
  prefiltered: number;
  records: number;
  malformed: number;
  /** Alerts found again with an AlertId already seen in this run. */
  duplicates: number;
  delivered: number;
  deadLettered: number;
  /** Alerts neither delivered nor dead-lettered (printed to stdout instead). */
  undelivered: number;
}

export function emptyTotals(): ScanTotals {
  return {
    listed: 0,
    listedBytes: 0,
    listedUnsized: 0,
    listingDone: false,
    scanned: 0,
    resumed: 0,
    resumedBytes: 0,
    unreadable: 0,
    bytes: 0,
    messages: 0,
    prefiltered: 0,
    records: 0,
    malformed: 0,
    duplicates: 0,
    delivered: 0,
    deadLettered: 0,
    undelivered: 0,
  };
}

export interface ScanRunConfig {
  readonly inputs: AsyncIterable<ScanInput>;
  readonly concurrency: number;
  /** The run's one operation state: the lifecycle join spans every input of the run. */
  readonly operationState: OperationStateStore;
  /** Triage of every row (src/triage/): the allowlist, and the callers' capture history. */
  readonly allowlist?: Allowlist;
  readonly captureHistory?: CaptureHistoryStore;
  /** The deployment's protected scope, for the integrity rules. */
  readonly context: RuleContext;
  readonly prefilter: boolean;
  readonly collector: RunAlertCollector;
  /** Logs Ingestion; undefined: alerts are printed at the end of the run. */
  readonly delivery: RunDelivery | undefined;
  readonly resume: ResumeState | undefined;
  readonly status: StatusLine;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly totals: ScanTotals;
  /** Malformed messages printed per input before the rest are only counted. */
  readonly malformedShownPerInput?: number;
}

/**
 * A file up to this size is one message, as an Event Hubs body is; a larger one, even when read whole, is
 * cut like a stream, so that the prefilter judges 256 KB at a time (framing.ts says why).
 */
const ONE_MESSAGE_BYTES = 1 << 20;
/** Messages handed to the batch runner at once when a document is streamed record by record. */
const BATCH_MESSAGES = 500;
const BATCH_BYTES = 1 << 20;
/** Inputs listed ahead of the readers (bounds the memory a huge listing takes). */
const LISTED_AHEAD = 100_000;
const DEFAULT_MALFORMED_SHOWN = 20;

/**
 * Where the message at `index` of a batch (or, for a JSON Lines segment, the line `index` of it) sits in
 * its input, for the message a person reads.
 */
/** Where a problem is: the message's index in its batch and, for JSON Lines, the line within it. */
type Locate = (index: number, line?: number) => string;
/** The decoder's reason as a person reads it at that location (a segment's line numbers made the file's). */
type Reword = (reason: string) => string;

/**
 * Prints malformed messages of one input with their location (the input keeps the bytes), the first few
 * in full and the rest counted, so a damaged 1 GB file does not flood the terminal.
 */
class InputProblems {
  private shown = 0;
  private hidden = 0;

  constructor(
    private readonly label: string,
    private readonly run: ScanRunConfig,
  ) {}

  report(where: string, code: string, reason: string): void {
    this.run.totals.malformed++;
    if (this.shown < (this.run.malformedShownPerInput ?? DEFAULT_MALFORMED_SHOWN)) {
      this.shown++;
      this.run.status.log(redactText(`malformed ${where}: ${code}: ${reason}`));
    } else {
      this.hidden++;
    }
  }

  finish(): void {
    if (this.hidden > 0) {
      this.run.status.log(redactText(`malformed ${this.label}: ${this.hidden} more not shown`));
    }
  }
}

/** The alert sink of one input: the run's collector first, then printing or Logs Ingestion. */
class InputSink implements AlertSink {
  readonly name: string;
  /** Alerts of this input new to the run (for the state file). */
  readonly fresh: AlertRow[] = [];
  undelivered = 0;

  constructor(
    private readonly run: ScanRunConfig,
    private readonly index: number,
  ) {
    this.name = run.delivery?.name ?? 'stdout';
  }

  async deliver(alerts: readonly AlertRow[], batch: BatchInfo): Promise<DeliveryReport> {
    const fresh = this.run.collector.accept(alerts, this.index);
    this.run.totals.duplicates += alerts.length - fresh.length;
    for (const alert of fresh) this.fresh.push(alert);
    if (!this.run.delivery) return { delivered: fresh.length, retried: 0, deadLettered: 0 };
    const report = await this.run.delivery.deliver(fresh, batch);
    this.run.totals.delivered += report.delivered;
    this.run.totals.deadLettered += report.deadLettered;
    this.run.totals.undelivered += report.undelivered.length;
    this.run.collector.strand(report.undelivered);
    this.undelivered += report.undelivered.length;
    return report;
  }
}

export async function runScanInputs(run: ScanRunConfig): Promise<void> {
  const queue: ScanInput[] = [];
  let listingError: unknown;
  // Readers waiting for the listing, and the listing waiting for room in the queue.
  const waiting: (() => void)[] = [];
  let room: (() => void) | undefined;
  const wakeReaders = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };
  const makeRoom = () => {
    const resolve = room;
    room = undefined;
    resolve?.();
  };
  const lister = (async () => {
    try {
      for await (const input of run.inputs) {
        if (run.signal.aborted) break;
        run.totals.listed++;
        run.totals.listedBytes += input.size ?? 0;
        if (input.size === undefined) run.totals.listedUnsized++;
        queue.push(input);
        wakeReaders();
        if (queue.length >= LISTED_AHEAD) {
          await new Promise<void>((resolve) => {
            room = resolve;
          });
        }
      }
    } catch (error) {
      listingError = error;
    } finally {
      run.totals.listingDone = true;
      wakeReaders();
    }
  })();

  let next = 0;
  const take = async (): Promise<{ input: ScanInput; index: number } | undefined> => {
    for (;;) {
      if (run.signal.aborted) return undefined;
      const input = queue.shift();
      if (input !== undefined) {
        makeRoom();
        return { input, index: next++ };
      }
      if (run.totals.listingDone) return undefined;
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
      });
    }
  };
  const onAbort = () => {
    wakeReaders();
    makeRoom();
  };
  run.signal.addEventListener('abort', onAbort, { once: true });

  const pool = new BufferPool();
  const detector = new RunDetector(pool, run.prefilter, {
    operationState: run.operationState,
    ...(run.allowlist ? { allowlist: run.allowlist } : {}),
    ...(run.captureHistory ? { captureHistory: run.captureHistory } : {}),
    context: run.context,
  });
  const worker = async () => {
    for (;;) {
      const item = await take();
      if (!item) return;
      await scanOne(run, item.input, item.index, { pool, detector });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, run.concurrency) }, worker));
  makeRoom();
  await lister;
  run.signal.removeEventListener('abort', onAbort);
  if (listingError !== undefined && !run.signal.aborted) {
    throw listingError instanceof Error ? listingError : new Error(errorText(listingError));
  }
}

interface Shared {
  readonly pool: BufferPool;
  readonly detector: RunDetector;
}

/** Detection jobs of one input in flight at once, so that reading the next part overlaps detecting this one. */
const WINDOW = 4;

async function scanOne(run: ScanRunConfig, input: ScanInput, index: number, shared: Shared): Promise<void> {
  const { totals } = run;
  if (run.resume?.finished(input.key) !== undefined) {
    totals.resumed++;
    totals.resumedBytes += input.size ?? 0;
    return;
  }
  const problems = new InputProblems(input.label, run);
  const sink = new InputSink(run, index);
  const batchInfo: BatchInfo = { source: 'file' };
  let readBytes = 0;
  const countBytes = (n: number) => {
    readBytes += n;
    totals.bytes += n;
  };

  // Batches are detected up to WINDOW at a time; their results are taken in order, so alerts and
  // messages come out as the input holds them.
  const window: Promise<void>[] = [];
  const take = (result: DetectResult, locate: Locate, reword: Reword): Promise<unknown> => {
    totals.messages += result.messages;
    totals.prefiltered += result.prefiltered;
    totals.records += result.records;
    totals.duplicates += result.duplicates;
    for (const m of result.malformed) problems.report(locate(m.index, m.line), m.code, reword(m.reason));
    return result.alerts.length > 0 ? sink.deliver(result.alerts, batchInfo) : Promise.resolve();
  };
  const submit = async (
    messages: Buffer[],
    locate: Locate,
    leased?: ArrayBuffer,
    reword: Reword = (r) => r,
  ): Promise<void> => {
    const detected = shared.detector.detect(messages, leased);
    const previous = window.at(-1) ?? Promise.resolve();
    const taken = previous
      .then(() => detected)
      .then((result) => take(result, locate, reword).then(() => undefined));
    taken.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    window.push(taken);
    if (window.length >= WINDOW) await window.shift();
  };
  const drain = async (): Promise<void> => {
    while (window.length > 0) await window.shift();
  };

  try {
    const whole =
      input.readWhole && input.size !== undefined
        ? await input.readWhole(run.signal, shared.pool)
        : undefined;
    if (whole !== undefined && whole.length <= ONE_MESSAGE_BYTES && !needsTranscoding(whole)) {
      countBytes(whole.length);
      await submit(
        [whole],
        (_i, line) => (line !== undefined && line > 0 ? `${input.label}:${line}` : input.label),
        whole.buffer as ArrayBuffer,
      );
    } else {
      const source = whole !== undefined ? oneChunk(whole) : await input.open(run.signal);
      await scanStream(run, input, textChunks(source, countBytes), submit, problems);
      await drain();
      if (whole !== undefined) shared.pool.release(whole.buffer);
    }
    await drain();
  } catch (error) {
    await Promise.allSettled(window);
    if (run.signal.aborted) return; // stopped: read again by a resumed run
    totals.unreadable++;
    const after = readBytes > 0 ? ` after ${formatBytes(readBytes)}` : '';
    run.status.log(redactText(`scan: cannot read ${input.label}${after}: ${errorText(error)}`));
    problems.finish();
    return;
  }
  problems.finish();
  if (run.signal.aborted) return;
  totals.scanned++;
  if (sink.undelivered > 0) return; // read again (and delivered) by a resumed run
  try {
    run.resume?.markFinished(input.key, sink.fresh, !run.delivery);
  } catch (error) {
    run.status.log(
      `scan: cannot write the --resume state file ${run.resume?.path ?? ''}: ${errorText(error)}`,
    );
  }
}

async function scanStream(
  run: ScanRunConfig,
  input: ScanInput,
  chunks: AsyncIterable<Buffer>,
  submit: (messages: Buffer[], locate: Locate, leased?: ArrayBuffer, reword?: Reword) => Promise<void>,
  problems: InputProblems,
): Promise<void> {
  const framer = new Framer();
  let pending: FramedMessage[] = [];
  let pendingBytes = 0;
  const flushPending = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    await submit(
      batch.map((m) => m.bytes),
      (i) => {
        const framed = batch[i] ?? batch[0];
        const where = `${input.label}:${framed?.line ?? 1}`;
        return framed?.element === undefined ? where : `${where} (record ${framed.element + 1})`;
      },
    );
  };
  const handle = async (events: readonly FrameEvent[]) => {
    for (const event of events) {
      if (event.kind === 'problem') {
        problems.report(`${input.label}:${event.problem.line}`, event.problem.code, event.problem.reason);
        continue;
      }
      const message = event.message;
      if (message.kind === 'lines') {
        await flushPending();
        await submit(
          [message.bytes],
          (_i, line) => {
            // Decoder problems carry the 1-based line within the segment; none: the segment as a whole.
            if (line !== undefined && line > 0) return `${input.label}:${message.line + line - 1}`;
            return message.lastLine !== undefined && message.lastLine !== message.line
              ? `${input.label}:${message.line}-${message.lastLine}`
              : `${input.label}:${message.line}`;
          },
          undefined,
          (reason) =>
            reason.replace(
              /^Line (\d+) is not JSON/,
              (_, n: string) => `Line ${message.line + Number(n) - 1} is not JSON`,
            ),
        );
        continue;
      }
      pending.push(message);
      pendingBytes += message.bytes.length;
      if (pending.length >= BATCH_MESSAGES || pendingBytes >= BATCH_BYTES) await flushPending();
    }
  };
  for await (const chunk of chunks) {
    if (run.signal.aborted) return;
    framer.push(chunk);
    await handle(framer.take());
  }
  framer.end();
  await handle(framer.take());
  await flushPending();
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  await Promise.resolve();
  yield bytes;
}
