/*
 * The last step of every batch, over every row the pipeline emits (lifecycle completing rows included): the
 * caller's capture history (runbook step 3, src/triage/history.ts), then the allowlist. A row the allowlist
 * matches is written Suppressed with the entry's reason, never dropped; a history that cannot be read leaves
 * the row's answer unknown, never holds the row back.
 */
import type { AlertRow } from '../alert/columns';
import { errorText } from '../lib/errorText';
import { applyAllowlist, type Allowlist } from './allowlist';
import { recordHistory, type CaptureHistoryStore } from './history';

export interface TriageOptions {
  readonly allowlist?: Allowlist;
  readonly history?: CaptureHistoryStore;
  readonly now: Date;
  /** Told when part of the step could not be done (the history store failed, too many rows). */
  readonly warn?: (message: string, fields: Record<string, unknown>) => void;
}

export interface TriageResult {
  readonly rows: AlertRow[];
  /** Rows the allowlist suppressed in this step. */
  readonly allowlisted: number;
}

export const LOG_HISTORY_UNAVAILABLE =
  "caller history unavailable: those rows say -1 (unknown) for the caller's earlier captures";

export async function triage(rows: readonly AlertRow[], options: TriageOptions): Promise<TriageResult> {
  let out: AlertRow[] = [...rows];
  if (out.length === 0) return { rows: out, allowlisted: 0 };
  if (options.history) {
    const history = await recordHistory(out, options.history, options.now);
    out = history.rows;
    if (history.failed > 0 || history.skipped > 0) {
      options.warn?.(LOG_HISTORY_UNAVAILABLE, {
        store: options.history.name,
        failed: history.failed,
        skipped: history.skipped,
        ...(history.firstError === undefined ? {} : { error: errorText(history.firstError) }),
      });
    }
  }
  if (!options.allowlist) return { rows: out, allowlisted: 0 };
  const before = out;
  out = applyAllowlist(before, options.allowlist, options.now);
  return { rows: out, allowlisted: out.filter((row, i) => row !== before[i]).length };
}
