/*
 * The one factory every host builds its `Delivery` with. It chooses where alerts and malformed messages go:
 * - Logs Ingestion configured: the Log Analytics table through `LogsIngestionClient`, with undeliverable
 *   alerts and malformed messages in the blob dead-letter container (required then).
 * - Otherwise (or asked for with `local`): the host's local adapters, by default alerts on stdout as JSON
 *   Lines and malformed input described on stderr.
 * Nothing here loads an Azure SDK: clients and the credential are made when first needed, and shared by
 * every delivery made from the same settings (the function makes one per invocation).
 */
import type { TableServiceClientOptions } from '@azure/data-tables' with { 'resolution-mode': 'import' };
import type { LogsIngestionClientOptions } from '@azure/monitor-ingestion';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import type { Settings } from '../config/settings';
import { DetectorError } from '../lib/errors';
import type { AlertSink, Delivery, Logger, MalformedStore, OperationStateStore } from '../pipeline/ports';
import type { Allowlist } from '../triage/allowlist';
import type { CaptureHistoryStore } from '../triage/history';
import { TableCaptureHistoryStore } from '../state/historyTableStore';
import { MemoryCaptureHistoryStore } from '../state/memoryHistoryStore';
import { MemoryOperationStateStore } from '../state/memoryStore';
import { TableOperationStateStore } from '../state/tableStore';
import { chooseCredential, describeCredential, lazyCredential } from './credential';
import { BlobDeadLetterStore } from './deadLetter';
import { StderrMalformedStore, StdoutSink } from './local';
import type { HealthLabels } from '../health/windows';
import { HealthMonitor } from '../pipeline/health';
import { LogHealthSink, LogsIngestionHealthSink } from './healthSink';
import { LogsIngestionSink, lazyLogsIngestionClient, retrySettings } from './logsIngestionSink';
import type { RetrySettings, UploadClient, UploadHooks } from './uploader';

export { LogMalformedStore, StderrMalformedStore, StdoutSink } from './local';
export { MemoryOperationStateStore } from '../state/memoryStore';
export { MemoryCaptureHistoryStore } from '../state/memoryHistoryStore';

/** For tests and tools: trust a local certificate, shorten timings. Production passes none. */
export interface DeliveryOverrides {
  readonly env?: NodeJS.ProcessEnv;
  readonly logsIngestionClientOptions?: LogsIngestionClientOptions;
  readonly blobClientOptions?: StoragePipelineOptions;
  readonly tableClientOptions?: TableServiceClientOptions;
  readonly retry?: Partial<RetrySettings>;
  readonly hooks?: UploadHooks;
}

export interface DeliveryOptions extends DeliveryOverrides {
  /** Use the local adapters even when Logs Ingestion is configured (`--stdout`). */
  readonly local?: boolean;
  /** The local alert sink; default: JSON Lines on stdout. */
  readonly localSink?: AlertSink;
  /** The local store of malformed messages; default: described on stderr. */
  readonly localMalformedStore?: MalformedStore;
  /** Keeps malformed messages here whatever the destination (scan: the scanned files keep them). */
  readonly malformedStore?: MalformedStore;
  /** The lifecycle join's state (scan: its own, in memory); default: the host storage's table, shared. */
  readonly operationState?: OperationStateStore;
  /** The allowlist to apply instead of the settings' (`scan --allowlist`). */
  readonly allowlist?: Allowlist;
  /** The callers' capture history (scan: its own, in memory); default: the host storage's table, shared. */
  readonly captureHistory?: CaptureHistoryStore;
  /**
   * Write health rows, labelled so (the Function and consume; not scan). The monitor is shared by every
   * delivery made from the same settings and labels, so its windows span a process's invocations.
   */
  readonly health?: HealthLabels;
}

export interface DetectorDelivery extends Delivery {
  /** Present with Logs Ingestion; replay uses it. */
  readonly deadLetters?: BlobDeadLetterStore;
}

/** The Logs Ingestion client and the dead-letter store, both lazy; replay uses them without the sink. */
export interface DeliveryParts {
  readonly client: () => Promise<UploadClient>;
  readonly deadLetters: BlobDeadLetterStore;
}

const shared = new WeakMap<Settings, DeliveryParts>();
const sharedState = new WeakMap<Settings, OperationStateStore>();
const sharedHistory = new WeakMap<Settings, CaptureHistoryStore>();
const sharedHealth = new WeakMap<Settings, Map<string, HealthMonitor>>();

/** The process's health monitor for these settings and labels (a new one when overridden, for tests). */
function healthFor(
  settings: Settings,
  labels: HealthLabels,
  options: DeliveryOptions,
  parts: DeliveryParts | undefined,
): HealthMonitor {
  const make = () => {
    const li = settings.logsIngestion;
    const sink =
      li && parts && options.local !== true
        ? new LogsIngestionHealthSink({
            client: parts.client,
            ruleId: li.ruleId,
            streamName: li.healthStreamName,
            ...(options.hooks ? { hooks: options.hooks } : {}),
          })
        : new LogHealthSink();
    return new HealthMonitor(sink, settings.healthWindowMs, labels);
  };
  if (hasOverrides(options)) return make();
  let byLabels = sharedHealth.get(settings);
  if (!byLabels) {
    byLabels = new Map();
    sharedHealth.set(settings, byLabels);
  }
  const key = `${labels.source}\n${labels.eventHubName}\n${labels.consumerGroup}`;
  let monitor = byLabels.get(key);
  if (!monitor) {
    monitor = make();
    byLabels.set(key, monitor);
  }
  return monitor;
}

function credentialFor(settings: Settings, overrides: DeliveryOverrides) {
  return lazyCredential(chooseCredential(overrides.env ?? process.env, settings.managedIdentityClientId));
}

/** The dead-letter container of these settings; needs only the storage settings (`replay --list`). */
export function createDeadLetterStore(
  settings: Settings,
  overrides: DeliveryOverrides = {},
  credential = credentialFor(settings, overrides),
): BlobDeadLetterStore {
  if (!settings.deadLetterStorage) {
    throw new DetectorError(
      'CONFIG_INVALID',
      'No dead-letter store is configured: set DEAD_LETTER_BLOB_SERVICE_URI (https), AzureWebJobsStorage__blobServiceUri / __accountName, or AzureWebJobsStorage',
    );
  }
  return new BlobDeadLetterStore({
    storage: settings.deadLetterStorage,
    container: settings.deadLetterContainer,
    credential,
    ...(overrides.blobClientOptions ? { clientOptions: overrides.blobClientOptions } : {}),
  });
}

export function createDeliveryParts(settings: Settings, overrides: DeliveryOverrides = {}): DeliveryParts {
  const li = settings.logsIngestion;
  if (!li) throw new DetectorError('CONFIG_INVALID', 'Logs Ingestion is not configured');
  if (!settings.deadLetterStorage) {
    throw new DetectorError(
      'CONFIG_INVALID',
      'Delivery to Logs Ingestion needs a dead-letter store for alerts that cannot be delivered: set DEAD_LETTER_BLOB_SERVICE_URI (https), AzureWebJobsStorage__blobServiceUri / __accountName, or AzureWebJobsStorage',
    );
  }
  const credential = credentialFor(settings, overrides);
  return {
    client: lazyLogsIngestionClient(li.endpoint, credential, overrides.logsIngestionClientOptions),
    deadLetters: createDeadLetterStore(settings, overrides, credential),
  };
}

/**
 * Where the lifecycle join keeps operation state: the host storage's table (identity-based in Azure,
 * Azurite locally), else process memory (the join then spans one process's batches).
 */
export function createOperationStateStore(
  settings: Settings,
  overrides: DeliveryOverrides = {},
): OperationStateStore {
  const storage = settings.operationStateStorage;
  if (storage === undefined) return new MemoryOperationStateStore();
  return new TableOperationStateStore({
    storage,
    table: settings.operationStateTable,
    credential: credentialFor(settings, overrides),
    ...(overrides.tableClientOptions ? { clientOptions: overrides.tableClientOptions } : {}),
  });
}

function operationStateFor(settings: Settings, options: DeliveryOptions): OperationStateStore {
  if (options.operationState) return options.operationState;
  if (hasOverrides(options)) return createOperationStateStore(settings, options);
  let store = sharedState.get(settings);
  if (!store) {
    store = createOperationStateStore(settings);
    sharedState.set(settings, store);
  }
  return store;
}

/**
 * Where each caller's capture history is kept: a table of the host storage (the same service as the
 * operation state), else process memory (the history then spans one process's batches).
 */
export function createCaptureHistoryStore(
  settings: Settings,
  overrides: DeliveryOverrides = {},
): CaptureHistoryStore {
  const storage = settings.operationStateStorage;
  if (storage === undefined) return new MemoryCaptureHistoryStore();
  return new TableCaptureHistoryStore({
    storage,
    table: settings.captureHistoryTable,
    credential: credentialFor(settings, overrides),
    ...(overrides.tableClientOptions ? { clientOptions: overrides.tableClientOptions } : {}),
  });
}

function captureHistoryFor(settings: Settings, options: DeliveryOptions): CaptureHistoryStore {
  if (options.captureHistory) return options.captureHistory;
  if (hasOverrides(options)) return createCaptureHistoryStore(settings, options);
  let store = sharedHistory.get(settings);
  if (!store) {
    store = createCaptureHistoryStore(settings);
    sharedHistory.set(settings, store);
  }
  return store;
}

function hasOverrides(o: DeliveryOverrides): boolean {
  return (
    o.env !== undefined ||
    o.logsIngestionClientOptions !== undefined ||
    o.blobClientOptions !== undefined ||
    o.tableClientOptions !== undefined ||
    o.retry !== undefined ||
    o.hooks !== undefined
  );
}

export function createDelivery(
  settings: Settings,
  logger: Logger,
  options: DeliveryOptions = {},
): DetectorDelivery {
  const li = settings.logsIngestion;
  const allowlist = options.allowlist ?? settings.allowlist;
  const batchParts = {
    operationState: operationStateFor(settings, options),
    operationWindowMs: settings.operationWindowMs,
    captureHistory: captureHistoryFor(settings, options),
    ...(allowlist === undefined ? {} : { allowlist }),
  };
  if (!li || options.local === true) {
    return {
      sink: options.localSink ?? new StdoutSink(),
      malformedStore: options.malformedStore ?? options.localMalformedStore ?? new StderrMalformedStore(),
      ...batchParts,
      ...(options.health ? { health: healthFor(settings, options.health, options, undefined) } : {}),
    };
  }

  const overridden = hasOverrides(options);
  let parts = overridden ? undefined : shared.get(settings);
  if (!parts) {
    parts = createDeliveryParts(settings, options);
    if (!overridden) {
      shared.set(settings, parts);
      logger.info('delivery configured', {
        sink: 'logs-ingestion',
        endpoint: li.endpoint,
        ruleId: li.ruleId,
        stream: li.streamName,
        deadLetters: parts.deadLetters.location,
        credential: describeCredential(chooseCredential(process.env, settings.managedIdentityClientId)),
        budgetMs: settings.deliveryTimeBudgetMs,
        operationState: batchParts.operationState.name,
        captureHistory: batchParts.captureHistory.name,
        allowlist:
          allowlist === undefined ? 'none' : `${allowlist.source} (${allowlist.entries.length} rows)`,
      });
    }
  }
  const sink = new LogsIngestionSink({
    target: li,
    client: parts.client,
    deadLetters: parts.deadLetters,
    logger,
    retry: retrySettings(settings.deliveryTimeBudgetMs, options.retry),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  return {
    sink,
    malformedStore: options.malformedStore ?? parts.deadLetters,
    deadLetters: parts.deadLetters,
    ...batchParts,
    ...(options.health ? { health: healthFor(settings, options.health, options, parts) } : {}),
  };
}
