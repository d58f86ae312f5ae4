/*
 * Health rows from the batches the runner processes, best effort: each message is counted from its bytes
 * before detection (health/count.ts, no parsing), the counts join the process's windows only once the batch
 * was delivered (a retried batch is not counted twice), and windows that ended are written after the alerts,
 * through their own sink with their own small budget. Nothing here throws or delays alert delivery: a failed
 * write is logged, counted, and its rows kept (bounded) for the next flush.
 */
import type { HealthRow } from '../health/columns';
import { ceilingFor, countRecords } from '../health/count';
import { HealthWindows, MAX_PENDING_ROWS, type HealthLabels, type ObservedMessage } from '../health/windows';
import { errorText } from '../lib/errorText';
import type { Logger, MessageMeta } from './ports';

/** Log messages operators query on (App Insights `traces`); kept constant. */
export const LOG_HEALTH_WRITTEN = 'health rows written';
export const LOG_HEALTH_FAILED = 'health rows not written';

/** What a health write left undone: the rows not accepted, and why. */
export interface HealthWriteResult {
  readonly failed: readonly HealthRow[];
  readonly reason?: string;
}

/** Where health rows go: the health table through Logs Ingestion in Azure, a log line locally. */
export interface HealthSink {
  readonly name: string;
  /** Writes the rows within its own budget; a throw counts as every row failed. */
  write(rows: readonly HealthRow[], logger: Logger): Promise<HealthWriteResult>;
}

export interface HealthCounters {
  rowsWritten: number;
  rowsFailed: number;
  rowsDropped: number;
  flushes: number;
}

export class HealthMonitor {
  readonly counters: HealthCounters = { rowsWritten: 0, rowsFailed: 0, rowsDropped: 0, flushes: 0 };
  private readonly windows: HealthWindows;
  private unwritten: HealthRow[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly sink: HealthSink,
    windowMs: number,
    labels: HealthLabels,
  ) {
    this.windows = new HealthWindows(windowMs, labels);
  }

  get sinkName(): string {
    return this.sink.name;
  }

  /** Counts a batch's messages from their bytes (cheap; nothing is parsed). */
  observe(messages: readonly unknown[], metas: readonly MessageMeta[], now: Date): ObservedMessage[] {
    const ceiling = ceilingFor(now);
    return messages.map((body, i) => {
      const enqueuedTimeUtc = metas[i]?.enqueuedTimeUtc;
      return {
        count: countRecords(body, ceiling),
        ...(enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc }),
      };
    });
  }

  /** Adds a delivered batch's counts, then writes the windows that ended. Never throws. */
  async record(observed: readonly ObservedMessage[], now: Date, logger: Logger): Promise<void> {
    this.windows.add(observed, now);
    await this.flush(now, logger);
  }

  /** Writes the rows of ended windows (every window with `all`, when stopping). Never throws. */
  async flush(now: Date, logger: Logger, all = false): Promise<void> {
    // One write at a time per process: concurrent batches (consume's partitions) queue behind it.
    while (this.flushing) await this.flushing;
    const rows = [...this.unwritten, ...this.windows.take(now, all)];
    this.unwritten = [];
    if (rows.length === 0) return;
    this.flushing = this.write(rows, logger);
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  private async write(rows: HealthRow[], logger: Logger): Promise<void> {
    this.counters.flushes++;
    let result: HealthWriteResult;
    try {
      result = await this.sink.write(rows, logger);
    } catch (error) {
      result = { failed: rows, reason: errorText(error) };
    }
    const failed = result.failed;
    this.counters.rowsWritten += rows.length - failed.length;
    if (failed.length === 0) {
      logger.info(LOG_HEALTH_WRITTEN, { rows: rows.length, sink: this.sink.name, ...this.counters });
      return;
    }
    this.counters.rowsFailed += failed.length;
    const kept = failed.slice(-MAX_PENDING_ROWS);
    this.counters.rowsDropped += failed.length - kept.length;
    this.unwritten = kept;
    logger.warn(LOG_HEALTH_FAILED, {
      rows: rows.length,
      failed: failed.length,
      keptForNextFlush: kept.length,
      sink: this.sink.name,
      reason: result.reason,
      ...this.counters,
    });
  }
}
