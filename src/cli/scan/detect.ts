/*
 * Where `scan` runs detection: the same batch runner as the function, on the main thread, with ports that
 * collect (delivery, printing and the run's one alert collector come after) and the run's one operation
 * state, so that the records of one capture operation are joined whichever files or parts of a file
 * they are in. Detection threads were tried and measured slower on the 2-core machine this was built on
 * (BENCHMARKS.md › Scan as a process); they would also have to share that state.
 */
import type { AlertRow } from '../../alert/columns';
import type {
  AlertSink,
  Logger,
  MalformedMessage,
  MalformedStore,
  OperationStateStore,
} from '../../pipeline/ports';
import type { RuleContext } from '../../detect/types';
import type { Allowlist } from '../../triage/allowlist';
import type { CaptureHistoryStore } from '../../triage/history';
import { runBatch } from '../../pipeline/runBatch';
import type { BufferPool } from './inputs';

/** One problem of a malformed message as the run needs it: where (the message, its line) and why. */
export interface DetectedProblem {
  readonly index: number;
  /** 1-based line within the message (JSON Lines), when the problem is one line's. */
  readonly line?: number;
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

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What every batch of the run shares: the operation state of the lifecycle join, and triage's parts. */
export interface RunShared {
  readonly operationState: OperationStateStore;
  readonly allowlist?: Allowlist;
  readonly captureHistory?: CaptureHistoryStore;
  /** The deployment's protected scope, for the integrity rules. */
  readonly context: RuleContext;
}

/** The batch runner over `messages` with collecting ports and what the run shares. */
export async function detectMessages(
  messages: readonly Buffer[],
  prefilter: boolean,
  shared: RunShared,
): Promise<DetectResult> {
  const { context, ...parts } = shared;
  const alerts: AlertRow[] = [];
  const malformed: DetectedProblem[] = [];
  const sink: AlertSink = {
    name: 'collect',
    deliver: (found) => {
      for (const alert of found) alerts.push(alert);
      return Promise.resolve({ delivered: found.length, retried: 0, deadLettered: 0 });
    },
  };
  const store: MalformedStore = {
    name: 'collect',
    keep: (messagesKept) => {
      for (const m of messagesKept) {
        // The problems the message keeps described, each where it is; the rest of them as one count.
        for (const p of m.problems) {
          malformed.push({
            index: m.index,
            ...(p.line === undefined ? {} : { line: p.line }),
            code: p.code,
            reason: p.reason,
          });
        }
        const more = m.problemCount - m.problems.length;
        if (m.problems.length === 0 || more > 0) {
          malformed.push({
            index: m.index,
            code: m.code,
            reason:
              m.problems.length === 0
                ? m.reason
                : `and ${more} more problem${more === 1 ? '' : 's'} in this part`,
          });
        }
      }
      return Promise.resolve();
    },
  };
  const outcome = await runBatch(
    messages,
    messages.map(() => ({})),
    { source: 'file' },
    // The whole run is one window: a scan reads in minutes what Azure logged over months.
    { sink, malformedStore: store, ...parts, operationWindowMs: Number.MAX_SAFE_INTEGER / 4 },
    silent,
    { prefilter, context },
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

/** Detection for one run: gives each batch's leased read buffer back to the pool once detected. */
export class RunDetector {
  constructor(
    private readonly pool: BufferPool,
    private readonly prefilter: boolean,
    private readonly shared: RunShared,
  ) {}

  async detect(messages: readonly Buffer[], leased: ArrayBuffer | undefined): Promise<DetectResult> {
    try {
      return await detectMessages(messages, this.prefilter, this.shared);
    } finally {
      if (leased) this.pool.release(leased);
    }
  }
}
