/*
 * What `scan` tells its user on standard error: the status line, notes (redacted), the logger its run
 * reports through, and the summary and advice at the end.
 */
import { LOG_DEAD_LETTERED, LOG_RETRY } from '../../deliver/logsIngestionSink';
import { redactText } from '../../lib/redact';
import { formatBytes, plural } from '../../lib/text';
import type { Logger } from '../../pipeline/ports';
import { LOG_MALFORMED } from '../../pipeline/runBatch';
import type { CliIo } from '../io';
import type { ListingCounts } from './blobSource';
import type { RunAlertCollector } from './collector';
import type { ResumeState } from './resume';
import type { ScanTotals } from './run';
import type { RunDelivery } from './runDelivery';
import { StatusLine, thousands } from './status';
import { describeRange, type TimeRange } from './timeRange';

/** Retry messages while Logs Ingestion fails are shown at most this often. */
const RETRY_NOTE_MS = 10_000;

export class ScanReporter {
  readonly status: StatusLine;
  readonly logger: Logger;
  private lastRetryNote = 0;
  private retrying = false;
  private firstDeadLetterSaid = false;

  constructor(stderr: CliIo['stderr']) {
    this.status = new StatusLine(stderr);
    this.logger = {
      info: () => undefined,
      warn: (message, fields) => {
        // Malformed input is printed with its location by the run; retries would flood an outage.
        if (message === LOG_MALFORMED) return;
        if (message === LOG_RETRY) {
          this.retrying = true;
          if (Date.now() - this.lastRetryNote >= RETRY_NOTE_MS) {
            this.lastRetryNote = Date.now();
            this.say(
              `Logs Ingestion failing, retrying (${typeof fields?.reason === 'string' ? fields.reason : 'no reason given'})`,
            );
          }
          return;
        }
        this.say(`${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
      },
      error: (message, fields) => {
        if (message === LOG_DEAD_LETTERED) {
          if (!this.firstDeadLetterSaid) {
            this.firstDeadLetterSaid = true;
            const reasons = Array.isArray(fields?.reasons) ? fields.reasons.map(String).join(' | ') : '';
            this.say(`alerts are being dead-lettered: ${reasons}`);
          }
          return;
        }
        this.say(`${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
      },
    };
  }

  /** A note above the status line, secrets redacted. */
  say(text: string): void {
    this.status.log(redactText(`scan: ${text}`));
  }

  /** What the status line adds while delivery is in trouble. */
  deliveryNote(delivery: RunDelivery | undefined): { note: string } | Record<string, never> {
    if (delivery?.exhausted === true) return { note: 'dead-lettering: delivery budget spent' };
    if (this.retrying && Date.now() - this.lastRetryNote < RETRY_NOTE_MS)
      return { note: 'Logs Ingestion failing, retrying' };
    return {};
  }
}

export function summaryLine(
  t: ScanTotals,
  collector: RunAlertCollector,
  listing: ListingCounts,
  range: TimeRange | undefined,
  delivery: RunDelivery | undefined,
  elapsedMs: number,
): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? ` (${formatBytes(t.bytes / seconds)}/s)` : '';
  const parts = [
    `scanned ${plural(t.scanned, 'file')}, ${formatBytes(t.bytes)} in ${seconds.toFixed(1)} s${rate}: ${thousands(t.records)} records decoded, ${thousands(t.prefiltered)} of ${thousands(t.messages)} parts skipped by the prefilter`,
  ];
  const dup =
    t.duplicates > 0
      ? ` (${t.duplicates} more ${t.duplicates === 1 ? 'copy' : 'copies'} of them ignored)`
      : '';
  const earlier = collector.seeded > 0 ? ` (${collector.seeded} found by the earlier run)` : '';
  parts.push(
    `${plural(collector.size, 'alert')}${earlier}${dup}, ${t.malformed} malformed, ${t.unreadable} unreadable`,
  );
  if (delivery) {
    parts.push(
      `delivered ${t.delivered} to ${delivery.name}, dead-lettered ${t.deadLettered}${t.undelivered > 0 ? `, ${t.undelivered} neither` : ''}`,
    );
  }
  if (t.resumed > 0) parts.push(`${plural(t.resumed, 'file')} finished by an earlier run skipped`);
  if (range && listing.outsideRange + listing.undated > 0) {
    parts.push(
      `${listing.outsideRange + listing.undated} files or folders outside ${describeRange(range)} not read`,
    );
  }
  return parts.join('; ');
}

export function notes(
  t: ScanTotals,
  delivery: RunDelivery | undefined,
  resume: ResumeState | undefined,
  interrupted: boolean,
  resumePath: string | undefined,
): string[] {
  const lines: string[] = [];
  if (delivery && t.deadLettered > 0) {
    const blobs = delivery.deadLetterBlobs;
    const first = blobs[0] ?? '';
    lines.push(
      `${plural(t.deadLettered, 'alert was', 'alerts were')} not delivered and dead-lettered to ${delivery.deadLetterLocation} (${plural(blobs.length, 'blob')}${first === '' ? '' : `, first ${first}`}). Once Logs Ingestion accepts them, replay with the same settings: packet-capture-detector replay-dead-letters (replay-dead-letters --list shows them)`,
    );
  }
  if (t.undelivered > 0) {
    lines.push(
      `${plural(t.undelivered, 'alert')} could be neither delivered nor dead-lettered: written to standard output as JSON Lines instead; keep them`,
    );
  }
  if (interrupted) {
    lines.push(
      resume
        ? `stopped before the end: run the same command again to continue (finished files are recorded in ${resumePath ?? resume.path})`
        : 'stopped before the end: add --resume <state file> to be able to continue where a stopped run left off',
    );
  }
  return lines;
}
