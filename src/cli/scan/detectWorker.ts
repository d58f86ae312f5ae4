/*
 * A detection thread of `scan` (detectPool.ts starts them): takes the bytes of one batch of messages, runs
 * the same batch runner as the function over them with a sink and a store that only collect, and sends back
 * the alerts, the malformed messages (without their raw bytes: the input keeps them) and the counts, with
 * the buffers it was lent. Delivery, printing and the run's one alert collector stay on the main thread.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { AlertRow } from '../../alert/columns';
import { errorText } from '../../lib/errorText';
import type { AlertSink, Logger, MalformedMessage, MalformedStore } from '../../pipeline/ports';
import { runBatch } from '../../pipeline/runBatch';

/** One batch of messages: views (buffer index, offset, length) over the lent buffers. */
export interface DetectJob {
  readonly id: number;
  readonly buffers: ArrayBuffer[];
  readonly views: readonly (readonly [number, number, number])[];
  readonly prefilter: boolean;
}

/** A malformed message as the main thread needs it: where (its index) and why. */
export interface DetectedProblem {
  readonly index: number;
  readonly code: MalformedMessage['code'];
  readonly reason: string;
}

export interface DetectResult {
  readonly alerts: AlertRow[];
  readonly malformed: DetectedProblem[];
  readonly messages: number;
  readonly records: number;
  readonly prefiltered: number;
  readonly duplicates: number;
}

export type DetectReply =
  | { readonly id: number; readonly buffers: ArrayBuffer[]; readonly result: DetectResult }
  | { readonly id: number; readonly buffers: ArrayBuffer[]; readonly error: string };

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The batch runner over `messages` with collecting ports (also what the main thread runs without threads). */
export async function detectMessages(messages: readonly Buffer[], prefilter: boolean): Promise<DetectResult> {
  const alerts: AlertRow[] = [];
  const malformed: DetectedProblem[] = [];
  const sink: AlertSink = {
    name: 'collect',
    deliver: (found) => {
      alerts.push(...found);
      return Promise.resolve({ delivered: found.length, retried: 0, deadLettered: 0 });
    },
  };
  const store: MalformedStore = {
    name: 'collect',
    keep: (messagesKept) => {
      for (const m of messagesKept) malformed.push({ index: m.index, code: m.code, reason: m.reason });
      return Promise.resolve();
    },
  };
  const outcome = await runBatch(
    messages,
    messages.map(() => ({})),
    { source: 'file' },
    { sink, malformedStore: store },
    silent,
    { prefilter },
  );
  return {
    alerts,
    malformed,
    messages: outcome.messages,
    records: outcome.records,
    prefiltered: outcome.prefiltered,
    duplicates: outcome.duplicates,
  };
}

function serve(port: NonNullable<typeof parentPort>): void {
  port.on('message', (job: DetectJob) => {
    const messages = job.views.map(([b, offset, length]) => {
      const buffer = job.buffers[b];
      return buffer === undefined ? Buffer.alloc(0) : Buffer.from(buffer, offset, length);
    });
    detectMessages(messages, job.prefilter).then(
      (result) => {
        port.postMessage({ id: job.id, buffers: job.buffers, result } satisfies DetectReply, job.buffers);
      },
      (error: unknown) => {
        port.postMessage(
          { id: job.id, buffers: job.buffers, error: errorText(error) } satisfies DetectReply,
          job.buffers,
        );
      },
    );
  });
}

/** Marks the threads detectPool.ts starts, so that loading this module anywhere else starts nothing. */
export const DETECT_WORKER_MARK = 'packet-capture-detector scan detection thread';

if (!isMainThread && parentPort && (workerData as { role?: unknown } | null)?.role === DETECT_WORKER_MARK) {
  serve(parentPort);
}
