/*
 * `consume`: the detector as a standalone Event Hubs consumer. This file only wires the parts: the command
 * line (args.ts), checkpoints (checkpoints.ts), the per-partition batch loop (partitionLoop.ts) and the
 * stop control (stop.ts), around the same batch runner and delivery as the function.
 */
import { earliestEventPosition, latestEventPosition, type EventHubConsumerClient } from '@azure/event-hubs';
import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { createDelivery, LogMalformedStore, StdoutSink, type DeliveryOverrides } from '../../deliver/index';
import { CLI_RETRY_OPTIONS, createConsumer, credentialFor } from '../../eventhubs/clients';
import { describeTarget } from '../../eventhubs/target';
import { DetectorError } from '../../lib/errors';
import { errorText } from '../../lib/errorText';
import type { Delivery } from '../../pipeline/ports';
import { EXIT_DELIVERY, EXIT_OK, writeLine, type CliIo } from '../io';
import { jsonLogger } from '../logger';
import { readConsumeArgs } from './args';
import { partitionLoop } from './partitionLoop';
import { stopControl } from './stop';

export { CONSUME_HELP } from './args';
export { DEFAULT_CHECKPOINT_CONTAINER } from './checkpoints';

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

export async function runConsume(args: string[], io: CliIo, options: ConsumeOptions = {}): Promise<number> {
  const credential = credentialFor(io.env);
  const read = readConsumeArgs(args, io, credential);
  if (!read.ok) return read.exit;
  const config = read.config;
  const { target, consumerGroup, checkpoints } = config;
  const logger = jsonLogger(io.stderr, config.logLevel);
  const stop = stopControl(logger, options.signal);
  let fatal: unknown;

  let consumer: EventHubConsumerClient | undefined;
  let delivery: Delivery;
  try {
    const containerClient = await checkpoints.client;
    try {
      await containerClient.createIfNotExists();
    } catch (error) {
      throw new DetectorError(
        'USAGE',
        `Checkpoint container ${checkpoints.where} cannot be used: ${errorText(error)}`,
        { cause: error },
      );
    }
    delivery = createDelivery(config.settings, logger, {
      ...options.deliveryOverrides,
      local: config.toStdout,
      localSink: new StdoutSink(io.stdout),
      localMalformedStore: new LogMalformedStore(logger),
      health: { source: 'consume', eventHubName: target.hub, consumerGroup },
    });
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
        `Event Hub ${describeTarget(target)} cannot be read: ${errorText(error)}`,
        { cause: error },
      );
    }
    logger.info('consuming', {
      eventHub: describeTarget(target),
      consumerGroup,
      partitions: partitionIds.length,
      checkpoints: checkpoints.where,
      sink: delivery.sink.name,
    });
  } catch (error) {
    writeLine(io.stderr, `consume: ${errorText(error)}`);
    await consumer?.close().catch(() => undefined);
    stop.dispose();
    return EXIT_DELIVERY;
  }

  const loop = partitionLoop({
    eventHubName: target.hub,
    consumerGroup,
    delivery,
    logger,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    stopping: stop.signal,
    runOptions: { context: { protectedResourceIds: config.settings.protectedResourceIds } },
    onFatal: (error, code) => {
      if (fatal === undefined && isFatalEventHubsError(error)) {
        fatal = error;
        stop.request(`fatal error ${code ?? error.name}`);
      }
    },
  });
  const activeConsumer = consumer;
  const subscription = activeConsumer.subscribe(loop.handlers, {
    startPosition: config.startPosition === 'latest' ? latestEventPosition : earliestEventPosition,
    maxBatchSize: config.maxBatchSize,
    maxWaitTimeInSeconds: config.maxWaitTimeInSeconds,
    skipParsingBodyAsJson: true,
  });

  await stop.requested;

  // Stop receiving first (releases partition ownership so another instance can take over at once), while
  // in-flight batches finish their delivery and checkpoint.
  const closing = subscription.close().catch((error: unknown) => {
    logger.warn('closing the subscription failed', { error: errorText(error) });
  });
  await loop.drain();
  // The windows still open: written now, since nothing will close them in this process.
  await delivery.health?.flush(new Date(), logger, true);
  await closing;
  await activeConsumer.close().catch((error: unknown) => {
    logger.warn('closing the consumer failed', { error: errorText(error) });
  });
  stop.dispose();

  const t = loop.totals;
  writeLine(
    io.stderr,
    `consumed ${t.events} events in ${t.batches} batches from ${describeTarget(target)} (${consumerGroup}): ` +
      `${t.prefiltered} skipped by the prefilter, ${t.records} records decoded, ${t.alerts} alerts, ${t.delivered} delivered, ${t.deadLettered} dead-lettered, ` +
      `${t.malformed} malformed, ${t.checkpoints} checkpoints` +
      (t.abandoned > 0 ? `, ${t.abandoned} batches left for the next run` : ''),
  );
  if (fatal !== undefined) {
    writeLine(io.stderr, `consume: stopped: ${errorText(fatal)}`);
    return EXIT_DELIVERY;
  }
  return EXIT_OK;
}
