import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ceilingFor, countRecords, type BodyCount } from '../../src/health/count';
import { prng } from '../../bench/prng';

const NOW = new Date('2026-01-12T10:00:00Z');
const ceiling = ceilingFor(NOW);
const fixtures = join(__dirname, '../fixtures/activity-log/export');
const samples = join(__dirname, '../../samples');

/** What the count must say, computed by parsing: records per subscription, times as defined. */
function reference(records: readonly Record<string, unknown>[]): BodyCount {
  const withKey = records.filter((r) => 'resourceId' in r);
  const sub = (r: Record<string, unknown>) =>
    /^\/subscriptions\/([^/"\\]+)/i
      .exec(typeof r.resourceId === 'string' ? r.resourceId : '')?.[1]
      ?.toLowerCase() ?? '';
  const time = (r: Record<string, unknown>) => {
    const t = typeof r.time === 'string' ? r.time.slice(0, 19) : '';
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(t) && t <= ceiling.text ? t : '';
  };
  const out: BodyCount = new Map();
  // Only each subscription's first and last records' times are read.
  const timed = [...new Set(withKey.map(sub))].flatMap((s) => {
    const of = withKey.filter((r) => sub(r) === s);
    return [of[0]!, of[of.length - 1]!];
  });
  for (const r of withKey) {
    const e = out.get(sub(r)) ?? { records: 0, newest: '', oldest: '' };
    e.records++;
    out.set(sub(r), e);
  }
  for (const r of timed) {
    const e = out.get(sub(r))!;
    const t = time(r);
    if (t === '') continue;
    if (e.newest === '' || t > e.newest) e.newest = t;
    if (e.oldest === '' || t < e.oldest) e.oldest = t;
  }
  return out;
}

const parsed = (text: string) => JSON.parse(text) as { records: Record<string, unknown>[] };

describe('countRecords (bytes, no parsing)', () => {
  const files = [
    ...readdirSync(fixtures).map((f) => join(fixtures, f)),
    ...readdirSync(samples)
      .filter((f) => f.endsWith('.eventhub.json'))
      .map((f) => join(samples, f)),
  ];

  it.each(files)('counts what parsing finds in %s', (file) => {
    const text = readFileSync(file, 'utf8');
    expect(countRecords(Buffer.from(text), ceiling)).toEqual(reference(parsed(text).records));
    // The same body as text and as an already-parsed object.
    expect(countRecords(text, ceiling)).toEqual(reference(parsed(text).records));
    expect(countRecords(parsed(text), ceiling)).toEqual(
      new Map([...reference(parsed(text).records)].map(([k, v]) => [k, v])),
    );
  });

  it('counts every record of a mixed body, each under its subscription, with the times of its first and last', () => {
    // First and last records name one subscription; the others do not: every record is read.
    const records = ['a', 'B', 'a', 'c', 'A'].map((s, i) => ({
      time: `2026-01-12T09:0${i}:00.1234567Z`,
      resourceId: `/SUBSCRIPTIONS/${s}/RESOURCEGROUPS/RG`,
      operationName: 'X',
    }));
    expect(countRecords(Buffer.from(JSON.stringify({ records })), ceiling)).toEqual(
      new Map([
        // a: its first (09:00) and last (09:04) records' times.
        ['a', { records: 3, newest: '2026-01-12T09:04:00', oldest: '2026-01-12T09:00:00' }],
        ['b', { records: 1, newest: '2026-01-12T09:01:00', oldest: '2026-01-12T09:01:00' }],
        ['c', { records: 1, newest: '2026-01-12T09:03:00', oldest: '2026-01-12T09:03:00' }],
      ]),
    );
  });

  it('does not count the word inside a string value, nor times from the future', () => {
    const body = JSON.stringify({
      records: [
        {
          time: '2027-01-01T00:00:00Z',
          resourceId: '/subscriptions/s1/x',
          properties: { requestbody: JSON.stringify({ resourceId: '/subscriptions/s2/y' }) },
        },
      ],
    });
    expect(countRecords(Buffer.from(body), ceiling)).toEqual(
      new Map([['s1', { records: 1, newest: '', oldest: '' }]]),
    );
  });

  it('counts REST pages (no time) and names no subscription for an AzureActivity row (_ResourceId)', () => {
    const page = readFileSync(join(__dirname, '../fixtures/activity-log/rest/list-page.json'), 'utf8');
    const count = countRecords(Buffer.from(page), ceiling);
    const records = (JSON.parse(page) as { value: Record<string, unknown>[] }).value;
    expect([...count.values()].reduce((n, c) => n + c.records, 0)).toBe(records.length);
    const rows = readFileSync(join(samples, 'azure-activity-table.json'), 'utf8');
    expect(countRecords(Buffer.from(rows), ceiling).size).toBe(0);
  });

  it('matches the parsed reference on random bodies (spacing, case, shapes, escapes elsewhere)', () => {
    const record = fc.record({
      sub: fc.constantFrom('11111111-aaaa', '22222222-BBBB', 'x', ''),
      upper: fc.boolean(),
      minute: fc.integer({ min: 0, max: 59 }),
      time: fc.constantFrom('time', 'eventTimestamp', 'none', 'future', 'garbage'),
      noise: fc.string({ maxLength: 30 }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), fc.integer(), fc.boolean(), (specs, seed, pretty) => {
        const rand = prng(seed);
        const records = specs.map((s) => {
          const rid = s.sub === '' ? '/providers/Microsoft.Foo' : `/subscriptions/${s.sub}/resourceGroups/rg`;
          const t = `2026-01-12T09:${String(s.minute).padStart(2, '0')}:00.12Z`;
          const r: Record<string, unknown> = {};
          if (s.time === 'time') r.time = t;
          if (s.time === 'future') r.time = '2031-01-01T00:00:00Z';
          if (s.time === 'garbage') r.time = 'yesterday';
          if (s.time === 'eventTimestamp') r.eventTimestamp = t;
          r.resourceId = s.upper ? rid.toUpperCase() : rid;
          r.note = s.noise;
          if (rand() < 0.3)
            r.properties = { requestbody: JSON.stringify({ resourceId: '/subscriptions/zz/x' }) };
          return r;
        });
        const text = pretty ? JSON.stringify({ records }, null, 2) : JSON.stringify({ records });
        expect(countRecords(Buffer.from(text), ceiling)).toEqual(reference(records));
      }),
      { numRuns: 300 },
    );
  });
});
