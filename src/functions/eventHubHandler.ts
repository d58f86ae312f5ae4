/*
 * The Functions host's side of a batch: the trigger's metadata and logger turned into the pipeline's
 * ports, then the shared batch runner. Everything here is specific to the Azure Functions worker.
 */
import type { InvocationContext } from '@azure/functions';
import * as z from '../lib/zod';
import type { BatchInfo, Delivery, Logger, MessageMeta } from '../pipeline/ports';
import { runBatch, type RunOptions } from '../pipeline/runBatch';

/** The function's name: App Insights writes it as `operation_Name` of its invocations (operator alerts). */
export const FUNCTION_NAME = 'packetCaptureDetector';

/** The batch trigger's metadata, camel-cased by the worker; validated because it crosses a process edge. */
const triggerMetadataSchema = z.object({
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
});

export interface TriggerInfo {
  readonly batch: BatchInfo;
  readonly metas: readonly MessageMeta[];
}

export function readTriggerMetadata(context: InvocationContext, count: number): TriggerInfo {
  const parsed = triggerMetadataSchema.safeParse(context.triggerMetadata ?? {});
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
  const sequences = metas.map((m) => m.sequenceNumber).filter((s): s is number => s !== undefined);
  return {
    metas,
    batch: {
      source: 'eventhub',
      invocationId: context.invocationId,
      eventHubName: md.partitionContext?.eventHubName,
      consumerGroup: md.partitionContext?.consumerGroup,
      partitionId,
      firstSequenceNumber: sequences.length > 0 ? Math.min(...sequences) : undefined,
      lastSequenceNumber: sequences.length > 0 ? Math.max(...sequences) : undefined,
    },
  };
}

/** Structured fields ride along as one JSON object, so App Insights queries can `parse_json` them. */
export function contextLogger(context: InvocationContext): Logger {
  const line = (message: string, fields?: Record<string, unknown>) =>
    fields === undefined ? message : `${message} ${JSON.stringify(fields)}`;
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

/** The function's handler: trigger batch in, alerts delivered (or the invocation fails for the retry policy). */
export function createEventHubHandler(deliveryFor: DeliveryForLogger, options: RunOptions = {}) {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const batchMessages: unknown[] = Array.isArray(messages) ? messages : [messages];
    const { batch, metas } = readTriggerMetadata(context, batchMessages.length);
    const logger = contextLogger(context);
    const delivery = await deliveryFor(logger);
    await runBatch(batchMessages, metas, batch, delivery, logger, options);
  };
}
