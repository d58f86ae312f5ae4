/*
 * Runbook step 3 ("has the caller enabled packet capture in the past 90 days?") answered at detection time.
 * Sentinel cannot answer it at alert time from the workspace: a scheduled rule reads at most its query period
 * (14 days at most), whatever time filter its query holds. The detector sees every capture start it alerts
 * on, so it keeps, per principal and per caller IP, the capture operations of the last 90 days in a small
 * store (Table Storage in Azure, memory for scan) and writes the answer into the row: CallerPriorCaptures,
 * CallerIpPriorCaptures, CallerLastPriorCapture. The analytics rule combines it with the 14 days of alerts
 * and AzureActivity it can read itself.
 *
 * Windows are counted in event time (a scan of an old archive answers for the time of its records), keys are
 * hashed (they hold attacker-chosen text), each key's list is bounded, and a store that fails leaves the
 * answer unknown (-1): the row is written anyway, never held back.
 */
import { createHash } from 'node:crypto';
import { RETRACTED_REVISION, toIsoUtc } from '../alert/buildAlert';
import type { AlertRow } from '../alert/columns';
import { parseIpAddress } from './ipRange';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Runbook step 3 asks about the previous 90 days. */
export const HISTORY_WINDOW_MS = 90 * DAY_MS;
/** Operations kept per key: enough to tell routine use from a first one, bounded against floods. */
export const MAX_STARTS_PER_KEY = 100;
/** Rows whose history is read per batch; beyond it their answer stays unknown (and the batch says so). */
export const MAX_HISTORY_ROWS = 500;
const CONCURRENCY = 8;
/** A start dated further ahead than this is forged or skewed: it is not kept. */
const MAX_FUTURE_MS = DAY_MS;

/** One capture operation in a key's history: its AlertId and when it started (epoch ms, event time). */
export interface CaptureStart {
  readonly op: string;
  readonly at: number;
}

/** Keeps each key's capture starts across batches, partitions and instances (Table Storage in Azure). */
export interface CaptureHistoryStore {
  readonly name: string;
  /**
   * Applies `change` to the starts stored under `key` atomically (again on the newer list when another writer
   * changed it in between) and returns the list as it was before.
   */
  update(
    key: string,
    change: (current: readonly CaptureStart[]) => readonly CaptureStart[],
  ): Promise<readonly CaptureStart[]>;
}

/** The store's key of a principal or caller IP: a hash, since the text is attacker-chosen. */
export function historyKey(kind: 'principal' | 'ip', value: string): string {
  return createHash('sha256').update(`${kind}\n${value}`).digest('hex').slice(0, 40);
}

/**
 * Who started the capture and from where, as keys of the row's rule: the principal under each of its names (Caller and its object
 * id: export shapes do not always carry both, so a history under one would miss the other), never CallerAppId
 * (for a user that is the client app, which every other user of it shares); the caller IP canonicalized.
 */
export function historyKeysOf(row: AlertRow): { principal: string[]; ip?: string } {
  // Per rule: a capture rule's history is captures, another rule's its own findings.
  const rule = row.RuleId.toLowerCase();
  const names = [row.Caller, row.CallerObjectId].map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  const address = parseIpAddress(row.CallerIpAddress);
  const ip =
    address === undefined
      ? row.CallerIpAddress.trim().toLowerCase()
      : `${address.family}:${address.value.toString(16)}`;
  return {
    principal: [...new Set(names)].map((n) => historyKey('principal', `${rule}\n${n}`)),
    ...(ip === '' ? {} : { ip: historyKey('ip', `${rule}\n${ip}`) }),
  };
}

/**
 * The list after recording `start` (or forgetting `forget`): the operation once, the newest
 * MAX_STARTS_PER_KEY within the window of the newest start, nothing dated more than a day after `nowMs`.
 */
export function nextStarts(
  current: readonly CaptureStart[],
  change: { readonly add?: CaptureStart; readonly forget?: string },
  nowMs: number,
): CaptureStart[] {
  const byOp = new Map<string, CaptureStart>();
  for (const s of current) {
    if (typeof s.op === 'string' && Number.isFinite(s.at)) byOp.set(s.op, s);
  }
  if (change.forget !== undefined) byOp.delete(change.forget);
  if (change.add !== undefined) byOp.set(change.add.op, change.add);
  const kept = [...byOp.values()].filter((s) => s.at <= nowMs + MAX_FUTURE_MS);
  const newest = kept.reduce((max, s) => (s.at > max ? s.at : max), -Infinity);
  return kept
    .filter((s) => s.at > newest - HISTORY_WINDOW_MS)
    .sort((a, b) => b.at - a.at)
    .slice(0, MAX_STARTS_PER_KEY);
}

/** The starts before `at` within the window, the operation itself excluded: how many, and the latest. */
export function priorStarts(
  starts: readonly CaptureStart[],
  op: string,
  at: number,
): { count: number; last: number | undefined } {
  const prior = starts.filter((s) => s.op !== op && s.at < at && s.at >= at - HISTORY_WINDOW_MS);
  const last = prior.reduce<number | undefined>(
    (max, s) => (max === undefined || s.at > max ? s.at : max),
    undefined,
  );
  return { count: prior.length, last };
}

export interface HistoryResult {
  readonly rows: AlertRow[];
  /** Rows whose principal or IP history could not be read (their answer stays -1). */
  readonly failed: number;
  /** Rows past MAX_HISTORY_ROWS in this batch (their answer stays -1). */
  readonly skipped: number;
  readonly firstError?: unknown;
}

interface Pending {
  readonly row: number;
  readonly kind: 'principal' | 'ip';
  readonly start: CaptureStart;
  readonly withdrawn: boolean;
}

/**
 * Records each row's operation under its principal's names and its caller IP, and fills the row's history
 * columns with what was recorded before it (for the principal, the union over its names). A key's rows are
 * recorded in order, keys in parallel; smoke test rows are neither recorded nor answered, and a withdrawn
 * finding (a later record showed it was no capture start) is forgotten. Never throws.
 */
export async function recordHistory(
  rows: readonly AlertRow[],
  store: CaptureHistoryStore,
  now: Date,
): Promise<HistoryResult> {
  const nowMs = now.getTime();
  const out = rows.map((r) => ({ ...r }));
  const byKey = new Map<string, Pending[]>();
  let considered = 0;
  let skipped = 0;
  rows.forEach((row, i) => {
    if (row.SmokeTestId !== '') return;
    if (++considered > MAX_HISTORY_ROWS) {
      skipped++;
      return;
    }
    const at = Date.parse(toIsoUtc(row.EventTime) || row.TimeGenerated);
    const start = { op: row.AlertId, at: Number.isFinite(at) ? at : nowMs };
    const withdrawn = row.AlertRevision === RETRACTED_REVISION;
    const keys = historyKeysOf(row);
    const add = (key: string, kind: Pending['kind']) => {
      const list = byKey.get(key) ?? [];
      list.push({ row: i, kind, start, withdrawn });
      byKey.set(key, list);
    };
    for (const key of keys.principal) add(key, 'principal');
    if (keys.ip !== undefined) add(keys.ip, 'ip');
  });

  // What each key held before each of its rows, by row and kind (a principal's names are merged).
  const seen = new Map<string, CaptureStart[]>();
  const failed = new Set<string>();
  const failedRows = new Set<number>();
  let firstError: unknown;
  const keys = [...byKey.entries()];
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const entry = keys[next++];
      if (entry === undefined) continue;
      const [key, pending] = entry;
      for (const p of pending) {
        const slot = `${p.row}\n${p.kind}`;
        try {
          const before = await store.update(key, (current) =>
            nextStarts(current, p.withdrawn ? { forget: p.start.op } : { add: p.start }, nowMs),
          );
          seen.set(slot, [...(seen.get(slot) ?? []), ...before]);
        } catch (error) {
          firstError ??= error;
          failed.add(slot);
          failedRows.add(p.row);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keys.length) }, worker));

  for (const [slot, before] of seen) {
    if (failed.has(slot)) continue;
    const [rowText, kind] = slot.split('\n');
    const row = out[Number(rowText)];
    if (!row) continue;
    const start = { op: row.AlertId, at: Date.parse(toIsoUtc(row.EventTime) || row.TimeGenerated) };
    const unique = [...new Map(before.map((s) => [s.op, s])).values()];
    const prior = priorStarts(unique, start.op, Number.isFinite(start.at) ? start.at : nowMs);
    if (kind === 'ip') row.CallerIpPriorCaptures = prior.count;
    else {
      row.CallerPriorCaptures = prior.count;
      row.CallerLastPriorCapture = prior.last === undefined ? '' : new Date(prior.last).toISOString();
    }
  }
  return {
    rows: out,
    failed: failedRows.size,
    skipped,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
