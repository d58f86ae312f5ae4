/*
 * `--since` / `--until`: which hours of the archive to read, decided from the path alone. A diagnostic
 * setting writes one blob per hour, `.../y=2025/m=12/d=22/h=11/m=00/PT1H.json`, holding the records of
 * that hour; a blob (or a local copy of one) is selected when its hour overlaps [since, until). Selecting by
 * path means nothing outside the range is downloaded or read; the records of a selected hour are all
 * scanned.
 */
import { DetectorError } from '../../lib/errors';

export interface TimeRange {
  /** Inclusive, epoch ms; undefined: from the start. */
  readonly sinceMs?: number;
  /** Exclusive, epoch ms; undefined: up to now and beyond. */
  readonly untilMs?: number;
}

const HOUR_MS = 3_600_000;
const RELATIVE = /^(\d+)\s*(m|h|d)$/i;
const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A point in time from the command line: `2025-12-22`, `2025-12-22T11`, `2025-12-22T11:30Z`,
 * `2025-12-22T11:30:00+01:00` (UTC when no offset is given, as the archive's paths are), or a duration
 * before `now`: `90m`, `36h`, `7d`.
 */
export function parseTimeOption(name: string, text: string, now: number = Date.now()): number {
  const trimmed = text.trim();
  const relative = RELATIVE.exec(trimmed);
  if (relative) {
    const n = Number(relative[1]);
    const unit = (relative[2] ?? 'h').toLowerCase();
    return now - n * (unit === 'm' ? 60_000 : unit === 'h' ? HOUR_MS : 24 * HOUR_MS);
  }
  const m = ABSOLUTE.exec(trimmed);
  if (m) {
    const [, y, mo, d, h, mi, s, zone] = m;
    const base = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
    );
    const check = new Date(base);
    const valid =
      check.getUTCFullYear() === Number(y) &&
      check.getUTCMonth() === Number(mo) - 1 &&
      check.getUTCDate() === Number(d) &&
      Number(h ?? 0) < 24 &&
      Number(mi ?? 0) < 60 &&
      Number(s ?? 0) < 60;
    if (valid) {
      let offsetMs = 0;
      if (zone !== undefined && zone.toUpperCase() !== 'Z') {
        const digits = zone.replace(':', '');
        const sign = digits.startsWith('-') ? -1 : 1;
        offsetMs = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))) * 60_000;
      }
      return base - offsetMs;
    }
  }
  throw new DetectorError(
    'USAGE',
    `${name} must be a date or time such as 2025-12-22, 2025-12-22T11:00Z or a duration before now such as 36h or 7d, got "${text}"`,
  );
}

export function timeRangeOf(
  since: string | undefined,
  until: string | undefined,
  now: number = Date.now(),
): TimeRange | undefined {
  if (since === undefined && until === undefined) return undefined;
  const range: TimeRange = {
    ...(since === undefined ? {} : { sinceMs: parseTimeOption('--since', since, now) }),
    ...(until === undefined ? {} : { untilMs: parseTimeOption('--until', until, now) }),
  };
  if (range.sinceMs !== undefined && range.untilMs !== undefined && range.untilMs <= range.sinceMs) {
    throw new DetectorError('USAGE', `--until (${until ?? ''}) must be later than --since (${since ?? ''})`);
  }
  return range;
}

/** The part of a time the archive's path names: year, then month, day and hour as far as the path goes. */
export interface PathTime {
  readonly year: number;
  readonly month?: number;
  readonly day?: number;
  readonly hour?: number;
}

/**
 * Reads `y=YYYY/m=MM/d=DD/h=HH` from a path (a blob name or a local path, `/` or `\` separated), as far as
 * it goes; the `m=` after `h=` is the minute and is ignored. Undefined when the path has no `y=` segment.
 */
export function pathTime(path: string): PathTime | undefined {
  const segments = path.split(/[/\\]/);
  const at = segments.findIndex((s) => /^y=\d{4}$/i.test(s));
  if (at === -1) return undefined;
  const value = (i: number, key: string, max: number): number | undefined => {
    const m = new RegExp(`^${key}=(\\d{1,2})$`, 'i').exec(segments[at + i] ?? '');
    if (!m) return undefined;
    const n = Number(m[1]);
    return n <= max ? n : undefined;
  };
  const year = Number((segments[at] ?? '').slice(2));
  const month = value(1, 'm', 12);
  const day = month === undefined ? undefined : value(2, 'd', 31);
  const hour = day === undefined ? undefined : value(3, 'h', 23);
  return {
    year,
    ...(month === undefined ? {} : { month }),
    ...(day === undefined ? {} : { day }),
    ...(hour === undefined ? {} : { hour }),
  };
}

/** [start, end) in epoch ms of what a path time covers (an hour, a day, a month or a year). */
export function spanOf(t: PathTime): { startMs: number; endMs: number } {
  if (t.month === undefined) {
    return { startMs: Date.UTC(t.year, 0, 1), endMs: Date.UTC(t.year + 1, 0, 1) };
  }
  if (t.day === undefined) {
    return { startMs: Date.UTC(t.year, t.month - 1, 1), endMs: Date.UTC(t.year, t.month, 1) };
  }
  if (t.hour === undefined) {
    const startMs = Date.UTC(t.year, t.month - 1, t.day);
    return { startMs, endMs: startMs + 24 * HOUR_MS };
  }
  const startMs = Date.UTC(t.year, t.month - 1, t.day, t.hour);
  return { startMs, endMs: startMs + HOUR_MS };
}

export function overlaps(range: TimeRange, span: { startMs: number; endMs: number }): boolean {
  return (
    (range.sinceMs === undefined || span.endMs > range.sinceMs) &&
    (range.untilMs === undefined || span.startMs < range.untilMs)
  );
}

/**
 * Whether a path is selected: its hour overlaps the range. A path without the archive's time segments,
 * or with only part of them (a whole day's folder), is judged by what it names; one without any `y=` is
 * not selected when a range is given (its time is unknown), and the caller counts it.
 */
export function selectedByPath(range: TimeRange | undefined, path: string): boolean | 'unknown' {
  if (range === undefined) return true;
  const t = pathTime(path);
  if (t === undefined) return 'unknown';
  return overlaps(range, spanOf(t));
}

export function describeRange(range: TimeRange): string {
  const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');
  if (range.sinceMs !== undefined && range.untilMs !== undefined) {
    return `hours overlapping ${iso(range.sinceMs)} to ${iso(range.untilMs)}`;
  }
  if (range.sinceMs !== undefined) return `hours from ${iso(range.sinceMs)} on`;
  return `hours before ${iso(range.untilMs ?? 0)}`;
}
