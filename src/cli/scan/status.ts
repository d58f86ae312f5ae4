/*
 * What `scan` says on standard error while it runs. On a terminal: one progress line redrawn in place
 * (inputs, bytes, alerts, rate, time left), with messages printed above it. Otherwise: messages only, then
 * one summary line at the end, so logs and CI output stay readable. Writing never throws: a closed stderr
 * (`2>&1 | head`) just stops the output.
 */
import { formatBytes, plural } from '../../lib/text';

export interface Progress {
  readonly inputsDone: number;
  /** Known total, or undefined while inputs are still being listed. */
  readonly inputsTotal: number | undefined;
  readonly bytesDone: number;
  readonly bytesTotal: number | undefined;
  readonly alerts: number;
  readonly elapsedMs: number;
  /** A short note on what is holding the run (e.g. waiting for Logs Ingestion). */
  readonly note?: string;
}

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const REDRAW_MS = 100;

/**
 * `1,234,567`. Not `toLocaleString`: its first call loads ICU's number formatting, about 10 ms of a
 * process that may live 100 ms.
 */
export function thousands(n: number): string {
  const digits = String(Math.trunc(n));
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `1:05`, `12:00:09`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`
    : `${m}:${String(s).padStart(2, '0')}`;
}

export function progressText(p: Progress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.bytesDone / seconds : 0;
  const inputs = `${thousands(p.inputsDone)}/${p.inputsTotal === undefined ? '…' : thousands(p.inputsTotal)} files`;
  const bytes =
    p.bytesTotal === undefined
      ? formatBytes(p.bytesDone)
      : `${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}`;
  let eta = '';
  if (p.bytesTotal !== undefined && p.inputsTotal !== undefined && rate > 0 && p.bytesDone > 0) {
    eta = ` · ETA ${formatDuration(((p.bytesTotal - p.bytesDone) / rate) * 1000)}`;
  }
  const note = p.note === undefined ? '' : ` · ${p.note}`;
  return `scan ${inputs} · ${bytes} · ${plural(p.alerts, 'alert')} · ${formatBytes(rate)}/s${eta}${note}`;
}

export class StatusLine {
  private lastDraw = 0;
  private drawn = false;
  private closed = false;
  readonly live: boolean;

  constructor(private readonly stream: Stream) {
    this.live = stream.isTTY === true;
    stream.on('error', () => {
      this.closed = true;
    });
  }

  private write(text: string): void {
    if (this.closed) return;
    try {
      this.stream.write(text);
    } catch {
      this.closed = true;
    }
  }

  /** Redraws the progress line (on a terminal, at most every 100 ms unless `force`). */
  update(progress: Progress, force = false): void {
    if (!this.live) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    const text = progressText(progress);
    this.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.drawn = true;
  }

  /** A message on a line of its own (above the progress line on a terminal). */
  log(text: string): void {
    if (this.live && this.drawn) {
      this.write(`\r\x1b[K${text}\n`);
      this.lastDraw = 0; // redraw the progress line on the next update
      this.drawn = false;
      return;
    }
    this.write(`${text}\n`);
  }

  /** Removes the progress line, before the summary. */
  clear(): void {
    if (this.live && this.drawn) this.write('\r\x1b[K');
    this.drawn = false;
  }
}
