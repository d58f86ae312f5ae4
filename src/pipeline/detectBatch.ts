/*
 * decode → normalize → detect → alert rows, for one batch. Pure and synchronous: it never throws on input,
 * a bad message or record becomes a `MalformedMessage` and every other record is still evaluated.
 */
import type { AlertRow } from '../alert/columns';
import { buildAlert } from '../alert/buildAlert';
import { decodeMessage } from '../decode/decode';
import { prefilterFor } from '../detect/prefilter';
import { RULES } from '../detect/registry';
import type { DetectionRule } from '../detect/types';
import { safeStringify } from '../lib/text';
import { normalizeRecord } from '../normalize/normalize';
import type { BatchCounts, MalformedMessage, MessageMeta } from './ports';

export interface BatchResult {
  readonly alerts: AlertRow[];
  readonly malformed: MalformedMessage[];
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
}

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
