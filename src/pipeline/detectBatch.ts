import type { AlertRow } from '../alert/columns';
import { buildAlert } from '../alert/buildAlert';
import { decodeMessage, safeStringify } from '../decode/decode';
import { prefilterFor } from '../decode/prefilter';
import { RULES } from '../detect/registry';
import type { DetectionRule } from '../detect/types';
import type { MalformedMessage } from '../deliver/types';
import { normalizeRecord } from '../normalize/normalize';

/** Where one message came from: trigger metadata for Event Hubs, a file path for the CLI. */
export interface MessageMeta {
  readonly partitionId?: string;
  readonly offset?: string;
  readonly sequenceNumber?: number;
  readonly enqueuedTimeUtc?: string;
  readonly origin?: string;
}

export interface BatchCounts {
  readonly messages: number;
  readonly records: number;
  readonly alerts: number;
  readonly malformed: number;
  /** Alerts with an AlertId already produced in this batch (the same record delivered twice). */
  readonly duplicates: number;
  /**
   * Messages the byte prefilter skipped unparsed: well-framed bodies that cannot hold a matching record.
   * Their records are not in `records` (they were never decoded) and were not validated.
   */
  readonly prefiltered: number;
}

export interface BatchResult {
  readonly alerts: AlertRow[];
  readonly malformed: MalformedMessage[];
  readonly counts: BatchCounts;
}

export interface DetectOptions {
  readonly rules?: readonly DetectionRule[];
  readonly now?: Date;
  /**
   * Skip raw bodies, and records, that cannot match any rule (src/decode/prefilter.ts). Default true;
   * false parses and validates everything (every malformed record is then reported).
   */
  readonly prefilter?: boolean;
}

/**
 * decode → normalize → detect → alert rows, for one batch. Pure and synchronous: it never throws on input,
 * a bad message or record becomes a `MalformedMessage` and every other record is still evaluated.
 */
export function detectBatch(
  messages: readonly unknown[],
  metaFor: (index: number) => MessageMeta,
  options: DetectOptions = {},
): BatchResult {
  const rules = options.rules ?? RULES;
  const now = options.now ?? new Date();
  const alerts: AlertRow[] = [];
  const malformed: MalformedMessage[] = [];
  const seen = new Set<string>();
  const prefilter = options.prefilter === false ? undefined : prefilterFor(rules);
  let records = 0;
  let duplicates = 0;
  let prefiltered = 0;

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
      for (const rule of rules) {
        const finding = rule.evaluate(normalized.event);
        if (!finding) continue;
        const alert = buildAlert(rule, normalized.event, finding, now);
        if (seen.has(alert.AlertId)) {
          duplicates++;
          continue;
        }
        seen.add(alert.AlertId);
        alerts.push(alert);
      }
    });
  });

  return {
    alerts,
    malformed,
    counts: {
      messages: messages.length,
      records,
      alerts: alerts.length,
      malformed: malformed.length,
      duplicates,
      prefiltered,
    },
  };
}
