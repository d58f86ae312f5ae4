import fc from 'fast-check';
import {
  DEFAULT_FRAMER_LIMITS,
  Framer,
  type FrameEvent,
  type FramerLimits,
} from '../../../src/cli/scan/framing';
import { decodeMessage } from '../../../src/decode/decode';

/** Feeds `text` in chunks of `size` bytes (or at the given cut points) and returns every event. */
function frame(text: string | Buffer, size: number, limits: Partial<FramerLimits> = {}): FrameEvent[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const framer = new Framer({ ...DEFAULT_FRAMER_LIMITS, ...limits });
  const events: FrameEvent[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    framer.push(bytes.subarray(i, i + size));
    events.push(...framer.take());
  }
  framer.end();
  events.push(...framer.take());
  return events;
}

/** The records the decoder finds in the framed messages, in order. */
function recordsOf(events: readonly FrameEvent[]): unknown[] {
  return events.flatMap((e) => (e.kind === 'message' ? decodeMessage(e.message.bytes).records : []));
}

const problemsOf = (events: readonly FrameEvent[]) =>
  events.flatMap((e) => (e.kind === 'problem' ? [e.problem] : []));

const records = [
  { time: '2025-12-22T11:00:00Z', operationName: 'A/B/WRITE', properties: { s: 'a "quoted" {brace} [x]' } },
  { time: '2025-12-22T11:01:00Z', operationName: 'C\\D', note: 'back\\\\slash\\"', n: [1, 2, { x: null }] },
  { time: '2025-12-22T11:02:00Z', operationName: 'E', unicode: 'José Ålvarez ß ı 日本' },
];

describe('the scan framer', () => {
  const small: Partial<FramerLimits> = { segmentBytes: 64 };

  it.each([1, 2, 3, 7, 64, 1 << 20])(
    'cuts JSON Lines into segments of whole lines (chunks of %i bytes)',
    (size) => {
      const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
      const events = frame(text, size, small);
      expect(recordsOf(events)).toEqual(records);
      const messages = events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
      expect(messages.every((m) => m.kind === 'lines')).toBe(true);
      // Every segment ends at a line end and knows the lines it holds.
      let next = 1;
      for (const m of messages) {
        expect(m.line).toBe(next);
        next = (m.lastLine ?? m.line) + 1;
      }
      expect(problemsOf(events)).toEqual([]);
    },
  );

  it.each([1, 5, 4096])(
    'streams the records of a pretty-printed envelope one by one (chunks of %i)',
    (size) => {
      const text = `\ufeff${JSON.stringify({ records }, null, 2)}\n`;
      const events = frame(text, size);
      const messages = events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
      expect(messages.map((m) => m.kind)).toEqual(['element', 'element', 'element']);
      expect(messages.map((m) => m.element)).toEqual([0, 1, 2]);
      expect(messages.map((m) => JSON.parse(m.bytes.toString('utf8')) as unknown)).toEqual(records);
      expect(messages[0]?.line).toBe(3);
      expect(problemsOf(events)).toEqual([]);
    },
  );

  it('streams a top-level array, keeps other documents whole, and reads several documents in a row', () => {
    const text = `[\n ${JSON.stringify(records[0])},\n ${JSON.stringify({ records: [records[1]] })}\n]\n${JSON.stringify(records[2], null, 1)}\n`;
    const events = frame(text, 3);
    expect(recordsOf(events)).toEqual(records);
    const kinds = events.flatMap((e) => (e.kind === 'message' ? [e.message.kind] : []));
    expect(kinds).toEqual(['element', 'element', 'document']);
  });

  it('walks one huge line as a document: an envelope on one line is read record by record', () => {
    const line = JSON.stringify({ records: [...records, ...records] });
    const events = frame(`${line}\n`, 16, { maxLineBytes: 100 });
    expect(recordsOf(events)).toEqual([...records, ...records]);
    expect(events.every((e) => e.kind === 'message' && e.message.kind === 'element')).toBe(true);
  });

  it('walks an over-long line inside JSON Lines to its newline and goes on with the next lines', () => {
    const long = JSON.stringify({ records: [records[0], records[1]] });
    const text = [JSON.stringify(records[2]), long, JSON.stringify(records[2])].join('\n') + '\n';
    const events = frame(text, 10, { maxLineBytes: 120, segmentBytes: 32 });
    expect(recordsOf(events)).toEqual([records[2], records[0], records[1], records[2]]);
    const lastLines = events.flatMap((e) =>
      e.kind === 'message' && e.message.kind === 'lines' ? [e.message.line] : [],
    );
    expect(lastLines).toEqual([1, 3]);
  });

  it('reports a cut-off over-long line and still reads the lines after it', () => {
    const broken = `{"records":[${JSON.stringify(records[0])},{"time":"x"`;
    const text = [broken, JSON.stringify(records[2])].join('\n') + '\n';
    const events = frame(text, 8, { maxLineBytes: 60 });
    expect(recordsOf(events)).toEqual([records[0], records[2]]);
    expect(problemsOf(events)).toEqual([
      expect.objectContaining({
        code: 'MESSAGE_NOT_JSON',
        line: 1,
        reason: expect.stringMatching(/line ended inside it/) as unknown,
      }),
    ]);
  });

  it('treats JSON Lines whose first line is damaged as JSON Lines, not as one broken document', () => {
    const lines = [
      '{"time": "2025-12-22T10:30:00Z", "operationName": ',
      ...records.map((r) => JSON.stringify(r)),
    ];
    for (let i = 0; i < 8; i++) lines.push(JSON.stringify(records[i % 3]));
    const events = frame(lines.join('\n') + '\n', 50, small);
    expect(events.every((e) => e.kind === 'message' && e.message.kind === 'lines')).toBe(true);
    const decoded = events.flatMap((e) => (e.kind === 'message' ? [decodeMessage(e.message.bytes)] : []));
    expect(decoded.flatMap((d) => d.records)).toHaveLength(11);
    expect(decoded.flatMap((d) => d.problems)).toHaveLength(1);
  });

  it('refuses a record or a document over its bound with a clear problem, and reads on', () => {
    const big = { ...records[0], padding: 'x'.repeat(500) };
    const envelope = JSON.stringify({ records: [records[0], big, records[1]] }, null, 1);
    const events = frame(envelope, 7, { maxElementBytes: 300 });
    expect(recordsOf(events)).toEqual([records[0], records[1]]);
    expect(problemsOf(events)).toEqual([
      expect.objectContaining({
        code: 'MESSAGE_TOO_LARGE',
        reason: expect.stringMatching(/^Record 2 .* larger than/) as unknown,
      }),
    ]);
    const elements = events.flatMap((e) => (e.kind === 'message' ? [e.message.element] : []));
    expect(elements).toEqual([0, 2]);

    const single = JSON.stringify({ ...records[0], padding: 'y'.repeat(2000) }, null, 1);
    const refused = frame(`${single}\n${JSON.stringify(records[1], null, 1)}\n`, 64, {
      maxDocumentBytes: 1000,
    });
    expect(problemsOf(refused)).toEqual([
      expect.objectContaining({
        code: 'MESSAGE_TOO_LARGE',
        reason: expect.stringMatching(
          /neither a \{"records":\[\.\.\.\]\} envelope nor an array.*JSON Lines/,
        ) as unknown,
      }),
    ]);
    expect(recordsOf(refused)).toEqual([records[1]]);
  });

  it('reports a document cut off at the end of the input', () => {
    const text = JSON.stringify({ records }, null, 2);
    const events = frame(text.slice(0, text.length - 40), 13);
    expect(recordsOf(events)).toEqual(records.slice(0, 2));
    expect(problemsOf(events)).toEqual([expect.objectContaining({ code: 'MESSAGE_NOT_JSON' })]);
  });

  it('holds no more than a segment and a line at a time over a large JSON Lines input', () => {
    const line = JSON.stringify(records[0]);
    const framer = new Framer({ ...DEFAULT_FRAMER_LIMITS, segmentBytes: 4096 });
    const chunk = Buffer.from(`${line}\n`.repeat(50));
    let largest = 0;
    let total = 0;
    for (let i = 0; i < 2000; i++) {
      framer.push(chunk);
      for (const e of framer.take()) {
        if (e.kind !== 'message') continue;
        largest = Math.max(largest, e.message.bytes.length);
        total += countLines(e.message.bytes);
      }
    }
    framer.end();
    for (const e of framer.take()) if (e.kind === 'message') total += countLines(e.message.bytes);
    expect(total).toBe(100_000);
    expect(largest).toBeLessThan(4096 + chunk.length);
  });

  it('finds the same records as decoding the whole input, however the input is chunked (property)', () => {
    const record = fc.record({
      time: fc.constant('2025-12-22T11:00:00Z'),
      operationName: fc.string({ maxLength: 30 }),
      text: fc.string({ unit: 'binary', maxLength: 40 }),
      nested: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)), {
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 12 }),
        fc.constantFrom('jsonl', 'envelope', 'pretty', 'array', 'oneLineEnvelope'),
        fc.integer({ min: 1, max: 97 }),
        (recs, shape, size) => {
          const text =
            shape === 'jsonl'
              ? recs.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n'
              : shape === 'envelope'
                ? JSON.stringify({ records: recs }, null, 2)
                : shape === 'pretty'
                  ? JSON.stringify({ other: { records: 1 }, records: recs }, null, '\t')
                  : shape === 'array'
                    ? JSON.stringify(recs, null, 1)
                    : JSON.stringify({ records: recs });
          const events = frame(text, size, {
            segmentBytes: 100,
            maxLineBytes: shape === 'oneLineEnvelope' ? 50 : 1 << 20,
          });
          expect(problemsOf(events)).toEqual([]);
          expect(recordsOf(events)).toEqual(decodeMessage(Buffer.from(text)).records);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function countLines(buf: Buffer): number {
  let n = 0;
  for (let p = buf.indexOf(0x0a); p !== -1; p = buf.indexOf(0x0a, p + 1)) n++;
  return n;
}
