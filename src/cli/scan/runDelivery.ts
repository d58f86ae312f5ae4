/*
 * Delivery to Logs Ingestion for a whole `scan` run, with ONE retry budget for the run instead of one per
 * file. Each batch is delivered through the same sink as the function (retries, trimming, dead letters),
 * but its retry budget is what is left of the run's: the clock starts when Logs Ingestion first fails and
 * stops (resets) as soon as it accepts a row again. Once it has been failing for the whole budget, every
 * later batch is dead-lettered at once, without an attempt, so an outage costs the run one budget, not
 * one per file. With `wait`, retryable failures are instead retried until the service answers (backoff
 * up to its cap), holding the run: nothing is dead-lettered for an outage, only for answers that waiting
 * cannot change (400, 401, 403, 404).
 *
 * When the dead-letter store fails too, nothing is thrown at the batch runner: the batch's alerts are
 * handed back as `undelivered`, so the run can still print them and count what happened.
 */
import type { AlertRow } from '../../alert/columns';
import type { Settings } from '../../config/settings';
import { createDeliveryParts, type DeliveryOverrides, type DeliveryParts } from '../../deliver/index';
import {
  LOG_DEAD_LETTER_FAILED,
  LOG_DEAD_LETTERED,
  LogsIngestionSink,
  retrySettings,
} from '../../deliver/logsIngestionSink';
import { DEFAULT_RETRY } from '../../deliver/uploader';
import { DetectorError } from '../../lib/errors';
import { errorText } from '../../lib/errorText';
import type { BatchInfo, DeliveryReport, Logger } from '../../pipeline/ports';

export interface RunDeliveryReport extends DeliveryReport {
  /** Alerts neither accepted nor dead-lettered (the dead-letter store failed too). */
  readonly undelivered: readonly AlertRow[];
}

export interface RunDeliveryOptions {
  readonly budgetMs: number;
  readonly wait: boolean;
  readonly overrides?: DeliveryOverrides;
  readonly now?: () => number;
}

export class RunDelivery {
  readonly name = 'logs-ingestion';
  private readonly parts: DeliveryParts;
  private failingSince: number | undefined;
  /**
   * A delivery retried and still gave up while Logs Ingestion was failing: its retries stopped because the
   * next one would not have fitted the run's budget (or the attempts ran out), so the budget is spent even
   * if a second or two of it is left. Without this, each later file would knock again with that remainder.
   */
  private gaveUp = false;
  private spentNoted = false;
  /** Dead-letter blobs written by this run, in order. */
  readonly deadLetterBlobs: string[] = [];
  readonly target: NonNullable<Settings['logsIngestion']>;

  constructor(
    settings: Settings,
    private readonly logger: Logger,
    private readonly options: RunDeliveryOptions,
  ) {
    if (!settings.logsIngestion)
      throw new DetectorError('CONFIG_INVALID', 'Logs Ingestion is not configured');
    this.target = settings.logsIngestion;
    this.parts = createDeliveryParts(settings, options.overrides);
  }

  /** Where dead letters go (no secret in it). */
  get deadLetterLocation(): string {
    return this.parts.deadLetters.location;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Milliseconds of the run's budget left; the whole budget while Logs Ingestion is healthy. */
  remainingMs(): number {
    return this.failingSince === undefined
      ? this.options.budgetMs
      : this.options.budgetMs - (this.now() - this.failingSince);
  }

  /**
   * Whether the budget is spent and batches are dead-lettered without an attempt: what is left of it could
   * not hold even one retry (the first backoff delay), so an attempt would only knock once more.
   */
  get exhausted(): boolean {
    const firstDelay = this.options.overrides?.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
    return (
      !this.options.wait &&
      this.failingSince !== undefined &&
      (this.gaveUp || this.remainingMs() < firstDelay)
    );
  }

  async deliver(alerts: readonly AlertRow[], batch: BatchInfo): Promise<RunDeliveryReport> {
    if (alerts.length === 0) return { delivered: 0, retried: 0, deadLettered: 0, undelivered: [] };
    if (this.exhausted) return this.deadLetterNow(alerts, batch);
    const started = this.now();
    const remaining = this.remainingMs();
    const base = this.options.overrides?.retry ?? {};
    const retry = this.options.wait
      ? retrySettings(Number.MAX_SAFE_INTEGER, { ...base, maxAttempts: Number.MAX_SAFE_INTEGER })
      : retrySettings(remaining, {
          ...base,
          // A stuck connection may not outlast the run's budget either.
          attemptTimeoutMs: Math.min(
            base.attemptTimeoutMs ?? DEFAULT_RETRY.attemptTimeoutMs,
            Math.max(remaining, 1_000),
          ),
        });
    const sink = new LogsIngestionSink({
      target: this.target,
      client: this.parts.client,
      deadLetters: this.parts.deadLetters,
      logger: this.logger,
      retry,
      hooks: {
        ...this.options.overrides?.hooks,
        onRetry: (info) => {
          this.failingSince ??= started;
          this.options.overrides?.hooks?.onRetry?.(info);
        },
      },
    });
    try {
      const report = await sink.deliver(alerts, batch);
      if (report.delivered > 0) {
        this.failingSince = undefined;
        this.gaveUp = false;
      } else if (report.deadLettered > 0) {
        this.failingSince ??= started;
        // Retried and still dead-lettered: a retryable failure outlasted the budget (a refusal such as 400
        // or 403 is not retried, and leaves the budget to the files after it).
        if (report.retried > 0) this.gaveUp = true;
      }
      if (report.deadLetterBlob !== undefined) this.deadLetterBlobs.push(report.deadLetterBlob);
      return { ...report, undelivered: [] };
    } catch {
      // The dead-letter write failed as well (the sink logged it). Whatever the service accepted before
      // is not known here, so every alert of the batch is handed back; a second copy is harmless (AlertId).
      this.failingSince ??= started;
      return { delivered: 0, retried: 0, deadLettered: 0, undelivered: [...alerts] };
    }
  }

  private async deadLetterNow(alerts: readonly AlertRow[], batch: BatchInfo): Promise<RunDeliveryReport> {
    const seconds = Math.round(this.options.budgetMs / 1000);
    const reason = `not attempted: Logs Ingestion has been failing for the run's whole delivery budget (${seconds} s, DELIVERY_TIME_BUDGET_SECONDS); run with --wait-for-delivery to wait instead`;
    if (!this.spentNoted) {
      this.spentNoted = true;
      this.logger.warn('delivery budget spent', { budgetSeconds: seconds });
    }
    try {
      const blobs = await this.parts.deadLetters.writeAlerts(
        alerts,
        [{ reason, alertIds: alerts.map((a) => a.AlertId) }],
        batch,
      );
      for (const blob of blobs) this.deadLetterBlobs.push(blob);
      this.logger.error(LOG_DEAD_LETTERED, { alerts: alerts.length, blobs, reasons: [reason] });
      return { delivered: 0, retried: 0, deadLettered: alerts.length, undelivered: [] };
    } catch (error) {
      this.logger.error(LOG_DEAD_LETTER_FAILED, { alerts: alerts.length, error: errorText(error) });
      return { delivered: 0, retried: 0, deadLettered: 0, undelivered: [...alerts] };
    }
  }
}
