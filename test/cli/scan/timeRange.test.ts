import {
  overlaps,
  parseTimeOption,
  pathTime,
  selectedByPath,
  spanOf,
  timeRangeOf,
} from '../../../src/cli/scan/timeRange';

const utc = (text: string) => Date.parse(text);

describe('--since / --until', () => {
  it.each([
    ['2025-12-22', '2025-12-22T00:00:00Z'],
    ['2025-12-22T11', '2025-12-22T11:00:00Z'],
    ['2025-12-22T11:30Z', '2025-12-22T11:30:00Z'],
    ['2025-12-22 11:30:15', '2025-12-22T11:30:15Z'],
    ['2025-12-22T11:30:00+01:00', '2025-12-22T10:30:00Z'],
    ['2025-12-22T11:30:00.5-0230', '2025-12-22T14:00:00Z'],
  ])('reads %s as %s (UTC unless an offset is given)', (text, iso) => {
    expect(parseTimeOption('--since', text)).toBe(utc(iso));
  });

  it('reads durations before now', () => {
    const now = utc('2025-12-22T12:00:00Z');
    expect(parseTimeOption('--since', '36h', now)).toBe(utc('2025-12-21T00:00:00Z'));
    expect(parseTimeOption('--since', '7d', now)).toBe(utc('2025-12-15T12:00:00Z'));
    expect(parseTimeOption('--since', '90m', now)).toBe(utc('2025-12-22T10:30:00Z'));
  });

  it.each(['yesterday', '2025-13-01', '2025-02-30', '2025-12-22T24', '12/22/2025', ''])(
    'refuses %j naming the option and the forms it takes',
    (text) => {
      expect(() => parseTimeOption('--until', text)).toThrow(
        /--until must be a date or time such as 2025-12-22/,
      );
    },
  );

  it('refuses a range that ends before it starts', () => {
    expect(() => timeRangeOf('2025-12-22', '2025-12-21')).toThrow(/--until \(2025-12-21\) must be later/);
    expect(timeRangeOf(undefined, undefined)).toBeUndefined();
  });
});

describe('selection by the archive path', () => {
  const blob = (h: string, day = '22') =>
    `resourceId=/SUBSCRIPTIONS/7F3C/y=2025/m=12/d=${day}/h=${h}/m=00/PT1H.json`;

  it('reads year, month, day and hour, and ignores the minute folder', () => {
    expect(pathTime(blob('11'))).toEqual({ year: 2025, month: 12, day: 22, hour: 11 });
    expect(pathTime('a\\y=2025\\m=01\\PT1H.json')).toEqual({ year: 2025, month: 1 });
    expect(pathTime('resourceId=/SUBSCRIPTIONS/X/y=2025/')).toEqual({ year: 2025 });
    expect(pathTime('no/time/here.json')).toBeUndefined();
    expect(spanOf({ year: 2025, month: 12 })).toEqual({
      startMs: utc('2025-12-01T00:00:00Z'),
      endMs: utc('2026-01-01T00:00:00Z'),
    });
  });

  it('keeps an hour when it overlaps [since, until)', () => {
    const range = timeRangeOf('2025-12-22T10:30Z', '2025-12-22T12:00Z');
    expect(selectedByPath(range, blob('09'))).toBe(false);
    expect(selectedByPath(range, blob('10'))).toBe(true); // 10:00-11:00 overlaps 10:30
    expect(selectedByPath(range, blob('11'))).toBe(true);
    expect(selectedByPath(range, blob('12'))).toBe(false); // until is exclusive
    expect(selectedByPath(range, blob('11', '23'))).toBe(false);
    expect(selectedByPath(range, 'other/file.json')).toBe('unknown');
    expect(selectedByPath(undefined, 'other/file.json')).toBe(true);
    expect(overlaps(range ?? {}, spanOf({ year: 2025 }))).toBe(true);
    expect(overlaps(range ?? {}, spanOf({ year: 2024 }))).toBe(false);
  });
});
