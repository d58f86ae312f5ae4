/*
 * The last step of every batch, over every row the pipeline emits (lifecycle completing rows included):
 * the allowlist. A row it matches is written Suppressed with the entry's reason, never dropped.
 */
import type { AlertRow } from '../alert/columns';
import { applyAllowlist, type Allowlist } from './allowlist';

export interface TriageOptions {
  readonly allowlist?: Allowlist;
  readonly now: Date;
}

export interface TriageResult {
  readonly rows: AlertRow[];
  /** Rows the allowlist suppressed in this step. */
  readonly allowlisted: number;
}

export function triage(rows: readonly AlertRow[], options: TriageOptions): TriageResult {
  if (!options.allowlist || rows.length === 0) return { rows: [...rows], allowlisted: 0 };
  const out = applyAllowlist(rows, options.allowlist, options.now);
  const allowlisted = out.filter((row, i) => row !== rows[i]).length;
  return { rows: out, allowlisted };
}
