/*
 * The adapters of the health port: health rows into their table through the Logs Ingestion API (the alerts'
 * DCR, the health stream), with a budget of their own that is small next to the alerts', or as a log line
 * when no table is configured. Neither throws: what was not accepted goes back to the monitor, which keeps it
 * for the next flush.
 */
import type { HealthRow } from '../health/columns';
import type { HealthSink, HealthWriteResult } from '../pipeline/health';
import type { Logger } from '../pipeline/ports';
import { uploadWithRetry, type RetrySettings, type UploadClient, type UploadHooks } from './uploader';

/** A few seconds and three attempts: health rows wait for the next flush rather than hold a batch up. */
export const HEALTH_RETRY: RetrySettings = {
  budgetMs: 10_000,
  attemptTimeoutMs: 5_000,
  baseDelayMs: 500,
  maxDelayMs: 2_000,
  maxAttempts: 3,
};

/** Log message of the local sink (rows as a log line, for func start and consume without a table). */
export const LOG_HEALTH_ROWS = 'health rows';

export interface LogsIngestionHealthSinkConfig {
  readonly client: () => Promise<UploadClient>;
  readonly ruleId: string;
  readonly streamName: string;
  readonly retry?: RetrySettings;
  readonly hooks?: UploadHooks;
}

export class LogsIngestionHealthSink implements HealthSink {
  readonly name = 'logs-ingestion';

  constructor(private readonly config: LogsIngestionHealthSinkConfig) {}

  async write(rows: readonly HealthRow[]): Promise<HealthWriteResult> {
    const outcome = await uploadWithRetry(
      this.config.client,
      this.config.ruleId,
      this.config.streamName,
      rows,
      this.config.retry ?? HEALTH_RETRY,
      this.config.hooks,
    );
    return {
      failed: outcome.failed.flatMap((f) => f.rows),
      ...(outcome.failed.length === 0 ? {} : { reason: outcome.failed.map((f) => f.reason).join('; ') }),
    };
  }
}

export class LogHealthSink implements HealthSink {
  readonly name = 'log';

  write(rows: readonly HealthRow[], logger: Logger): Promise<HealthWriteResult> {
    logger.info(LOG_HEALTH_ROWS, { rows });
    return Promise.resolve({ failed: [] });
  }
}
