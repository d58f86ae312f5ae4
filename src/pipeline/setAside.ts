/*
 * What keeps one message from stopping its partition. Input alone never fails a batch (detectBatch turns
 * every failure into a kept malformed message), so a batch fails only when its alerts or malformed
 * messages cannot be delivered or kept. Usually that is the destination (storage down): retrying the batch
 * as a whole is right, and the checkpoint must not move. But if something in one message makes keeping it
 * fail (a case nobody foresaw), retrying the batch as a whole would fail forever and hold the partition.
 *
 * So the hosts count, per batch (partition and sequence range) and in memory, the invocations that failed
 * and how (`failureSignature`: the error codes, names and statuses, not the text). Once a batch has failed
 * `SET_ASIDE_AFTER_FAILURES` times the same way, it is run message by message (`runBatchSettingAside`):
 * every message that goes through is delivered and kept as usual, and one that still fails on its own is
 * set aside — kept as a malformed message with code `MESSAGE_SET_ASIDE` and its coordinates, with its
 * content if that can be written, without it if not. Only if even that cannot be written (the store is
 * down, which no message can cause) does the invocation fail, and the batch is tried again later.
 */
import { errorText } from '../lib/errorText';
import { malformedMessage } from './detectBatch';
import type { BatchInfo, BatchOutcome, Delivery, Logger, MalformedMessage, MessageMeta } from './ports';
import type { FailureRecord } from './failures';
import { LOG_BATCH_PROCESSED, runBatch, type RunOptions } from './runBatch';

export {
  BatchFailures,
  failureSignature,
  nextFailure,
  SET_ASIDE_AFTER_FAILURES,
  shouldSetAside,
  type FailureRecord,
} from './failures';

// Not "batch failed …": queries match that prefix for failed invocations, and this one goes on.
export const LOG_SETTING_ASIDE =
  'processing a batch message by message after repeated identical failures: what still fails is set aside';
export const LOG_SET_ASIDE = 'message set aside';

function setAsideEntry(
  meta: MessageMeta,
  index: number,
  message: unknown,
  reason: string,
  withContent: boolean,
): MalformedMessage {
  const kept = malformedMessage(meta, index, message, [{ code: 'MESSAGE_SET_ASIDE', reason }], 1);
  if (withContent) return kept;
  const bytes = typeof kept.raw === 'string' ? Buffer.byteLength(kept.raw) : kept.raw.length;
  return { ...kept, raw: '', rawOmitted: { bytes } };
}

const NOTHING: BatchOutcome = {
  messages: 0,
  records: 0,
  alerts: 0,
  malformed: 0,
  malformedMessages: 0,
  duplicates: 0,
  prefiltered: 0,
  fieldsDropped: 0,
  joined: 0,
  completing: 0,
  delivered: 0,
  retried: 0,
  deadLettered: 0,
  trimmed: 0,
  durationMs: 0,
};

function add(a: BatchOutcome, b: BatchOutcome): BatchOutcome {
  return {
    messages: a.messages + b.messages,
    records: a.records + b.records,
    alerts: a.alerts + b.alerts,
    malformed: a.malformed + b.malformed,
    malformedMessages: a.malformedMessages + b.malformedMessages,
    duplicates: a.duplicates + b.duplicates,
    prefiltered: a.prefiltered + b.prefiltered,
    fieldsDropped: a.fieldsDropped + b.fieldsDropped,
    joined: a.joined + b.joined,
    completing: a.completing + b.completing,
    delivered: a.delivered + b.delivered,
    retried: a.retried + b.retried,
    deadLettered: a.deadLettered + b.deadLettered,
    trimmed: (a.trimmed ?? 0) + (b.trimmed ?? 0),
    durationMs: a.durationMs + b.durationMs,
  };
}

export interface SetAsideOutcome extends BatchOutcome {
  /** Messages set aside (kept with code MESSAGE_SET_ASIDE). */
  readonly setAside: number;
}

/**
 * The batch, message by message (see the file header). Throws only when a message that failed cannot be
 * set aside either: then nothing about the batch is known to be kept, and it must be tried again.
 */
export async function runBatchSettingAside(
  messages: readonly unknown[],
  metas: readonly MessageMeta[],
  batch: BatchInfo,
  delivery: Delivery,
  logger: Logger,
  previous: FailureRecord,
  options: RunOptions = {},
): Promise<SetAsideOutcome> {
  const started = Date.now();
  const where = {
    source: batch.source,
    invocationId: batch.invocationId,
    partitionId: batch.partitionId,
    firstSequenceNumber: batch.firstSequenceNumber,
    lastSequenceNumber: batch.lastSequenceNumber,
  };
  logger.warn(LOG_SETTING_ASIDE, {
    ...where,
    messages: messages.length,
    failures: previous.failures,
    signature: previous.signature,
    error: previous.error,
  });
  // The per-message summaries would be one line per message; the batch gets one at the end instead.
  const quiet: Logger = {
    info: (message, fields) => {
      if (message !== LOG_BATCH_PROCESSED) logger.info(message, fields);
    },
    warn: (message, fields) => {
      logger.warn(message, fields);
    },
    error: (message, fields) => {
      logger.error(message, fields);
    },
  };
  let total = NOTHING;
  let setAside = 0;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    const meta = metas[index] ?? {};
    const one: BatchInfo = {
      ...batch,
      ...(meta.sequenceNumber === undefined
        ? {}
        : { firstSequenceNumber: meta.sequenceNumber, lastSequenceNumber: meta.sequenceNumber }),
    };
    try {
      total = add(total, await runBatch([message], [meta], one, delivery, quiet, options));
      continue;
    } catch (error) {
      const reason =
        `The batch failed ${previous.failures} times the same way (${previous.signature}); ` +
        `this message failed on its own too: ${errorText(error, 500)}. Set aside so that the partition moves on; ` +
        'alerts it holds may not have been delivered: run the detector over it (scan) once the cause is known.';
      let withContent = true;
      try {
        await delivery.malformedStore.keep([setAsideEntry(meta, index, message, reason, true)], one);
      } catch {
        withContent = false;
        // Its content may be what cannot be written: keep its coordinates (the hub still has it).
        await delivery.malformedStore.keep([setAsideEntry(meta, index, message, reason, false)], one);
      }
      setAside++;
      total = add(total, { ...NOTHING, messages: 1, malformed: 1, malformedMessages: 1 });
      logger.error(LOG_SET_ASIDE, {
        ...where,
        offset: meta.offset,
        sequenceNumber: meta.sequenceNumber,
        enqueuedTimeUtc: meta.enqueuedTimeUtc,
        index,
        withContent,
        error: errorText(error, 500),
      });
    }
  }
  const outcome: SetAsideOutcome = { ...total, durationMs: Date.now() - started, setAside };
  logger.info(LOG_BATCH_PROCESSED, {
    ...outcome,
    ...where,
    sink: delivery.sink.name,
    messageByMessage: true,
  });
  return outcome;
}
