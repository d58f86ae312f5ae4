/*
 * decode → normalize → detect → alert rows, for one batch. Pure and synchronous: it never throws on input,
 * a bad message or record becomes a `MalformedMessage` and every other record is still evaluated.
 */
import type { AlertRow } from '../alert/columns';
import { buildAlert } from '../alert/buildAlert';
import { decodeMessage } from '../decode/decode';
import { prefilterFor } from '../detect/prefilter';
import { RULES } from '../detect/registry';
import type { DetectionRule, RuleContext } from '../detect/types';
import { safeStringify } from '../lib/text';
import { normalizeRecord } from '../normalize/normalize';
import type { ActivityEvent } from '../normalize/activityEvent';
import { addToOperation, matchesOperation, type BatchOperation } from './lifecycle';
import type { BatchCounts, MalformedMessage, MessageMeta } from './ports';

export interface BatchResult {
  readonly alerts: AlertRow[];
  readonly malformed: MalformedMessage[];
  /** Every operation a lifecycle rule matched in this batch, for the join across batches. */
  readonly operations: Map<string, BatchOperation>;
  readonly counts: BatchCounts;
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

interface Evaluated {
  readonly event: ActivityEvent;
  /** Per rule, the batch's view of the event's operation when the rule joins lifecycles. */
  readonly operations: (BatchOperation | undefined)[];
}

export function detectBatch(
  messages: readonly unknown[],
  metaFor: (index: number) => MessageMeta,
  options: DetectOptions = {},
): BatchResult {
  const rules = options.rules ?? RULES;
  const now = options.now ?? new Date();
  const malformed: MalformedMessage[] = [];
  const prefilter = options.prefilter === false ? undefined : prefilterFor(rules, options.context);
  const operations = new Map<string, BatchOperation>();
  const events: Evaluated[] = [];
  let records = 0;
  let prefiltered = 0;
  let fieldsDropped = 0;

  // First pass: every record decoded and normalized, and each operation's records gathered, so that a
  // success record is evaluated with what its Start and Accept records in the same batch revealed.
  messages.forEach((message, index) => {
    if (prefilter && !prefilter.mayContainMatch(message)) {
      prefiltered++;
      return;
    }
    const meta = metaFor(index);
    const decoded = decodeMessage(message);
    for (const problem of decoded.problems) {
      malformed.push({
        ...meta,
        code: problem.code,
        reason: problem.reason,
        index: problem.line ?? index,
        raw: problem.raw,
      });
    }
    decoded.records.forEach((record, recordIndex) => {
      records++;
      // Validating a record costs more than parsing it; one whose operation no rule can match cannot alert.
      if (prefilter && !prefilter.recordMayMatch(record)) return;
      const normalized = normalizeRecord(record);
      if (!normalized.ok) {
        malformed.push({
          ...meta,
          code: normalized.error.code,
          reason: normalized.error.message,
          index: decoded.recordLines[recordIndex] ?? index,
          raw: safeStringify(record),
        });
        return;
      }
      const event = normalized.event;
      if (event.droppedFields.length > 0) fieldsDropped++;
      const upper = event.operationName.toUpperCase();
      events.push({
        event,
        operations: rules.map((rule) =>
          rule.collect && matchesOperation(rule, upper) ? addToOperation(operations, rule, event) : undefined,
        ),
      });
    });
  });

  // Second pass: the rules.
  const alerts: AlertRow[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const { event, operations: ops } of events) {
    rules.forEach((rule, r) => {
      const op = ops[r];
      const finding = rule.evaluate(event, op?.details, options.context);
      if (!finding) return;
      const alert = buildAlert(rule, event, finding, now, op ? { records: op.phases } : {});
      if (seen.has(alert.AlertId)) {
        duplicates++;
        return;
      }
      seen.add(alert.AlertId);
      alerts.push(alert);
    });
  }

  return {
    alerts,
    malformed,
    operations,
    counts: {
      messages: messages.length,
      records,
      alerts: alerts.length,
      malformed: malformed.length,
      duplicates,
      prefiltered,
      fieldsDropped,
      joined: 0,
      completing: 0,
    },
  };
}
