import type { InvocationContext } from '@azure/functions';
import * as z from '../zod';
import type { DetectionRule } from '../detect/types';
import type { AlertSink, BatchInfo, DeliveryReport, Logger, MalformedStore } from '../deliver/types';
import { describeMalformed } from '../deliver/stdoutSink';
import { detectBatch, type BatchCounts, type MessageMeta } from '../pipeline/detectBatch';

export interface Delivery {
  readonly sink: AlertSink;
  readonly malformedStore: MalformedStore;
}

export interface BatchOutcome extends BatchCounts, DeliveryReport {
  readonly durationMs: number;
}

export interface ProcessOptions {
  readonly rules?: readonly DetectionRule[];
  /** False parses and validates every body (scan --validate); default true (see src/decode/prefilter.ts). */
  readonly prefilter?: boolean;
  readonly now?: () => Date;
}

/**
 * One batch through the whole path, shared by the function and the standalone consumer: detect, deliver the
 * alerts, keep the malformed messages, log one summary. Bad input never throws; only a failure to deliver
 * or keep (after the sink's own retries and dead-lettering) does, so the caller does not checkpoint past it.
 */
export async function processEventBatch(
  messages: readonly unknown[],
  metas: readonly MessageMeta[],
  batch: BatchInfo,
  delivery: Delivery,
  logger: Logger,
  options: ProcessOptions = {},
): Promise<BatchOutcome> {
  const started = Date.now();
  const now = options.now?.() ?? new Date();
  const result = detectBatch(messages, (i) => metas[i] ?? {}, {
    rules: options.rules,
    now,
    prefilter: options.prefilter,
  });

  for (const m of result.malformed) {
    logger.warn('malformed input', {
      code: m.code,
      reason: m.reason,
      partitionId: m.partitionId,
      offset: m.offset,
      sequenceNumber: m.sequenceNumber,
      origin: m.origin,
      index: m.index,
      summary: describeMalformed(m),
    });
  }

  const failures: unknown[] = [];
  let report: DeliveryReport = { delivered: 0, retried: 0, deadLettered: 0 };
  if (result.alerts.length > 0) {
    try {
      report = await delivery.sink.deliver(result.alerts, batch);
    } catch (error) {
      failures.push(error);
    }
  }
  if (result.malformed.length > 0) {
    try {
      await delivery.malformedStore.keep(result.malformed, batch);
    } catch (error) {
      failures.push(error);
    }
  }

  const outcome: BatchOutcome = { ...result.counts, ...report, durationMs: Date.now() - started };
  const fields = {
    ...outcome,
    source: batch.source,
    invocationId: batch.invocationId,
    partitionId: batch.partitionId,
    firstSequenceNumber: batch.firstSequenceNumber,
    lastSequenceNumber: batch.lastSequenceNumber,
    sink: delivery.sink.name,
  };
  if (failures.length > 0) {
    logger.error('batch failed: alerts or malformed messages could not be delivered or kept', {
      ...fields,
      errors: failures.map(errorSummary),
    });
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'batch delivery failed');
  }
  logger.info('batch processed', fields);
  return outcome;
}

function errorSummary(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { message: String(error) };
}

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

export type DeliveryFactory = (logger: Logger) => Promise<Delivery>;

/** The function's handler: trigger batch in, alerts delivered (or the invocation fails for the retry policy). */
export function createEventHubHandler(deliveryFactory: DeliveryFactory, options: ProcessOptions = {}) {
  return async (messages: unknown, context: InvocationContext): Promise<void> => {
    const batchMessages: unknown[] = Array.isArray(messages) ? messages : [messages];
    const { batch, metas } = readTriggerMetadata(context, batchMessages.length);
    const logger = contextLogger(context);
    const delivery = await deliveryFactory(logger);
    await processEventBatch(batchMessages, metas, batch, delivery, logger, options);
  };
}
