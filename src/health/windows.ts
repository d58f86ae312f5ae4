/*
 * Health rows from message counts: per window of a few minutes (of the detector's clock) and per subscription,
 * the records and messages seen, the newest record time and the newest enqueued time. Pure bookkeeping; the
 * batch runner feeds it (pipeline/health.ts) and a sink writes what it returns.
 *
 * Memory is bounded however hostile the input: at most MAX_SUBSCRIPTIONS subscriptions per window (the rest
 * add up under SubscriptionId `(other)`), and rows that could not be written are kept for the next flush up to
 * MAX_PENDING_ROWS (older ones are dropped, and counted).
 */
import type { BodyCount } from './count';
import type { HealthRow } from './columns';

export const MAX_SUBSCRIPTIONS = 500;
export const OTHER_SUBSCRIPTIONS = '(other)';
export const MAX_PENDING_ROWS = 5_000;

export interface HealthLabels {
  readonly source: 'function' | 'consume';
  readonly eventHubName: string;
  readonly consumerGroup: string;
}

interface Cell {
  records: number;
  messages: number;
  newest: string;
  oldest: string;
  newestEnqueued: string;
  lastProcessed: string;
}

/** One message's count with the metadata the host gave for it. */
export interface ObservedMessage {
  readonly count: BodyCount;
  /** ISO 8601 (with or without zone; Event Hubs trigger metadata has none), when known. */
  readonly enqueuedTimeUtc?: string;
}

function iso(time: string): string {
  if (time === '') return '';
  const zoned = /[zZ]|[+-]\d{2}:?\d{2}$/.test(time) ? time : `${time}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

const later = (a: string, b: string): string => (a === '' || b > a ? b : a);
const earlier = (a: string, b: string): string => (a === '' || (b !== '' && b < a) ? b : a);

export class HealthWindows {
  private readonly windows = new Map<number, Map<string, Cell>>();

  constructor(
    private readonly windowMs: number,
    private readonly labels: HealthLabels,
  ) {}

  /** Adds one batch's messages, processed at `now`. */
  add(messages: readonly ObservedMessage[], now: Date): void {
    const start = Math.floor(now.getTime() / this.windowMs) * this.windowMs;
    let cells = this.windows.get(start);
    if (!cells) {
      cells = new Map();
      this.windows.set(start, cells);
    }
    const processed = now.toISOString();
    for (const message of messages) {
      const enqueued = iso(message.enqueuedTimeUtc ?? '');
      for (const [subscription, count] of message.count) {
        const key =
          cells.has(subscription) || cells.size < MAX_SUBSCRIPTIONS ? subscription : OTHER_SUBSCRIPTIONS;
        let cell = cells.get(key);
        if (!cell) {
          cell = { records: 0, messages: 0, newest: '', oldest: '', newestEnqueued: '', lastProcessed: '' };
          cells.set(key, cell);
        }
        cell.records += count.records;
        cell.messages += 1;
        if (count.newest !== '') cell.newest = later(cell.newest, `${count.newest}Z`);
        if (count.oldest !== '') cell.oldest = earlier(cell.oldest, `${count.oldest}Z`);
        if (enqueued !== '') cell.newestEnqueued = later(cell.newestEnqueued, enqueued);
        cell.lastProcessed = later(cell.lastProcessed, processed);
      }
    }
  }

  /** Rows of the windows that ended by `now` (all of them with `all`), removed from the bookkeeping. */
  take(now: Date, all = false): HealthRow[] {
    const rows: HealthRow[] = [];
    const written = now.toISOString();
    for (const [start, cells] of [...this.windows].sort((a, b) => a[0] - b[0])) {
      if (!all && start + this.windowMs > now.getTime()) continue;
      this.windows.delete(start);
      for (const [subscription, c] of cells) {
        rows.push({
          TimeGenerated: written,
          WindowStart: new Date(start).toISOString(),
          WindowMinutes: Math.round(this.windowMs / 60_000),
          SubscriptionId: subscription,
          Records: c.records,
          Messages: c.messages,
          NewestRecordTime: toSeconds(c.newest),
          OldestRecordTime: toSeconds(c.oldest),
          NewestEnqueuedTime: c.newestEnqueued,
          LastProcessedTime: c.lastProcessed,
          Source: this.labels.source,
          EventHubName: this.labels.eventHubName,
          ConsumerGroup: this.labels.consumerGroup,
        });
      }
    }
    return rows;
  }

  get pendingWindows(): number {
    return this.windows.size;
  }
}

/** `YYYY-MM-DDTHH:MM:SSZ` as ISO 8601 with milliseconds, as the other times are written. */
function toSeconds(time: string): string {
  return time === '' ? '' : iso(time);
}
