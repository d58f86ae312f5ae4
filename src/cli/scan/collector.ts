/*
 * The one place every alert of a `scan` run passes through. An alert is identified by its `AlertId` (the
 * same record read twice, from two files or two copies of an archive, gets the same one), so each is kept,
 * printed and delivered once per run however many inputs hold it; when the lifecycle join completes an
 * alert from a later file (same AlertId, higher AlertRevision), the completing row takes its place. Alerts
 * are rare, so the run holds them all: printed output (JSON Lines or the table) is written once the run
 * ends, in input order, each alert complete.
 */
import type { AlertRow } from '../../alert/columns';

interface Held {
  readonly alert: AlertRow;
  /** Input order, then order within the input: output does not depend on how reads overlapped. */
  readonly input: number;
  readonly seq: number;
}

export class RunAlertCollector {
  private readonly held = new Map<string, Held>();
  private seq = 0;
  /** Alerts seen again after their first time in this run (same AlertId). */
  duplicates = 0;

  /**
   * The alerts not seen before in this run and the rows that complete one seen before, in the order given;
   * the others are counted as duplicates.
   */
  accept(alerts: readonly AlertRow[], input: number): AlertRow[] {
    const fresh: AlertRow[] = [];
    for (const alert of alerts) {
      const held = this.held.get(alert.AlertId);
      if (held && alert.AlertRevision <= held.alert.AlertRevision) {
        this.duplicates++;
        continue;
      }
      // A completing row keeps the place of the alert it completes.
      this.held.set(alert.AlertId, held ? { ...held, alert } : { alert, input, seq: this.seq++ });
      fresh.push(alert);
    }
    return fresh;
  }

  /** Alerts an earlier, interrupted run of the same scan already found (from its state file). */
  seed(alerts: readonly AlertRow[], input: number): void {
    for (const alert of alerts) {
      const held = this.held.get(alert.AlertId);
      if (held && alert.AlertRevision <= held.alert.AlertRevision) continue;
      this.held.set(alert.AlertId, held ? { ...held, alert } : { alert, input, seq: this.seq++ });
      if (!held) this.seeded++;
    }
  }

  /** How many of the alerts came from the state file of an earlier run. */
  seeded = 0;

  /** Alerts that could be neither delivered nor dead-lettered: the run prints them rather than lose them. */
  private readonly stranded: AlertRow[] = [];

  strand(alerts: readonly AlertRow[]): void {
    for (const alert of alerts) this.stranded.push(alert);
  }

  undelivered(): AlertRow[] {
    return [...this.stranded];
  }

  get size(): number {
    return this.held.size;
  }

  /** Every alert of the run, in input order. */
  all(): AlertRow[] {
    return [...this.held.values()].sort((a, b) => a.input - b.input || a.seq - b.seq).map((h) => h.alert);
  }
}
