/*
 * decode → normalize → detect → alert rows, for one batch. Pure and synchronous, and it never throws on
 * input: a bad message or record, and even a failure inside decoding, validation, redaction or a rule for
 * one message or record, becomes a problem of that message; every other record is still evaluated.
 *
 * A malformed message is kept once, whatever its number of problems: the first few described with their
 * positions, all of them counted, the raw message once (the trigger's own bytes, not a copy). So what a
 * message costs here is proportional to its size, not to how many things are wrong with it.
 */
import type { AlertRow } from '../alert/columns';
import { buildAlert } from '../alert/buildAlert';
import { decodeMessage, MAX_PROBLEMS_KEPT, MAX_REASON_LENGTH } from '../decode/decode';
import { prefilterFor } from '../detect/prefilter';
import { RULES } from '../detect/registry';
import type { DetectionRule, RuleContext } from '../detect/types';
import { describeValue } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { safeStringify } from '../lib/text';
import { normalizeRecord } from '../normalize/normalize';
import type { ActivityEvent } from '../normalize/activityEvent';
import { readOperationName } from '../normalize/shapes';
import { addToOperation, matchesOperation, type BatchOperation } from './lifecycle';
import type { BatchCounts, MalformedMessage, MessageMeta, MessageProblem } from './ports';

export interface BatchResult {
  readonly alerts: AlertRow[];
  readonly malformed: MalformedMessage[];
  /** Every operation a lifecycle rule matched in this batch, for the join across batches. */
  readonly operations: Map<string, BatchOperation>;
  readonly counts: BatchCounts;
}

/** A normalized record waiting for the rules, with where to report a failure. */
interface Evaluated {
  readonly event: ActivityEvent;
  /** Per rule, the batch's view of the event's operation when the rule joins lifecycles. */
  readonly operations: (BatchOperation | undefined)[];
  readonly problems: MessageProblems;
  readonly at: (p: Omit<MessageProblem, 'line' | 'record'>) => MessageProblem;
}

export interface DetectOptions {
  readonly rules?: readonly DetectionRule[];
  readonly now?: Date;
  /**
   * Skip raw bodies, and records, that cannot match any rule (src/detect/prefilter.ts). Default true;
   * false parses and validates everything (every malformed record is then reported).
   */
  readonly prefilter?: boolean;
  /** The deployment's protected scope, for the integrity rules (default: nothing protected). */
  readonly context?: RuleContext;
}

/** The problems of one message: the first ones described, every one counted. */
class MessageProblems {
  readonly kept: MessageProblem[] = [];
  count = 0;

  add(problem: () => MessageProblem): void {
    this.count++;
    if (this.kept.length < MAX_PROBLEMS_KEPT) this.kept.push(problem());
  }

  get full(): boolean {
    return this.kept.length >= MAX_PROBLEMS_KEPT;
  }
}

function cut(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

/** The message as it arrived, for keeping: bytes stay the same Buffer, text the same string. */
export function rawOf(message: unknown): Buffer | string {
  if (Buffer.isBuffer(message) || typeof message === 'string') return message;
  if (message instanceof Uint8Array)
    return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (message instanceof ArrayBuffer) return Buffer.from(message);
  return safeStringify(message);
}

/**
 * True when normalization is certain to refuse the record (not an object, or no operation name of a
 * readable type), so no rule can fire on it: past the described problems, such a record is counted
 * without building an error for it.
 */
function cannotAlert(record: unknown): boolean {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return true;
  return readOperationName(record as Record<string, unknown>) === undefined;
}

export function malformedMessage(
  meta: MessageMeta,
  index: number,
  message: unknown,
  problems: readonly MessageProblem[],
  problemCount: number,
): MalformedMessage {
  const first = problems[0] ?? {
    code: 'MESSAGE_PROCESSING_FAILED' as const,
    reason: `${problemCount} problems were found`,
  };
  const more = problemCount - 1;
  return {
    ...meta,
    code: first.code,
    reason: more > 0 ? `${first.reason} (and ${more} more problem${more === 1 ? '' : 's'})` : first.reason,
    index,
    problems,
    problemCount,
    raw: rawOf(message),
  };
}

export function detectBatch(
  messages: readonly unknown[],
  metaFor: (index: number) => MessageMeta,
  options: DetectOptions = {},
): BatchResult {
  const rules = options.rules ?? RULES;
  const now = options.now ?? new Date();
  const prefilter = options.prefilter === false ? undefined : prefilterFor(rules, options.context);
  const operations = new Map<string, BatchOperation>();
  const events: Evaluated[] = [];
  const perMessage: { index: number; message: unknown; problems: MessageProblems }[] = [];
  let records = 0;
  let prefiltered = 0;
  let fieldsDropped = 0;

  // First pass: every record decoded and normalized, and each operation's records gathered, so that a
  // success record is evaluated with what its Start and Accept records in the same batch revealed.
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    const problems = new MessageProblems();
    perMessage.push({ index, message, problems });
    try {
      if (prefilter && !prefilter.mayContainMatch(message)) {
        prefiltered++;
        continue;
      }
      const decoded = decodeMessage(message);
      for (const p of decoded.problems) problems.add(() => p);
      problems.count += decoded.problemCount - decoded.problems.length;
      for (let recordIndex = 0; recordIndex < decoded.records.length; recordIndex++) {
        records++;
        const record = decoded.records[recordIndex];
        const line = decoded.recordLines[recordIndex];
        const at = (p: Omit<MessageProblem, 'line' | 'record'>): MessageProblem => ({
          ...p,
          ...(line === undefined ? {} : { line }),
          record: recordIndex,
        });
        try {
          // Validating a record costs more than parsing it; one whose operation no rule can match cannot alert.
          if (prefilter && !prefilter.recordMayMatch(record)) continue;
          if (problems.full && cannotAlert(record)) {
            problems.count++;
            continue;
          }
          const normalized = normalizeRecord(record);
          if (!normalized.ok) {
            problems.add(() => at({ code: normalized.error.code, reason: cut(normalized.error.message) }));
            continue;
          }
          const event = normalized.event;
          if (event.droppedFields.length > 0) fieldsDropped++;
          const upper = event.operationName.toUpperCase();
          events.push({
            event,
            operations: rules.map((rule) =>
              rule.collect && matchesOperation(rule, upper)
                ? addToOperation(operations, rule, event)
                : undefined,
            ),
            problems,
            at,
          });
        } catch (error) {
          problems.add(() =>
            at({
              code: 'MESSAGE_PROCESSING_FAILED',
              reason: cut(
                `The record (${describeValue(record)}) could not be processed: ${errorText(error)}`,
              ),
            }),
          );
        }
      }
    } catch (error) {
      problems.add(() => ({
        code: 'MESSAGE_PROCESSING_FAILED',
        reason: cut(`The message could not be processed: ${errorText(error)}`),
      }));
    }
  }

  // Second pass: the rules; a rule failing on one record is a problem of that record's message.
  const alerts: AlertRow[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const { event, operations: ops, problems, at } of events) {
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r];
      if (!rule) continue;
      try {
        const op = ops[r];
        const finding = rule.evaluate(event, op?.details, options.context);
        if (!finding) continue;
        const alert = buildAlert(rule, event, finding, now, op ? { records: op.phases } : {});
        if (seen.has(alert.AlertId)) {
          duplicates++;
          continue;
        }
        seen.add(alert.AlertId);
        alerts.push(alert);
      } catch (error) {
        problems.add(() =>
          at({
            code: 'MESSAGE_PROCESSING_FAILED',
            reason: cut(`Rule ${rule.id} failed on this record: ${errorText(error)}`),
          }),
        );
      }
    }
  }

  const malformed: MalformedMessage[] = [];
  let problemTotal = 0;
  for (const { index, message, problems } of perMessage) {
    if (problems.count === 0) continue;
    problemTotal += problems.count;
    malformed.push(malformedMessage(metaOf(metaFor, index), index, message, problems.kept, problems.count));
  }

  return {
    alerts,
    malformed,
    operations,
    counts: {
      messages: messages.length,
      records,
      alerts: alerts.length,
      malformed: problemTotal,
      malformedMessages: malformed.length,
      duplicates,
      prefiltered,
      fieldsDropped,
      joined: 0,
      completing: 0,
    },
  };
}

/** The host's metadata for a message; a host bug there must not fail the batch either. */
function metaOf(metaFor: (index: number) => MessageMeta, index: number): MessageMeta {
  try {
    return metaFor(index);
  } catch {
    return {};
  }
}
