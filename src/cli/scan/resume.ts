/*
 * `scan --resume <state file>`: what a stopped backfill had finished, so that running the same command
 * again skips it. The file is JSON Lines, appended to as each input is finished (so a run killed at any
 * point loses at most the inputs it was reading, which the next run reads again):
 *
 *   {"v":1,"kind":"packet-capture-detector scan state","created":"..."}
 *   {"v":1,"to":"stdout","key":"blob https://.../PT1H.json 0x8DD...","at":"...","alerts":[...]}
 *
 * An input is identified by what it is and its version (a blob's URL and ETag, a file's real path, size
 * and modification time), so a blob that changed since (the current hour's PT1H.json grows) is read again.
 * "Finished" is per destination: its alerts were printed (`stdout`: they are kept in the file, so the
 * resumed run prints the whole backfill's alerts) or delivered or dead-lettered (`logs-ingestion`: only
 * their ids are kept, so they are not sent twice). A torn last line (a run killed mid-write) is ignored.
 * The file holds alert rows (callers, IP addresses): it is created readable by its owner only.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { AlertRow } from '../../alert/columns';
import { DetectorError } from '../../lib/errors';
import { errorText } from '../../lib/errorText';
import * as z from '../../lib/zod';

const STATE_KIND = 'packet-capture-detector scan state';

const headerSchema = z.object({ v: z.literal(1), kind: z.literal(STATE_KIND) });
const doneSchema = z.object({
  v: z.literal(1),
  to: z.string(),
  key: z.string(),
  alerts: z.optional(z.array(z.looseObject({ AlertId: z.string() }))),
  alertIds: z.optional(z.array(z.string())),
});

export interface FinishedInput {
  readonly alerts: readonly AlertRow[];
  readonly alertIds: readonly string[];
}

export class ResumeState {
  private readonly done = new Map<string, FinishedInput>();
  /** Lines that could not be read (a torn last line); reported, not fatal. */
  readonly unreadableLines: number;

  private constructor(
    readonly path: string,
    private readonly destination: string,
    lines: readonly string[],
  ) {
    let bad = 0;
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        bad++;
        continue;
      }
      if (i === 0 && headerSchema.safeParse(value).success) continue;
      const parsed = doneSchema.safeParse(value);
      if (!parsed.success) {
        bad++;
        continue;
      }
      if (parsed.data.to !== destination) continue;
      const alerts = (parsed.data.alerts ?? []) as unknown as AlertRow[];
      this.done.set(parsed.data.key, {
        alerts,
        alertIds: parsed.data.alertIds ?? alerts.map((a) => a.AlertId),
      });
    }
    this.unreadableLines = bad;
  }

  /**
   * Opens (or creates) the state file. `destination` names where alerts go (`stdout`, or the Logs
   * Ingestion rule): work finished for another destination does not count as finished for this one.
   */
  static open(path: string, destination: string, now: Date = new Date()): ResumeState {
    let lines: string[] = [];
    if (existsSync(path)) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw new DetectorError('USAGE', `Cannot read the --resume state file ${path}: ${errorText(error)}`, {
          cause: error,
        });
      }
      lines = text.split('\n');
      const first = lines.find((l) => l.trim() !== '');
      let header: unknown;
      try {
        header = first === undefined ? undefined : JSON.parse(first);
      } catch {
        header = undefined;
      }
      if (first !== undefined && !headerSchema.safeParse(header).success) {
        throw new DetectorError(
          'USAGE',
          `${path} is not a scan state file (its first line should be {"v":1,"kind":"${STATE_KIND}",...}); give a new file name or the file an earlier --resume wrote`,
        );
      }
      if (first !== undefined && !text.endsWith('\n')) appendLine(path, ''); // a torn last line: end it
    }
    if (lines.every((l) => l.trim() === '')) {
      appendLine(path, JSON.stringify({ v: 1, kind: STATE_KIND, created: now.toISOString() }));
    }
    return new ResumeState(path, destination, lines);
  }

  /** Inputs an earlier run finished for this destination. */
  get finishedCount(): number {
    return this.done.size;
  }

  finished(key: string | undefined): FinishedInput | undefined {
    return key === undefined ? undefined : this.done.get(key);
  }

  /** Every finished input's alerts (for `stdout`: printed again at the end of the resumed run). */
  finishedAlerts(): AlertRow[] {
    return [...this.done.values()].flatMap((d) => [...d.alerts]);
  }

  finishedAlertIds(): string[] {
    return [...this.done.values()].flatMap((d) => [...d.alertIds]);
  }

  /** Records an input as finished, with the alerts it produced (rows for stdout, ids otherwise). */
  markFinished(
    key: string | undefined,
    alerts: readonly AlertRow[],
    keepRows: boolean,
    at: Date = new Date(),
  ): void {
    if (key === undefined) return;
    const line = {
      v: 1,
      to: this.destination,
      key,
      at: at.toISOString(),
      ...(keepRows ? { alerts } : { alertIds: alerts.map((a) => a.AlertId) }),
    };
    appendLine(this.path, JSON.stringify(line));
    this.done.set(key, { alerts: keepRows ? alerts : [], alertIds: alerts.map((a) => a.AlertId) });
  }
}

function appendLine(path: string, line: string): void {
  // Synchronous and one write per line: a run killed right after finishing an input still has it recorded.
  appendFileSync(path, `${line}\n`, { mode: 0o600 });
}
