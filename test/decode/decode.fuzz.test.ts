import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { decodeMessage, MAX_PROBLEMS_KEPT, MAX_REASON_LENGTH } from '../../src/decode/decode';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { buildProblems } from '../support/build';

/**
 * Property-based fuzzing of the decoder and the batch pipeline around it: whatever arrives on the hub,
 * decoding never throws (a throw would fail the invocation, and with the retry policy block the partition),
 * never loses a valid record that shares a message with garbage, and never amplifies its input.
 */
const FULL = process.env.FAULTS_FULL === '1';
const RUNS = FULL ? 2_000 : 200;

const sample = JSON.parse(
  readFileSync(path.join(__dirname, '../../samples/capture-operations.eventhub.json'), 'utf8'),
) as {
  records: Record<string, unknown>[];
};
const validRecords = sample.records;
const captureSuccesses = validRecords.filter((r) => r.resultType === 'Success');

const KNOWN_CODES = new Set([
  'MESSAGE_NOT_JSON',
  'MESSAGE_UNSUPPORTED_TYPE',
  'MESSAGE_TOO_LARGE',
  'BODY_RECORDS_NOT_ARRAY',
  'BODY_UNRECOGNIZED',
  'RECORD_NOT_OBJECT',
  'RECORD_INVALID',
  'MESSAGE_PROCESSING_FAILED',
]);

/** A valid record made distinct (so each has its own alert) by its correlation id. */
const validRecord = fc
  .tuple(fc.constantFrom(...captureSuccesses), fc.uuid())
  .map(([r, id]) => ({ ...r, correlationId: id }));

/** Text that is not a JSON document of its own (a line of garbage in JSON Lines). */
const junkLine = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }).map((s) => `{${s.replace(/\n/g, ' ')}`),
  fc.constantFrom('{"records":[', '}', '{"time":', 'nul', '\u0000\u0001', '{"a":1}{"b":2}'),
);

const deepNesting = fc
  .tuple(fc.integer({ min: 1, max: 50_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([depth, open, wrap]) => {
    const close = open === '[' ? ']' : '}';
    const core = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
    return wrap ? `{"records":[${core}]}` : core;
  });

const anyMessage = fc.oneof(
  fc.anything(),
  fc.uint8Array({ maxLength: 2_000 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 2_000 }),
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 6 }),
  deepNesting,
  deepNesting.map((s) => Buffer.from(s)),
);

/** A real export body, then cut, spliced or with bytes flipped. */
const mutatedBody = fc
  .tuple(
    fc.array(validRecord, { minLength: 1, maxLength: 4 }),
    fc.boolean(),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('flip', 'cut', 'insert', 'delete'),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  )
  .map(([records, pretty, edits]) => {
    let bytes = Buffer.from(JSON.stringify({ records }, null, pretty ? 2 : undefined));
    for (const [at, value, op] of edits) {
      const i = at % Math.max(1, bytes.length);
      if (op === 'flip') bytes[i] = value;
      else if (op === 'cut') bytes = bytes.subarray(0, i);
      else if (op === 'insert')
        bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([value]), bytes.subarray(i)]);
      else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
    }
    return bytes;
  });

function inputBytes(message: unknown): number {
  if (Buffer.isBuffer(message)) return message.length;
  if (typeof message === 'string') return Buffer.byteLength(message);
  try {
    // JSON.stringify gives undefined for undefined, functions and symbols despite its declared type.
    const text = JSON.stringify(message) as string | undefined;
    return text === undefined ? 0 : Buffer.byteLength(text);
  } catch {
    return 0;
  }
}

describe('decoder fuzzing', () => {
  it('never throws, and every problem is coded and explained; the first ones described, all counted', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        const out = decodeMessage(message);
        for (const p of out.problems) {
          expect(KNOWN_CODES.has(p.code)).toBe(true);
          expect(p.reason.length).toBeGreaterThan(0);
          expect(p.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
        }
        expect(out.problems.length).toBeLessThanOrEqual(MAX_PROBLEMS_KEPT);
        expect(out.problemCount).toBeGreaterThanOrEqual(out.problems.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('the whole batch path never throws either (a throw would block the partition)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(anyMessage, mutatedBody), { maxLength: 5 }), (messages) => {
        const result = detectBatch(messages, (i) => ({ partitionId: '0', sequenceNumber: i }));
        expect(result.counts.messages).toBe(messages.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated export bodies: never throw, and a body that yields no record is kept whole, once', () => {
    fc.assert(
      fc.property(mutatedBody, (body) => {
        const out = decodeMessage(body);
        if (out.records.length === 0 && body.toString('utf8').trim() !== '') {
          expect(out.problems.length).toBeGreaterThan(0);
        }
        const kept = detectBatch([body], () => ({}), { prefilter: false }).malformed;
        expect(kept.length).toBeLessThanOrEqual(1);
        // The message itself, not a copy.
        if (kept[0]) expect(kept[0].raw).toBe(body);
      }),
      { numRuns: RUNS },
    );
  });

  it('JSON Lines: garbage lines never cost a valid record of the same message', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            validRecord.map((r) => ({ valid: r })),
            junkLine.map((j) => ({ junk: j })),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        fc.boolean(),
        (items, crlf) => {
          const valid = items.flatMap((i) => ('valid' in i ? [i.valid] : []));
          fc.pre(valid.length > 0);
          const text = items
            .map((i) => ('valid' in i ? JSON.stringify(i.valid) : i.junk))
            .join(crlf ? '\r\n' : '\n');
          const out = decodeMessage(Buffer.from(text));
          for (const record of valid) expect(out.records).toContainEqual(record);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a body whose records array mixes junk with valid capture records still alerts on every valid one', () => {
    fc.assert(
      fc.property(
        fc.array(validRecord, { minLength: 1, maxLength: 5 }),
        fc.array(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(null), fc.string()), { maxLength: 5 }),
        fc.nat(),
        (valid, junk, seed) => {
          const clean = detectBatch([JSON.stringify({ records: valid })], () => ({}), { now: new Date(0) });
          const mixed = [...valid, ...junk].sort(() => (seed % 3) - 1);
          const dirty = detectBatch([Buffer.from(JSON.stringify({ records: mixed }))], () => ({}), {
            now: new Date(0),
          });
          const dirtyIds = new Set(dirty.alerts.map((a) => a.AlertId));
          expect(clean.alerts.length).toBe(valid.length);
          for (const a of clean.alerts) expect(dirtyIds.has(a.AlertId)).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('bounded output: a message is kept at most once, as itself, with a bounded description', () => {
    fc.assert(
      fc.property(fc.oneof(anyMessage, mutatedBody), (message) => {
        const out = decodeMessage(message);
        expect(out.records.length).toBeLessThanOrEqual(inputBytes(message) + 1);
        const kept = detectBatch([message], () => ({}), { prefilter: false }).malformed;
        expect(kept.length).toBeLessThanOrEqual(1);
        for (const m of kept) {
          if (Buffer.isBuffer(message) || typeof message === 'string') expect(m.raw).toBe(message);
          expect(m.problems.length).toBeLessThanOrEqual(MAX_PROBLEMS_KEPT);
          const described = m.problems.reduce((n, p) => n + p.reason.length, 0);
          expect(described).toBeLessThanOrEqual(MAX_PROBLEMS_KEPT * MAX_REASON_LENGTH);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('bounded memory: a 16 MB body of mixed valid and broken lines decodes within a 160 MB heap', () => {
    const compiled = path.join(__dirname, '../../dist/src/decode/decode.js');
    expect(buildProblems(['src/decode'])).toEqual([]);
    const script = `
      const { decodeMessage } = require(${JSON.stringify(compiled)});
      const rec = ${JSON.stringify(JSON.stringify(captureSuccesses[0]))};
      const lines = []; let size = 0; let i = 0;
      while (size < 16e6) { const l = i % 3 === 0 ? '{"broken": ' + 'x'.repeat(200) : rec; lines.push(l); size += l.length + 1; i++; }
      const body = Buffer.from(lines.join('\\n'));
      lines.length = 0;
      global.gc();
      const before = process.memoryUsage().heapUsed;
      const out = decodeMessage(body);
      const grew = process.memoryUsage().heapUsed - before;
      process.stdout.write(JSON.stringify({ bytes: body.length, lines: i, records: out.records.length, problems: out.problemCount, grew }));
    `;
    const run = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=160', '-e', script], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const r = JSON.parse(run.stdout) as {
      bytes: number;
      lines: number;
      records: number;
      problems: number;
      grew: number;
    };
    // Every line is accounted for: a record or a problem.
    expect(r.records + r.problems).toBe(r.lines);
    expect(r.grew).toBeLessThan(4 * r.bytes);
  });
});
