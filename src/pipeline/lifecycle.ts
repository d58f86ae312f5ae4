/*
 * The operation lifecycle join. One capture is several Activity Log records sharing a correlation id: Start
 * (its request body says what is captured and where it goes), Accept (its response body echoes the created
 * resource) and Success, on which the rule fires and which usually carries neither body. They can arrive in
 * any order, in different batches and on different partitions.
 *
 * Within a batch the join is pure (detectBatch gathers every record of an operation a lifecycle rule
 * matches). Across batches it goes through a small state store with a time to live: what each operation's
 * records revealed, which of its records were seen, and, for an alert written before its details were
 * known, that alert's success event. The alert is never held back: it is written at once, and when the
 * details arrive a completing row with the same AlertId and a higher AlertRevision follows. Only records of
 * operations a lifecycle rule matches touch the store; a store outage leaves alerts with the details of
 * their own batch, never without alerts.
 */
import { createHash } from 'node:crypto';
import { alertIdFor, buildAlert } from '../alert/buildAlert';
import type { AlertRow } from '../alert/columns';
import { mergeDetails, sameDetails } from '../detect/details';
import type { DetectionRule, OperationDetails, RuleContext } from '../detect/types';
import { errorText } from '../lib/errorText';
import type { ActivityEvent, Phase } from '../normalize/activityEvent';
import type { Logger, OperationState, OperationStateStore } from './ports';

/** Operations joined through the store per batch; past it, alerts keep their batch's details (and say so). */
export const MAX_JOINED_OPERATIONS = 500;
const JOIN_CONCURRENCY = 8;

/** What one batch knows about one operation. */
export interface BatchOperation {
  readonly key: string;
  readonly rule: DetectionRule;
  details: OperationDetails;
  readonly phases: Set<Phase>;
  /** The operation's success records in this batch (the rule fires on them). */
  readonly successes: ActivityEvent[];
}

/** One logged operation: rule, correlation id, operation and resource (a correlation id spans deployments). */
export function operationKey(rule: DetectionRule, event: ActivityEvent): string {
  return [
    rule.id,
    event.correlationId.toLowerCase(),
    event.operationName.toUpperCase(),
    event.resourceId.toLowerCase(),
  ].join('\n');
}

/** A short, storage-safe id of a key (keys hold attacker-chosen text). */
export function operationId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 40);
}

/** Records of an operation this rule matches, whatever their result. */
export function matchesOperation(rule: DetectionRule, upperOperation: string): boolean {
  return rule.operationPatterns.some((p) => upperOperation.includes(p.pattern));
}

/** Adds one record to the batch's view of its operation. */
export function addToOperation(
  operations: Map<string, BatchOperation>,
  rule: DetectionRule,
  event: ActivityEvent,
): BatchOperation {
  const key = operationKey(rule, event);
  let op = operations.get(key);
  if (!op) {
    op = { key, rule, details: {}, phases: new Set(), successes: [] };
    operations.set(key, op);
  }
  op.phases.add(event.phase);
  const details = rule.collect?.(event);
  if (details) op.details = mergeDetails(undefined, op.details, details);
  if (event.phase === 'success') op.successes.push(event);
  return op;
}

/** Start and Accept both seen: no later record of the operation can add details. */
function complete(phases: readonly Phase[]): boolean {
  return phases.includes('start') && phases.includes('accept');
}

/** The stored state after one batch's records of the operation (pure; the store retries it on conflict). */
export function nextState(
  current: OperationState | undefined,
  op: BatchOperation,
  nowMs: number,
  windowMs: number,
): OperationState {
  const live = current !== undefined && current.expiresAt > nowMs ? current : undefined;
  const details = mergeDetails(undefined, live?.details, op.details);
  const phases = [...new Set([...(live?.phases ?? []), ...op.phases])].sort();
  const lastSuccess = op.successes[op.successes.length - 1];
  const pendingEvent = lastSuccess ?? live?.pending;
  return {
    ruleId: op.rule.id,
    details,
    phases,
    // An alert written while the operation's Start or Accept is still unseen can be completed later.
    ...(pendingEvent !== undefined && !complete(phases) ? { pending: pendingEvent } : {}),
    expiresAt: nowMs + windowMs,
  };
}

export interface JoinResult {
  /** Alerts of this batch's success records, rebuilt with what the store knew (by AlertId). */
  readonly rebuilt: Map<string, AlertRow | undefined>;
  /** Completing rows for alerts written by earlier batches. */
  readonly completing: AlertRow[];
  readonly joined: number;
  readonly stateErrors: number;
  readonly skipped: number;
}

/** The alert of a success event with these details, or the completing row that withdraws it. */
function rowFor(
  rule: DetectionRule,
  event: ActivityEvent,
  state: OperationState,
  previous: OperationDetails | undefined,
  now: Date,
  context: RuleContext | undefined,
): AlertRow | undefined {
  const finding = rule.evaluate(event, state.details, context);
  if (finding) return buildAlert(rule, event, finding, now, { records: state.phases });
  if (previous === undefined) return undefined;
  const why = rule.whyNot?.(event, state.details);
  const before = rule.evaluate(event, previous, context);
  if (!before || why === undefined) return undefined;
  return buildAlert(rule, event, before, now, {
    records: state.phases,
    suppression: `Not a finding after all: ${why} (learned from a later record of the same operation).`,
  });
}

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Joins a batch's operations with what earlier batches stored, and stores what this batch adds. Never
 * throws: a key the store cannot serve keeps the batch's own details.
 */
export async function joinOperations(
  operations: ReadonlyMap<string, BatchOperation>,
  store: OperationStateStore,
  now: Date,
  windowMs: number,
  logger: Logger,
  context?: RuleContext,
): Promise<JoinResult> {
  const rebuilt = new Map<string, AlertRow | undefined>();
  const completing: AlertRow[] = [];
  const all = [...operations.values()];
  const ops = all.slice(0, MAX_JOINED_OPERATIONS);
  let stateErrors = 0;
  let firstError: unknown;
  await inParallel(ops, JOIN_CONCURRENCY, async (op) => {
    let before: OperationState | undefined;
    let after: OperationState;
    try {
      ({ before, after } = await store.update(operationId(op.key), (current) =>
        nextState(current, op, now.getTime(), windowMs),
      ));
    } catch (error) {
      stateErrors++;
      firstError ??= error;
      return;
    }
    const live = before !== undefined && before.expiresAt > now.getTime() ? before : undefined;
    for (const event of op.successes) {
      // Undefined: the stored details rule the finding out (a firewall Status poll seen in another batch).
      rebuilt.set(alertIdFor(op.rule, event), rowFor(op.rule, event, after, undefined, now, context));
    }
    const pending = live?.pending;
    // A later record of an operation whose alert was written earlier: a completing row when it told more.
    const learned =
      !sameDetails(live?.details ?? {}, after.details) || after.phases.length > (live?.phases.length ?? 0);
    if (pending !== undefined && op.successes.length === 0 && learned) {
      const row = rowFor(op.rule, pending, after, live?.details ?? {}, now, context);
      if (row) completing.push(row);
    }
  });
  if (stateErrors > 0) {
    logger.warn('operation state unavailable: alerts keep the details of their own batch', {
      store: store.name,
      operations: ops.length,
      failed: stateErrors,
      error: errorText(firstError),
    });
  }
  if (all.length > ops.length) {
    logger.warn('too many capture operations in one batch to join: the rest keep their batch details', {
      operations: all.length,
      joined: ops.length,
    });
  }
  return {
    rebuilt,
    completing,
    joined: ops.length - stateErrors,
    stateErrors,
    skipped: all.length - ops.length,
  };
}
