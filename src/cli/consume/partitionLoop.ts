/*
 * What `consume` does with each partition's batches: run them through the shared batch runner, retry a
 * batch whose delivery failed (the same batch, no checkpoint past it) with exponential backoff, and
 * checkpoint only after delivery. A batch still being retried when its partition is released (ownership
 * lost to another instance) or when stopping is left unchecked-pointed for the next owner. A batch that
 * failed `SET_ASIDE_AFTER_FAILURES` times the same way is run message by message, and what still fails is
 * set aside (src/pipeline/setAside.ts), so one message cannot hold the partition.
 */
import type { PartitionContext, ReceivedEventData, SubscriptionEventHandlers } from '@azure/event-hubs';
import { exponentialDelayMs } from '../../lib/backoff';
import { errorText } from '../../lib/errorText';
import type { BatchInfo, Delivery, Logger, MessageMeta } from '../../pipeline/ports';
import { runBatch, type RunOptions } from '../../pipeline/runBatch';
import {
  nextFailure,
  runBatchSettingAside,
  shouldSetAside,
  type FailureRecord,
} from '../../pipeline/setAside';
import { addOutcome, emptyOutcomeTotals, type OutcomeTotals } from '../io';
import { sleep } from './stop';

export interface ConsumeTotals extends OutcomeTotals {
  batches: number;
  events: number;
  checkpoints: number;
  failedAttempts: number;
  abandoned: number;
}

export function emptyConsumeTotals(): ConsumeTotals {
  return { ...emptyOutcomeTotals(), batches: 0, events: 0, checkpoints: 0, failedAttempts: 0, abandoned: 0 };
}

export interface PartitionLoopConfig {
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly delivery: Delivery;
  readonly logger: Logger;
  /** Delay before re-delivering a failed batch: doubles from `min` up to `max` (ms). */
  readonly retryDelayMs: { readonly min: number; readonly max: number };
  /** Stopping: no new batches, in-flight ones give up retrying. */
  readonly stopping: AbortSignal;
  /** An Event Hubs error that will not heal by waiting. */
  readonly onFatal: (error: Error, code: string | undefined) => void;
  /** Passed to every batch (the protected scope of the integrity rules). */
  readonly runOptions?: RunOptions;
}

export interface PartitionLoop {
  readonly handlers: SubscriptionEventHandlers;
  readonly totals: ConsumeTotals;
  /** Resolves when every batch in flight has finished (delivered, or given up). */
  drain(): Promise<void>;
}

export function partitionLoop(config: PartitionLoopConfig): PartitionLoop {
  const { logger, stopping } = config;
  const totals = emptyConsumeTotals();
  const inFlight = new Set<Promise<void>>();
  /** Aborted when a partition is released, so a batch being retried there is left to the new owner. */
  const released = new Map<string, AbortController>();

  const handleBatch = async (events: ReceivedEventData[], context: PartitionContext): Promise<void> => {
    const partitionId = context.partitionId;
    const giveUp = AbortSignal.any([stopping, (released.get(partitionId) ?? new AbortController()).signal]);
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
      eventHubName: config.eventHubName,
      consumerGroup: config.consumerGroup,
      partitionId,
      firstSequenceNumber: first.sequenceNumber,
      lastSequenceNumber: last.sequenceNumber,
    };
    const bodies = events.map((e) => e.body as unknown);
    // A batch that fails the same way again and again is run message by message (pipeline/setAside.ts).
    let previous: FailureRecord | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const outcome = shouldSetAside(previous)
          ? await runBatchSettingAside(
              bodies,
              metas,
              batch,
              config.delivery,
              logger,
              previous,
              config.runOptions,
            )
          : await runBatch(bodies, metas, batch, config.delivery, logger, config.runOptions);
        totals.batches += 1;
        totals.events += events.length;
        addOutcome(totals, outcome);
        break;
      } catch (error) {
        totals.failedAttempts += 1;
        previous = nextFailure(previous, error);
        if (giveUp.aborted) {
          totals.abandoned += 1;
          logger.warn('batch not delivered before stopping: not checkpointed, it will be read again', {
            reason: stopping.aborted ? 'stopping' : 'partition released',
            partitionId,
            firstSequenceNumber: batch.firstSequenceNumber,
            lastSequenceNumber: batch.lastSequenceNumber,
          });
          return;
        }
        const delayMs = exponentialDelayMs(attempt, config.retryDelayMs.min, config.retryDelayMs.max);
        logger.error('batch delivery failed: retrying the same batch (no checkpoint past it)', {
          partitionId,
          firstSequenceNumber: batch.firstSequenceNumber,
          lastSequenceNumber: batch.lastSequenceNumber,
          attempt,
          retryInMs: delayMs,
          error: errorText(error),
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
        error: errorText(error),
      });
    }
  };

  const handlers: SubscriptionEventHandlers = {
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
      if (events.length === 0 || stopping.aborted) return Promise.resolve();
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
        error: errorText(error),
      });
      config.onFatal(error, typeof code === 'string' ? code : undefined);
      return Promise.resolve();
    },
  };

  return {
    handlers,
    totals,
    drain: async () => {
      await Promise.allSettled([...inFlight]);
    },
  };
}
