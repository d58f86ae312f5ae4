/*
 * One batch through the whole path, for every host (the Function, consume, scan, the bench): detect,
 * deliver the alerts, keep the malformed messages, log one summary. Bad input never throws; only a failure
 * to deliver or keep (after the sink's own retries and dead-lettering) does, so the host does not
 * checkpoint past the batch.
 */
import type { DetectionRule, RuleContext } from '../detect/types';
import { errorFields } from '../lib/errorText';
import type { AlertRow } from '../alert/columns';
import { redactText } from '../lib/redact';
import { triage } from '../triage/triage';
import { detectBatch, type BatchResult } from './detectBatch';
import { joinOperations } from './lifecycle';
import type {
  BatchInfo,
  BatchOutcome,
  Delivery,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MessageMeta,
  MessageProblem,
} from './ports';

/** How long an operation's records are joined when the delivery does not say (6 hours). */
export const DEFAULT_OPERATION_WINDOW_MS = 6 * 60 * 60 * 1000;

export interface RunOptions {
  readonly rules?: readonly DetectionRule[];
  /** False parses and validates every body (scan --validate); default true (see src/detect/prefilter.ts). */
  readonly prefilter?: boolean;
  readonly now?: () => Date;
  /** The deployment's protected scope (PROTECTED_RESOURCE_IDS), for the integrity rules. */
  readonly context?: RuleContext;
}

/** Log messages operators query on (App Insights `traces`); kept constant, alerts and KQL match on them. */
export const LOG_MALFORMED = 'malformed input';
export const LOG_BATCH_FAILED = 'batch failed: alerts or malformed messages could not be delivered or kept';
export const LOG_BATCH_PROCESSED = 'batch processed';

/** Problems described in one line; the rest of a message's problems are counted. */
const PROBLEMS_PER_LINE = 5;
/** A malformed message's line stays short, whatever the message. */
const MAX_LINE_LENGTH = 2_000;

/**
 * Where a malformed message came from and what was wrong with it, on one line (secrets redacted): the first
 * problems with their positions (`file:line`, or line/record within an Event Hubs message), then how many
 * more.
 */
export function describeMalformed(m: MalformedMessage): string {
  const where =
    m.origin ??
    `partition ${m.partitionId ?? '?'} offset ${m.offset ?? '?'} sequence ${m.sequenceNumber ?? '?'} (message ${m.index})`;
  const position = (p: MessageProblem): string => {
    if (m.origin !== undefined)
      return p.line !== undefined ? `:${p.line}` : p.record !== undefined ? `#${p.record}` : '';
    return p.line !== undefined ? ` line ${p.line}` : p.record !== undefined ? ` record ${p.record}` : '';
  };
  const shown = (m.problems.length > 0 ? m.problems : [{ code: m.code, reason: m.reason }]).slice(
    0,
    PROBLEMS_PER_LINE,
  );
  const parts = shown.map((p) => `malformed ${where}${position(p)}: ${p.code}: ${p.reason}`);
  const rest = m.problemCount - shown.length;
  if (rest > 0) parts.push(`and ${rest} more problem${rest === 1 ? '' : 's'} in this message`);
  const line = redactText(parts.join(' | '));
  return line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH - 1)}…` : line;
}

/** The batch's alerts after the lifecycle join with earlier batches (pipeline/lifecycle.ts). */
async function joinAcrossBatches(
  detected: BatchResult,
  delivery: Delivery,
  now: Date,
  logger: Logger,
  context: RuleContext | undefined,
): Promise<BatchResult> {
  const store = delivery.operationState;
  if (!store || detected.operations.size === 0) return detected;
  const join = await joinOperations(
    detected.operations,
    store,
    now,
    delivery.operationWindowMs ?? DEFAULT_OPERATION_WINDOW_MS,
    logger,
    context,
  );
  const alerts: AlertRow[] = [];
  for (const alert of detected.alerts) {
    if (!join.rebuilt.has(alert.AlertId)) alerts.push(alert);
    else {
      const row = join.rebuilt.get(alert.AlertId);
      if (row) alerts.push(row);
    }
  }
  for (const row of join.completing) alerts.push(row);
  return {
    ...detected,
    alerts,
    counts: {
      ...detected.counts,
      alerts: alerts.length,
      joined: join.joined,
      completing: join.completing.length,
    },
  };
}

export async function runBatch(
  messages: readonly unknown[],
  metas: readonly MessageMeta[],
  batch: BatchInfo,
  delivery: Delivery,
  logger: Logger,
  options: RunOptions = {},
): Promise<BatchOutcome> {
  const started = Date.now();
  const now = options.now?.() ?? new Date();
  // Counted from the bytes before detection; recorded only once the batch is delivered (health.ts).
  const observed = delivery.health?.observe(messages, metas, now);
  const detected = detectBatch(messages, (i) => metas[i] ?? {}, {
    rules: options.rules,
    now,
    prefilter: options.prefilter,
    context: options.context,
  });
  const joined = await joinAcrossBatches(detected, delivery, now, logger, options.context);
  // Every row the batch emits, completing rows included, goes through triage last.
  const triaged = await triage(joined.alerts, {
    now,
    ...(delivery.allowlist ? { allowlist: delivery.allowlist } : {}),
    ...(delivery.captureHistory ? { history: delivery.captureHistory } : {}),
    warn: (message, fields) => {
      logger.warn(message, fields);
    },
  });
  const result: BatchResult = {
    ...joined,
    alerts: triaged.rows,
    counts: { ...joined.counts, allowlisted: triaged.allowlisted },
  };

  // One line per malformed message, whatever its number of problems.
  for (const m of result.malformed) {
    logger.warn(LOG_MALFORMED, {
      code: m.code,
      reason: redactText(m.reason),
      problems: m.problemCount,
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
    logger.error(LOG_BATCH_FAILED, { ...fields, errors: failures.map(errorFields) });
    throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'batch delivery failed');
  }
  if (observed) await delivery.health?.record(observed, now, logger);
  logger.info(LOG_BATCH_PROCESSED, fields);
  return outcome;
}
