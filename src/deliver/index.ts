import type { LogsIngestionClientOptions } from '@azure/monitor-ingestion';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import type { Settings } from '../config/settings';
import { DetectorError } from '../errors';
import { chooseCredential, describeCredential, lazyCredential } from './credential';
import { BlobDeadLetterStore } from './deadLetter';
import { LogsIngestionSink, lazyLogsIngestionClient, retrySettings } from './logsIngestionSink';
import { StderrMalformedStore, StdoutSink } from './stdoutSink';
import type { AlertSink, Logger, MalformedStore } from './types';
import type { RetrySettings, UploadClient, UploadHooks } from './uploader';

/**
 * Chooses where alerts and malformed messages go:
 * - Logs Ingestion configured: the Log Analytics table through `LogsIngestionClient`, with undeliverable
 *   alerts and malformed messages in the blob dead-letter container (required then).
 * - Otherwise: alerts on stdout as JSON Lines, malformed input described on stderr (the scan CLI).
 * Nothing here loads an Azure SDK: clients and the credential are made when first needed, and shared by
 * every delivery made from the same settings (the function makes one per invocation).
 */
export interface Delivery {
  readonly sink: AlertSink;
  readonly malformedStore: MalformedStore;
  /** Present with Logs Ingestion; replay uses it. */
  readonly deadLetters?: BlobDeadLetterStore;
}

/** For tests and tools: trust a local certificate, shorten timings. Production passes none. */
export interface DeliveryOverrides {
  readonly env?: NodeJS.ProcessEnv;
  readonly logsIngestionClientOptions?: LogsIngestionClientOptions;
  readonly blobClientOptions?: StoragePipelineOptions;
  readonly retry?: Partial<RetrySettings>;
  readonly hooks?: UploadHooks;
}

/** The Logs Ingestion client and the dead-letter store, both lazy; replay uses them without the sink. */
export interface DeliveryParts {
  readonly client: () => Promise<UploadClient>;
  readonly deadLetters: BlobDeadLetterStore;
}

const shared = new WeakMap<Settings, DeliveryParts>();

export function createDeliveryParts(settings: Settings, overrides: DeliveryOverrides = {}): DeliveryParts {
  const li = settings.logsIngestion;
  if (!li) throw new DetectorError('CONFIG_INVALID', 'Logs Ingestion is not configured');
  if (!settings.deadLetterStorage) {
    throw new DetectorError(
      'CONFIG_INVALID',
      'Delivery to Logs Ingestion needs a dead-letter store for alerts that cannot be delivered: set DEAD_LETTER_BLOB_SERVICE_URI (https), AzureWebJobsStorage__blobServiceUri / __accountName, or AzureWebJobsStorage',
    );
  }
  const credential = lazyCredential(
    chooseCredential(overrides.env ?? process.env, settings.managedIdentityClientId),
  );
  return {
    client: lazyLogsIngestionClient(li.endpoint, credential, overrides.logsIngestionClientOptions),
    deadLetters: new BlobDeadLetterStore({
      storage: settings.deadLetterStorage,
      container: settings.deadLetterContainer,
      credential,
      ...(overrides.blobClientOptions ? { clientOptions: overrides.blobClientOptions } : {}),
    }),
  };
}

export function createDelivery(settings: Settings, logger: Logger, overrides?: DeliveryOverrides): Delivery {
  const li = settings.logsIngestion;
  if (!li) return { sink: new StdoutSink(), malformedStore: new StderrMalformedStore() };

  let parts = overrides ? undefined : shared.get(settings);
  if (!parts) {
    parts = createDeliveryParts(settings, overrides ?? {});
    if (!overrides) {
      shared.set(settings, parts);
      logger.info('delivery configured', {
        sink: 'logs-ingestion',
        endpoint: li.endpoint,
        ruleId: li.ruleId,
        stream: li.streamName,
        deadLetters: parts.deadLetters.location,
        credential: describeCredential(chooseCredential(process.env, settings.managedIdentityClientId)),
        budgetMs: settings.deliveryTimeBudgetMs,
      });
    }
  }
  const sink = new LogsIngestionSink({
    target: li,
    client: parts.client,
    deadLetters: parts.deadLetters,
    logger,
    retry: retrySettings(settings.deliveryTimeBudgetMs, overrides?.retry),
    ...(overrides?.hooks ? { hooks: overrides.hooks } : {}),
  });
  return { sink, malformedStore: parts.deadLetters, deadLetters: parts.deadLetters };
}
