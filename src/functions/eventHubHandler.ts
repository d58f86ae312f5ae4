/*
 * The Functions host's side of a batch: the trigger's metadata and logger turned into the pipeline's
 * ports, then the shared batch runner. Everything here is specific to the Azure Functions worker.
 *
 * The retry policy runs a failed batch again in the same worker, but the handler is not told which retry
 * it is in a way that survives a worker restart; so the handler counts failed invocations itself, per
 * batch (partition and sequence range), in memory (pipeline/setAside.ts), and after
 * `SET_ASIDE_AFTER_FAILURES` the same way it runs the batch message by message, setting aside what still
 * fails. The host's own `retryContext.retryCount` is read too, for a worker restarted under a host that
 * kept counting.
 */
import type { InvocationContext } from '@azure/functions';
import { once, onceSync } from '../lib/once';
import { redactText } from '../lib/redact';
import * as z from '../lib/zod';
import type { BatchInfo, Delivery, Logger, MessageMeta } from '../pipeline/ports';
import {
  BatchFailures,
  SET_ASIDE_AFTER_FAILURES,
  shouldSetAside,
  type FailureRecord,
} from '../pipeline/failures';
import type { RunOptions } from '../pipeline/runBatch';

/**
 * The batch runner (detection and everything below it), loaded when the first batch arrives rather than at
 * import: the worker's start, which indexes the function, does not wait for it (BENCHMARKS.md › Cold start).
 */
const runner = once(async () => {
  const [{ runBatch }, { runBatchSettingAside }] = await Promise.all([
    import('../pipeline/runBatch.js'),
    import('../pipeline/setAside.js'),
  ]);
  return { runBatch, runBatchSettingAside };
});

/** The function's name: App Insights writes it as `operation_Name` of its invocations (operator alerts). */
export const FUNCTION_NAME = 'packetCaptureDetector';

/**
 * The batch trigger's metadata, camel-cased by the worker; validated because it crosses a process edge. Built
 * on the first invocation: a zod schema costs its construction, and the worker's start need not pay it.
 */
const triggerMetadataSchema = onceSync(() =>
  z.object({
    partitionContext: z.optional(
      z.object({
        partitionId: z.optional(z.string()),
        eventHubName: z.optional(z.string()),
        consumerGroup: z.optional(z.string()),
      }),
    ),
    offsetArray: z.optional(z.array(z.union([z.string(), z.number()]))),
    sequenceNumberArray: z.optional(z.array(z.union([z.number(), z.string()]))),
    enqueuedTimeUtcArray: z.optional(z.array(z.union([z.string(), z.date()]))),
  }),
);

export interface TriggerInfo {
  readonly batch: BatchInfo;
  readonly metas: readonly MessageMeta[];
}

export function readTriggerMetadata(context: InvocationContext, count: number): TriggerInfo {
  const parsed = triggerMetadataSchema().safeParse(context.triggerMetadata ?? {});
  const md = parsed.success ? parsed.data : {};
  const partitionId = md.partitionContext?.partitionId;
  const metas: MessageMeta[] = [];
  for (let i = 0; i < count; i++) {
    const offset = md.offsetArray?.[i];
    const seq = md.sequenceNumberArray?.[i];
    const enqueued = md.enqueuedTimeUtcArray?.[i];
    metas.push({
      partitionId,
      offset: offset === undefined ? undefined : String(offset),
      sequenceNumber: seq === undefined ? undefined : Number(seq),
      enqueuedTimeUtc:
        enqueued === undefined ? undefined : enqueued instanceof Date ? enqueued.toISOString() : enqueued,
    });
  }
  let first: number | undefined;
  let last: number | undefined;
  for (const { sequenceNumber: s } of metas) {
    if (s === undefined || Number.isNaN(s)) continue;
    if (first === undefined || s < first) first = s;
    if (last === undefined || s > last) last = s;
  }
  return {
    metas,
    batch: {
      source: 'eventhub',
      invocationId: context.invocationId,
      eventHubName: md.partitionContext?.eventHubName,
      consumerGroup: md.partitionContext?.consumerGroup,
      partitionId,
      firstSequenceNumber: first,
      lastSequenceNumber: last,
    },
  };
}

/**
 * Structured fields ride along as one JSON object, so App Insights queries can `parse_json` them. Every
 * line is redacted as a whole, whatever a field holds.
 */
export function contextLogger(context: InvocationContext): Logger {
  const line = (message: string, fields?: Record<string, unknown>) =>
    redactText(fields === undefined ? message : `${message} ${JSON.stringify(fields)}`);
  return {
    info: (message, fields) => {
      context.info(line(message, fields));
    },
    warn: (message, fields) => {
      context.warn(line(message, fields));
    },
    error: (message, fields) => {
      context.error(line(message, fields));
    },
  };
}

/** The delivery for one invocation, given its logger (deliver/index.ts `createDelivery`, bound to the settings). */
export type DeliveryForLogger = (logger: Logger) => Promise<Delivery>;

/** What the handler knows of a batch's earlier failed invocations: its own count, else the host's. */
function previousFailures(
  failures: BatchFailures,
  batch: BatchInfo,
  context: InvocationContext,
): FailureRecord | undefined {
  const own = failures.get(batch);
  const hostCount = context.retryContext?.retryCount ?? 0;
  if ((own?.failures ?? 0) >= hostCount || hostCount < SET_ASIDE_AFTER_FAILURES) return own;
  // The worker restarted while the host kept retrying: how it failed is not known here.
  return {
    failures: hostCount,
    signature: own?.signature ?? 'unknown (counted by the host)',
    error: own?.error ?? 'the host retried this batch; its earlier failures happened in another worker',
  };
}

/** The function's handler: trigger batch in, alerts delivered (or the invocation fails for the retry policy). */
export function createEventHubHandler(
  deliveryFor: DeliveryForLogger,
  options: RunOptions = {},
  failures: BatchFailures = new BatchFailures(),
) {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const batchMessages: unknown[] = Array.isArray(messages) ? messages : [messages];
    const { batch, metas } = readTriggerMetadata(context, batchMessages.length);
    const logger = contextLogger(context);
    const delivery = await deliveryFor(logger);
    const previous = previousFailures(failures, batch, context);
    try {
      const { runBatch, runBatchSettingAside } = await runner();
      if (shouldSetAside(previous)) {
        await runBatchSettingAside(batchMessages, metas, batch, delivery, logger, previous, options);
      } else {
        await runBatch(batchMessages, metas, batch, delivery, logger, options);
      }
    } catch (error) {
      failures.failed(batch, error);
      throw error;
    }
    failures.succeeded(batch);
  };
}
