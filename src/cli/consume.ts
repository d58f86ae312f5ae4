import { parseArgs } from 'node:util';
import {
  earliestEventPosition,
  latestEventPosition,
  type EventHubConsumerClient,
  type PartitionContext,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import type { TokenCredential } from '@azure/identity';
import { ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { loadSettings, type Settings } from '../config/settings';
import { StdoutSink } from '../deliver/stdoutSink';
import { redactText } from '../alert/redact';
import type { DeliveryOverrides } from '../deliver/index';
import type { BatchInfo, Logger, MalformedMessage, MalformedStore } from '../deliver/types';
import { DetectorError } from '../errors';
import { CLI_RETRY_OPTIONS, createConsumer, credentialFor } from '../eventhubs/clients';
import {
  describeTarget,
  resolveEventHubTarget,
  safeErrorText,
  type EventHubTarget,
} from '../eventhubs/target';
import { processEventBatch, type Delivery } from '../handler/eventHubHandler';
import type { MessageMeta } from '../pipeline/detectBatch';
import {
  addOutcome,
  emptyOutcomeTotals,
  EXIT_DELIVERY,
  EXIT_OK,
  EXIT_USAGE,
  writeLine,
  type CliIo,
  type OutcomeTotals,
} from './io';

export const DEFAULT_CHECKPOINT_CONTAINER = 'packet-capture-detector-checkpoints';

export const CONSUME_HELP = `Usage: packet-capture-detector consume [options]

Runs the detector as a standalone Event Hubs consumer (a container, Kubernetes, a laptop without Azure
Functions): reads every partition with a consumer group, passes each batch through the same pipeline and
delivery as the function, and checkpoints a batch in Blob Storage only after its alerts were delivered (or
dead-lettered). SIGINT/SIGTERM stop it gracefully: no new batches, in-flight batches finish and are
checkpointed, then it exits (a second signal exits at once with status 130; unfinished batches are read
again next time).

Event Hub (first found):
  --connection-string <cs>        also EVENTHUB_CONNECTION_STRING or EventHubConnection
  --namespace <fqdn>              DefaultAzureCredential / managed identity; also
                                  EventHubConnection__fullyQualifiedNamespace
  --hub <name>                    default: EntityPath, EVENTHUB_NAME, insights-activity-logs
  --consumer-group <name>         default: EVENTHUB_CONSUMER_GROUP, packet-capture-detector

Checkpoints (Blob Storage, official BlobCheckpointStore):
  --storage-connection-string <cs>  also AzureWebJobsStorage (UseDevelopmentStorage=true for Azurite)
  --blob-service-uri <url>          identity-based; also AzureWebJobsStorage__blobServiceUri or
                                    AzureWebJobsStorage__accountName
  --checkpoint-container <name>     default ${DEFAULT_CHECKPOINT_CONTAINER} (created if missing)

Options:
  --start-position earliest|latest  where a partition without a checkpoint starts (default earliest)
  --max-batch-size <n>              events per batch (default 100)
  --max-wait-seconds <n>            wait for a batch to fill (default 5)
  --stdout                          print alerts even when Logs Ingestion settings are present
  --log-level info|warn|error       JSON log lines on standard error (default info)
  -h, --help                        show this help

Alerts go to the Log Analytics table when LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are set,
otherwise to standard output as JSON Lines.
Exit status: 0 stopped by a signal after finishing, 2 usage error, 3 the hub or checkpoint storage could not
be used (or refused access while running), 130 stopped by a second signal.`;

export interface ConsumeOptions {
  /** Aborting it has the effect of SIGTERM. When given, no process signal handlers are installed. */
  readonly signal?: AbortSignal;
  /** Delay before re-delivering a batch whose delivery failed: doubles from `min` up to `max` (ms). */
  readonly retryDelayMs?: { readonly min: number; readonly max: number };
  /** How often the load balancer claims partitions and renews ownership (ms). */
  readonly loadBalancingIntervalMs?: number;
  /** Passed to `createDelivery` (tests: trust the local Logs Ingestion fake's certificate, shorter timings). */
  readonly deliveryOverrides?: DeliveryOverrides;
}

/** As a shell reports a process ended by SIGINT (128 + 2). */
const EXIT_INTERRUPTED = 130;

/** As the function's retry policy: exponential from 10 s up to 15 minutes. */
const DEFAULT_RETRY_DELAY_MS = { min: 10_000, max: 15 * 60_000 };
/**
 * Service answers that will not heal by waiting: the consumer stops (exit 3) rather than log them forever.
 * A missing consumer group comes back as `amqp:not-found`, which the SDK names ServiceCommunicationError
 * (as it does for network failures): the service's wording tells them apart.
 */
const FATAL_ERROR_CODES = new Set(['UnauthorizedError', 'MessagingEntityNotFoundError']);
const ENTITY_NOT_FOUND = /The messaging entity '[^']*' could not be found/i;

export function isFatalEventHubsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && FATAL_ERROR_CODES.has(code)) || ENTITY_NOT_FOUND.test(error.message);
}

type LogLevel = 'info' | 'warn' | 'error';
const LEVELS: Readonly<Record<LogLevel, number>> = { info: 0, warn: 1, error: 2 };

/** One JSON object per line: what container log collectors and `jq` expect. */
function jsonLogger(stream: NodeJS.WritableStream, minimum: LogLevel): Logger {
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < LEVELS[minimum]) return;
    const { summary: _summary, ...rest } = fields ?? {};
    stream.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...rest })}\n`);
  };
  return {
    info: (message, fields) => {
      write('info', message, fields);
    },
    warn: (message, fields) => {
      write('warn', message, fields);
    },
    error: (message, fields) => {
      write('error', message, fields);
    },
  };
}

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new DetectorError('USAGE', `${name} must be a whole number of at least 1, got "${text}"`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * A failed checkpoint write only means a batch may be read again, so checkpoints retry briefly instead of
 * the SDK's default of about 16 s, which also kept a wrong storage setting from being reported promptly.
 */
const CHECKPOINT_STORAGE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4_000, tryTimeoutInMs: 30_000 },
};

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** Where checkpoints live: the container client, by connection string (Azurite, local) or by identity. */
export function checkpointContainer(
  flags: { connectionString?: string; blobServiceUri?: string; container?: string },
  env: NodeJS.ProcessEnv,
  credential: () => Promise<TokenCredential>,
): { client: Promise<ContainerClient>; where: string } {
  const container = nonEmpty(flags.container) ?? DEFAULT_CHECKPOINT_CONTAINER;
  if (!CONTAINER_NAME.test(container)) {
    throw new DetectorError(
      'USAGE',
      `--checkpoint-container must be a valid blob container name (3-63 lowercase letters, digits, single hyphens), got "${container}"`,
    );
  }
  const connectionString = nonEmpty(flags.connectionString);
  const serviceUri =
    nonEmpty(flags.blobServiceUri) ??
    (connectionString === undefined ? nonEmpty(env.AzureWebJobsStorage__blobServiceUri) : undefined) ??
    (connectionString === undefined && nonEmpty(env.AzureWebJobsStorage__accountName) !== undefined
      ? `https://${nonEmpty(env.AzureWebJobsStorage__accountName) ?? ''}.blob.core.windows.net`
      : undefined);
  if (connectionString !== undefined && nonEmpty(flags.blobServiceUri) !== undefined) {
    throw new DetectorError(
      'USAGE',
      'Give either --storage-connection-string or --blob-service-uri, not both',
    );
  }
  if (serviceUri !== undefined) {
    if (!URL.canParse(serviceUri)) {
      throw new DetectorError('USAGE', `--blob-service-uri must be an absolute URL, got "${serviceUri}"`);
    }
    return {
      client: identityContainer(serviceUri, container, credential),
      where: `${serviceUri.replace(/\/+$/, '')}/${container}`,
    };
  }
  const storage = connectionString ?? nonEmpty(env.AzureWebJobsStorage);
  if (storage === undefined) {
    throw new DetectorError(
      'USAGE',
      'No checkpoint storage given: use --storage-connection-string (or AzureWebJobsStorage, e.g. UseDevelopmentStorage=true for Azurite) or --blob-service-uri (identity-based)',
    );
  }
  let client: ContainerClient;
  try {
    client = new ContainerClient(storage, container, CHECKPOINT_STORAGE_OPTIONS);
  } catch (error) {
    throw new DetectorError('USAGE', `The storage connection string is not valid: ${safeErrorText(error)}`, {
      cause: error,
    });
  }
  return { client: Promise.resolve(client), where: client.url };
}

async function identityContainer(
  serviceUri: string,
  container: string,
  credential: () => Promise<TokenCredential>,
): Promise<ContainerClient> {
  return new ContainerClient(
    `${serviceUri.replace(/\/+$/, '')}/${container}`,
    await credential(),
    CHECKPOINT_STORAGE_OPTIONS,
  );
}

async function createDeliveryFor(
  settings: Settings,
  toStdout: boolean,
  io: CliIo,
  logger: Logger,
  overrides: DeliveryOverrides | undefined,
): Promise<Delivery> {
  if (settings.logsIngestion === undefined || toStdout) {
    return { sink: new StdoutSink(io.stdout), malformedStore: new LogMalformedStore(logger) };
  }
  // The Logs Ingestion and Blob clients load only when a table is configured.
  const { createDelivery } = await import('../deliver/index.js');
  return createDelivery(settings, logger, overrides);
}

/** Longest part of a malformed message copied into a log line. */
const MALFORMED_LOG_BYTES = 8 * 1024;

/**
 * Without a dead-letter store (alerts on stdout), a malformed message is kept as a JSON log line with its
 * coordinates and its text (secrets masked, cut at 8 KB); the event itself stays in the hub until retention.
 */
class LogMalformedStore implements MalformedStore {
  readonly name = 'log';

  constructor(private readonly logger: Logger) {}

  keep(messages: readonly MalformedMessage[], batch: BatchInfo): Promise<void> {
    for (const m of messages) {
      const text = typeof m.raw === 'string' ? m.raw : m.raw.toString('utf8');
      this.logger.warn('malformed message kept', {
        code: m.code,
        reason: m.reason,
        eventHubName: batch.eventHubName,
        consumerGroup: batch.consumerGroup,
        partitionId: m.partitionId,
        offset: m.offset,
        sequenceNumber: m.sequenceNumber,
        enqueuedTimeUtc: m.enqueuedTimeUtc,
        index: m.index,
        bytes: Buffer.byteLength(text),
        raw: redactText(text.length > MALFORMED_LOG_BYTES ? text.slice(0, MALFORMED_LOG_BYTES) : text),
        truncated: text.length > MALFORMED_LOG_BYTES,
      });
    }
    return Promise.resolve();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface Totals extends OutcomeTotals {
  batches: number;
  events: number;
  checkpoints: number;
  failedAttempts: number;
  abandoned: number;
}

export async function runConsume(args: string[], io: CliIo, options: ConsumeOptions = {}): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      options: {
        'connection-string': { type: 'string' },
        namespace: { type: 'string' },
        hub: { type: 'string' },
        'consumer-group': { type: 'string' },
        'storage-connection-string': { type: 'string' },
        'blob-service-uri': { type: 'string' },
        'checkpoint-container': { type: 'string' },
        'start-position': { type: 'string' },
        'max-batch-size': { type: 'string' },
        'max-wait-seconds': { type: 'string' },
        stdout: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    writeLine(io.stderr, `consume: ${safeErrorText(error)}\n\n${CONSUME_HELP}`);
    return EXIT_USAGE;
  }
  const values = parsed.values;
  if (values.help) {
    writeLine(io.stdout, CONSUME_HELP);
    return EXIT_OK;
  }

  let settings: Settings;
  let target: EventHubTarget;
  let consumerGroup: string;
  let storage: { client: Promise<ContainerClient>; where: string };
  let maxBatchSize: number;
  let maxWaitTimeInSeconds: number;
  let logLevel: LogLevel;
  const credential = credentialFor(io.env);
  try {
    settings = loadSettings(io.env, 'cli');
    target = resolveEventHubTarget(
      { connectionString: values['connection-string'], namespace: values.namespace, hub: values.hub },
      io.env,
    );
    consumerGroup = nonEmpty(values['consumer-group']) ?? settings.consumerGroup;
    storage = checkpointContainer(
      {
        connectionString: values['storage-connection-string'],
        blobServiceUri: values['blob-service-uri'],
        container: values['checkpoint-container'],
      },
      io.env,
      credential,
    );
    maxBatchSize = positiveInteger('--max-batch-size', values['max-batch-size'], 100);
    maxWaitTimeInSeconds = positiveInteger('--max-wait-seconds', values['max-wait-seconds'], 5);
    const start = values['start-position'] ?? 'earliest';
    if (start !== 'earliest' && start !== 'latest') {
      throw new DetectorError('USAGE', `--start-position must be earliest or latest, got "${start}"`);
    }
    const level = values['log-level'] ?? 'info';
    if (level !== 'info' && level !== 'warn' && level !== 'error') {
      throw new DetectorError('USAGE', `--log-level must be info, warn or error, got "${level}"`);
    }
    logLevel = level;
  } catch (error) {
    writeLine(io.stderr, `consume: ${safeErrorText(error)}`);
    return EXIT_USAGE;
  }
  const startPosition = values['start-position'] === 'latest' ? latestEventPosition : earliestEventPosition;
  const logger = jsonLogger(io.stderr, logLevel);
  const retryDelay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;

  // Stop control: the first request finishes in-flight batches; a second signal exits at once.
  const stopRequested = new AbortController();
  let fatal: unknown;
  const requestStop = (reason: string): void => {
    if (stopRequested.signal.aborted) return;
    logger.info('stopping: no new batches, finishing in-flight ones', { reason });
    stopRequested.abort();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested.signal.aborted) {
      // Nothing unfinished was checkpointed, so those batches are simply read again by the next run.
      logger.warn('second signal: exiting without waiting for in-flight batches', { signal });
      process.exit(EXIT_INTERRUPTED);
    }
    requestStop(signal);
  };
  if (options.signal) {
    options.signal.addEventListener(
      'abort',
      () => {
        requestStop('abort signal');
      },
      { once: true },
    );
  } else {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  let consumer: EventHubConsumerClient | undefined;
  const inFlight = new Set<Promise<void>>();
  const totals: Totals = {
    ...emptyOutcomeTotals(),
    batches: 0,
    events: 0,
    checkpoints: 0,
    failedAttempts: 0,
    abandoned: 0,
  };

  /**
   * Aborted when a partition is released (ownership lost to another instance, or closing): a batch still
   * being retried there is left to the new owner instead of being checkpointed by a non-owner.
   */
  const released = new Map<string, AbortController>();

  const handleBatch = async (events: ReceivedEventData[], context: PartitionContext): Promise<void> => {
    const partitionId = context.partitionId;
    const giveUp = AbortSignal.any([
      stopRequested.signal,
      (released.get(partitionId) ?? new AbortController()).signal,
    ]);
    const first = events[0];
    const last = events[events.length - 1];
    if (!first || !last) return;
    const metas: MessageMeta[] = events.map((e) => ({
      partitionId,
      offset: e.offset,
      sequenceNumber: e.sequenceNumber,
      enqueuedTimeUtc: e.enqueuedTimeUtc.toISOString(),
    }));
    const batch: BatchInfo = {
      source: 'consumer',
      eventHubName: target.hub,
      consumerGroup,
      partitionId,
      firstSequenceNumber: first.sequenceNumber,
      lastSequenceNumber: last.sequenceNumber,
    };
    const bodies = events.map((e) => e.body as unknown);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outcome = await processEventBatch(bodies, metas, batch, delivery, logger);
        totals.batches += 1;
        totals.events += events.length;
        addOutcome(totals, outcome);
        break;
      } catch (error) {
        totals.failedAttempts += 1;
        if (giveUp.aborted) {
          totals.abandoned += 1;
          logger.warn('batch not delivered before stopping: not checkpointed, it will be read again', {
            reason: stopRequested.signal.aborted ? 'stopping' : 'partition released',
            partitionId,
            firstSequenceNumber: batch.firstSequenceNumber,
            lastSequenceNumber: batch.lastSequenceNumber,
          });
          return;
        }
        const delayMs = Math.min(retryDelay.max, retryDelay.min * 2 ** Math.min(attempt - 1, 30));
        logger.error('batch delivery failed: retrying the same batch (no checkpoint past it)', {
          partitionId,
          firstSequenceNumber: batch.firstSequenceNumber,
          lastSequenceNumber: batch.lastSequenceNumber,
          attempt,
          retryInMs: delayMs,
          error: safeErrorText(error),
        });
        await sleep(delayMs, giveUp);
      }
    }
    try {
      await context.updateCheckpoint(last);
      totals.checkpoints += 1;
    } catch (error) {
      // Delivered but not recorded: the batch is read again after a restart (at-least-once; AlertId is stable).
      logger.warn('checkpoint failed after delivery: the batch may be delivered again after a restart', {
        partitionId,
        sequenceNumber: last.sequenceNumber,
        error: safeErrorText(error),
      });
    }
  };

  let delivery: Delivery;
  try {
    const containerClient = await storage.client;
    try {
      await containerClient.createIfNotExists();
    } catch (error) {
      throw new DetectorError(
        'USAGE',
        `Checkpoint container ${storage.where} cannot be used: ${safeErrorText(error)}`,
        { cause: error },
      );
    }
    delivery = await createDeliveryFor(settings, values.stdout, io, logger, options.deliveryOverrides);
    consumer = await createConsumer(
      target,
      consumerGroup,
      new BlobCheckpointStore(containerClient),
      credential,
      {
        retryOptions: CLI_RETRY_OPTIONS,
        loadBalancingOptions: {
          strategy: 'greedy',
          updateIntervalInMs: options.loadBalancingIntervalMs ?? 10_000,
        },
      },
    );
    let partitionIds: string[];
    try {
      partitionIds = await consumer.getPartitionIds();
    } catch (error) {
      throw new DetectorError(
        'USAGE',
        `Event Hub ${describeTarget(target)} cannot be read: ${safeErrorText(error)}`,
        {
          cause: error,
        },
      );
    }
    logger.info('consuming', {
      eventHub: describeTarget(target),
      consumerGroup,
      partitions: partitionIds.length,
      checkpoints: storage.where,
      sink: delivery.sink.name,
    });
  } catch (error) {
    writeLine(io.stderr, `consume: ${safeErrorText(error)}`);
    await consumer?.close().catch(() => undefined);
    removeSignalHandlers();
    return EXIT_DELIVERY;
  }

  const activeConsumer = consumer;
  const subscription: Subscription = activeConsumer.subscribe(
    {
      processInitialize: (context) => {
        released.get(context.partitionId)?.abort();
        released.set(context.partitionId, new AbortController());
        logger.info('partition claimed', { partitionId: context.partitionId });
        return Promise.resolve();
      },
      processClose: (reason, context) => {
        released.get(context.partitionId)?.abort();
        logger.info('partition released', { partitionId: context.partitionId, reason });
        return Promise.resolve();
      },
      processEvents: (events, context) => {
        if (events.length === 0 || stopRequested.signal.aborted) return Promise.resolve();
        const work = handleBatch(events, context).finally(() => {
          inFlight.delete(work);
        });
        inFlight.add(work);
        return work;
      },
      processError: (error, context) => {
        const code = (error as { code?: unknown }).code;
        logger.warn('event hubs error', {
          partitionId: context.partitionId,
          code: typeof code === 'string' ? code : undefined,
          error: safeErrorText(error),
        });
        if (fatal === undefined && isFatalEventHubsError(error)) {
          fatal = error;
          requestStop(`fatal error ${typeof code === 'string' ? code : error.name}`);
        }
        return Promise.resolve();
      },
    },
    { startPosition, maxBatchSize, maxWaitTimeInSeconds, skipParsingBodyAsJson: true },
  );

  await new Promise<void>((resolve) => {
    if (stopRequested.signal.aborted) resolve();
    else
      stopRequested.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
  });

  // Stop receiving first (releases partition ownership so another instance can take over at once), while
  // in-flight batches finish their delivery and checkpoint.
  const closing = subscription.close().catch((error: unknown) => {
    logger.warn('closing the subscription failed', { error: safeErrorText(error) });
  });
  await Promise.allSettled([...inFlight]);
  await closing;
  await activeConsumer.close().catch((error: unknown) => {
    logger.warn('closing the consumer failed', { error: safeErrorText(error) });
  });
  removeSignalHandlers();

  writeLine(
    io.stderr,
    `consumed ${totals.events} events in ${totals.batches} batches from ${describeTarget(target)} (${consumerGroup}): ` +
      `${totals.prefiltered} skipped by the prefilter, ${totals.records} records decoded, ${totals.alerts} alerts, ${totals.delivered} delivered, ${totals.deadLettered} dead-lettered, ` +
      `${totals.malformed} malformed, ${totals.checkpoints} checkpoints` +
      (totals.abandoned > 0 ? `, ${totals.abandoned} batches left for the next run` : ''),
  );
  if (fatal !== undefined) {
    writeLine(io.stderr, `consume: stopped: ${safeErrorText(fatal)}`);
    return EXIT_DELIVERY;
  }
  return EXIT_OK;

  function removeSignalHandlers(): void {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
