/*
 * The Logs Ingestion adapter of the `AlertSink` port: alert rows fitted to the service's limits, uploaded
 * with retries inside the time budget, and whatever is still undelivered written to the dead-letter store.
 */
import type { TokenCredential } from '@azure/identity';
import type { LogsIngestionClientOptions } from '@azure/monitor-ingestion';
import type { AlertRow } from '../alert/columns';
import type { LogsIngestionSettings } from '../config/settings';
import type { AlertDeadLetterWriter, DeadLetterFailure } from './deadLetter';
import { fitAlert } from './fitAlert';
import {
  DEFAULT_RETRY,
  uploadWithRetry,
  type RetrySettings,
  type UploadClient,
  type UploadHooks,
  type UploadOutcome,
} from './uploader';
import { errorText } from '../lib/errorText';
import { once } from '../lib/once';
import type { AlertSink, BatchInfo, DeliveryReport, Logger } from '../pipeline/ports';

/**
 * Log messages operators query on (App Insights `traces`; fields follow the message as one JSON object).
 * Kept constant: alerts and KQL match on them.
 */
export const LOG_DELIVERY = 'alert delivery';
export const LOG_DEAD_LETTERED = 'alerts dead-lettered';
export const LOG_DEAD_LETTER_FAILED = 'dead-letter write failed';
export const LOG_TRIMMED = 'alerts trimmed to fit Logs Ingestion limits';
export const LOG_RETRY = 'alert delivery retry';

const MAX_IDS_PER_LOG_LINE = 100;
const MAX_REASONS_PER_LOG_LINE = 10;

/**
 * The Logs Ingestion client, made on first use: `@azure/monitor-ingestion` is loaded when the first alert
 * is delivered, never when the function starts. The SDK's retries are off (`maxRetries: 0`): the uploader
 * does them, counts them and keeps them within the budget.
 */
export function lazyLogsIngestionClient(
  endpoint: string,
  credential: () => Promise<TokenCredential>,
  clientOptions: LogsIngestionClientOptions = {},
): () => Promise<UploadClient> {
  return once(async () => {
    const { LogsIngestionClient } = await import('@azure/monitor-ingestion');
    return new LogsIngestionClient(endpoint, await credential(), {
      ...clientOptions,
      retryOptions: { maxRetries: 0 },
    });
  });
}

export interface LogsIngestionSinkConfig {
  readonly target: LogsIngestionSettings;
  readonly client: () => Promise<UploadClient>;
  readonly deadLetters: AlertDeadLetterWriter;
  readonly logger: Logger;
  readonly retry: RetrySettings;
  readonly hooks?: UploadHooks;
}

export interface LogsIngestionReport extends DeliveryReport {
  readonly trimmed: number;
  readonly calls: number;
  readonly deadLetterBlob?: string;
}

/**
 * Delivers alert rows to the Log Analytics table. Every alert ends up accepted by the service or written
 * to the dead-letter container; if that write fails too, `deliver` throws (`DEAD_LETTER_FAILED`) so the
 * trigger's retry policy keeps the checkpoint before this batch.
 */
export class LogsIngestionSink implements AlertSink {
  readonly name = 'logs-ingestion';

  constructor(private readonly config: LogsIngestionSinkConfig) {}

  async deliver(alerts: readonly AlertRow[], batch: BatchInfo): Promise<LogsIngestionReport> {
    if (alerts.length === 0) return { delivered: 0, retried: 0, deadLettered: 0, trimmed: 0, calls: 0 };
    const { logger, target } = this.config;
    const started = Date.now();
    const where = {
      partitionId: batch.partitionId,
      firstSequenceNumber: batch.firstSequenceNumber,
      lastSequenceNumber: batch.lastSequenceNumber,
      invocationId: batch.invocationId,
    };

    // One line for the delivery, however many alerts were trimmed (each is marked in its Context).
    const trimmedIds: string[] = [];
    let trimmed = 0;
    const rows = alerts.map((alert) => {
      const fit = fitAlert(alert);
      if (fit.trimmed) {
        trimmed++;
        if (trimmedIds.length < MAX_IDS_PER_LOG_LINE) trimmedIds.push(alert.AlertId);
      }
      return fit.row;
    });
    if (trimmed > 0) logger.warn(LOG_TRIMMED, { alerts: trimmed, alertIds: trimmedIds, ...where });

    const outcome: UploadOutcome<AlertRow> = await uploadWithRetry(
      this.config.client,
      target.ruleId,
      target.streamName,
      rows,
      this.config.retry,
      {
        ...this.config.hooks,
        onRetry: (info) => {
          logger.warn(LOG_RETRY, { ...info, ...where });
          this.config.hooks?.onRetry?.(info);
        },
      },
    );

    const undelivered = outcome.failed.flatMap((f) => f.rows);
    let deadLetterBlobs: string[] = [];
    if (undelivered.length > 0) {
      const failures: DeadLetterFailure[] = outcome.failed.map((f) => ({
        reason: f.reason,
        alertIds: f.rows.map((r) => r.AlertId),
      }));
      try {
        deadLetterBlobs = await this.config.deadLetters.writeAlerts(undelivered, failures, batch);
      } catch (error) {
        logger.error(LOG_DEAD_LETTER_FAILED, {
          alerts: undelivered.length,
          alertIds: undelivered.slice(0, MAX_IDS_PER_LOG_LINE).map((r) => r.AlertId),
          reasons: distinctReasons(failures),
          error: errorText(error),
          ...where,
        });
        throw error;
      }
      logger.error(LOG_DEAD_LETTERED, {
        alerts: undelivered.length,
        blob: deadLetterBlobs[0],
        ...(deadLetterBlobs.length > 1 ? { parts: deadLetterBlobs.length } : {}),
        alertIds: undelivered.slice(0, MAX_IDS_PER_LOG_LINE).map((r) => r.AlertId),
        reasons: distinctReasons(failures),
        ...where,
      });
    }

    const report: LogsIngestionReport = {
      delivered: outcome.accepted.length,
      retried: outcome.retried,
      deadLettered: undelivered.length,
      trimmed,
      calls: outcome.calls,
      ...(deadLetterBlobs[0] === undefined ? {} : { deadLetterBlob: deadLetterBlobs[0] }),
    };
    logger.info(LOG_DELIVERY, {
      sink: this.name,
      alerts: alerts.length,
      ...report,
      durationMs: Date.now() - started,
      ...where,
    });
    return report;
  }
}

/** A log line names each distinct reason once, and at most a few of them. */
function distinctReasons(failures: readonly DeadLetterFailure[]): string[] {
  return [...new Set(failures.map((f) => f.reason))].slice(0, MAX_REASONS_PER_LOG_LINE);
}

export function retrySettings(budgetMs: number, overrides: Partial<RetrySettings> = {}): RetrySettings {
  return { ...DEFAULT_RETRY, budgetMs, ...overrides };
}
