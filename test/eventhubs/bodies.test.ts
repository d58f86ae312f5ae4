import fc from 'fast-check';
import { bodiesFromText } from '../../src/eventhubs/bodies';
import { decodeMessage } from '../../src/decode/decode';

const options = { recordsPerEvent: 3, maxBodyBytes: 10_000 };

function parsedBodies(result: ReturnType<typeof bodiesFromText>): unknown[] {
  return result.bodies.map((b) => JSON.parse(b.bytes.toString('utf8')) as unknown);
}

describe('bodiesFromText', () => {
  it('sends a whole-file body unchanged, whatever its size in records', () => {
    const text = `{ "records": [ {"a":1}, {"a":2}, {"a":3}, {"a":4}, {"a":5} ] }\n`;
    const result = bodiesFromText('f.json', text, options);
    expect(result.problems).toEqual([]);
    expect(result.bodies).toHaveLength(1);
    expect(result.bodies[0]?.bytes.toString('utf8')).toBe(text.trim());
    expect(result.bodies[0]?.records).toBe(5);
  });

  it('groups JSON Lines records into bodies of at most N records, in order', () => {
    const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ n: i })).join('\n');
    const result = bodiesFromText('PT1H.json', `${lines}\n`, options);
    expect(result.problems).toEqual([]);
    expect(parsedBodies(result)).toEqual([
      { records: [{ n: 0 }, { n: 1 }, { n: 2 }] },
      { records: [{ n: 3 }, { n: 4 }, { n: 5 }] },
      { records: [{ n: 6 }] },
    ]);
    expect(result.bodies.map((b) => b.origin)).toEqual([
      'PT1H.json:1 (+2)',
      'PT1H.json:4 (+2)',
      'PT1H.json:7',
    ]);
  });

  it('keeps bodies whole in arrays and JSON Lines, flushing pending records before them', () => {
    const array = JSON.stringify([{ n: 1 }, { records: [{ b: 1 }, { b: 2 }, { b: 3 }, { b: 4 }] }, { n: 2 }]);
    expect(parsedBodies(bodiesFromText('a.json', array, options))).toEqual([
      { records: [{ n: 1 }] },
      { records: [{ b: 1 }, { b: 2 }, { b: 3 }, { b: 4 }] },
      { records: [{ n: 2 }] },
    ]);
    const jsonl = [
      JSON.stringify({ n: 1 }),
      JSON.stringify({ records: [{ b: 1 }] }),
      JSON.stringify({ n: 2 }),
    ].join('\r\n');
    expect(parsedBodies(bodiesFromText('b.jsonl', jsonl, options))).toEqual([
      { records: [{ n: 1 }] },
      { records: [{ b: 1 }] },
      { records: [{ n: 2 }] },
    ]);
  });

  it('starts a new body before the byte budget is exceeded', () => {
    const record = { pad: 'x'.repeat(100) };
    const lines = Array.from({ length: 5 }, () => JSON.stringify(record)).join('\n');
    const result = bodiesFromText('big.jsonl', lines, { recordsPerEvent: 100, maxBodyBytes: 300 });
    expect(result.problems).toEqual([]);
    expect(result.bodies.map((b) => b.records)).toEqual([2, 2, 1]);
    for (const body of result.bodies) expect(body.bytes.length).toBeLessThanOrEqual(300);
  });

  it('reports a record that cannot fit any body, and bad lines, with their place', () => {
    const lines = [
      JSON.stringify({ pad: 'x'.repeat(500) }),
      '{not json',
      JSON.stringify({ ok: true }),
      '42',
    ].join('\n');
    const result = bodiesFromText('p.jsonl', lines, { recordsPerEvent: 10, maxBodyBytes: 300 });
    expect(parsedBodies(result)).toEqual([{ records: [{ ok: true }] }]);
    expect(result.problems.map((p) => [p.origin, p.code])).toEqual([
      ['p.jsonl:1', 'MESSAGE_TOO_LARGE'],
      ['p.jsonl:4', 'BODY_UNRECOGNIZED'],
      ['p.jsonl:2', 'MESSAGE_NOT_JSON'],
    ]);
  });

  it('reports an empty file, a file that is not JSON at all, and a body whose records is not an array', () => {
    expect(bodiesFromText('e.json', '  \n', options).problems[0]?.code).toBe('MESSAGE_NOT_JSON');
    const notJson = bodiesFromText('x.json', '{"records": [', options);
    expect(notJson.bodies).toEqual([]);
    expect(notJson.problems).toHaveLength(1);
    expect(notJson.problems[0]).toMatchObject({ origin: 'x.json', code: 'MESSAGE_NOT_JSON' });
    expect(bodiesFromText('r.json', '{"records": {"a": 1}}', options).problems[0]?.code).toBe(
      'BODY_RECORDS_NOT_ARRAY',
    );
    expect(bodiesFromText('n.json', '[1, {"a": 1}]', options).problems[0]).toMatchObject({
      origin: 'n.json#0',
      code: 'RECORD_NOT_OBJECT',
    });
  });

  it('strips a byte order mark', () => {
    const result = bodiesFromText('bom.json', '\ufeff{"records":[{"a":1}]}', options);
    expect(result.problems).toEqual([]);
    expect(result.bodies[0]?.bytes.toString('utf8')).toBe('{"records":[{"a":1}]}');
  });

  it('carries exactly the records the detector decodes from the same file (property)', () => {
    const record = fc.dictionary(
      fc.string({ maxLength: 6 }),
      fc.oneof(fc.string({ maxLength: 10 }), fc.integer()),
      {
        maxKeys: 4,
      },
    );
    const shape = fc.oneof(
      fc.array(record, { maxLength: 12 }).map((rs) => rs.map((r) => JSON.stringify(r)).join('\n')),
      fc.array(record, { maxLength: 12 }).map((rs) => JSON.stringify(rs)),
      fc.array(record, { maxLength: 12 }).map((rs) => JSON.stringify({ records: rs })),
    );
    fc.assert(
      fc.property(shape, fc.integer({ min: 1, max: 5 }), (text, perEvent) => {
        // Records with a "records" key are bodies by definition; keep the property about plain records.
        fc.pre(!/"records"\s*:/.test(text.replace(/^\{"records":/, '')));
        const result = bodiesFromText('p.json', text, { recordsPerEvent: perEvent, maxBodyBytes: 1_000_000 });
        fc.pre(result.problems.length === 0);
        const sent = result.bodies.flatMap((b) => decodeMessage(b.bytes).records);
        expect(sent).toEqual(decodeMessage(text).records);
      }),
      { numRuns: 200 },
    );
  });

  it('marks every record, in whole bodies and grouped ones, when asked to (the smoke test)', () => {
    const mark = { field: 'packetCaptureDetectorSmokeTest', value: 'smoke-1' };
    const whole = JSON.stringify({ records: [{ a: 1 }, { a: 2 }], extra: true });
    const lines = [{ b: 1 }, { b: 2 }, { b: 3 }, { b: 4 }].map((r) => JSON.stringify(r)).join('\n');
    const marked = [
      ...parsedBodies(bodiesFromText('whole.json', whole, { ...options, mark })),
      ...parsedBodies(bodiesFromText('PT1H.json', lines, { ...options, mark })),
    ] as { records: Record<string, unknown>[]; extra?: boolean }[];
    expect(marked).toHaveLength(3);
    expect(marked[0]?.extra).toBe(true);
    const records = marked.flatMap((b) => b.records);
    expect(records).toHaveLength(6);
    for (const r of records) expect(r.packetCaptureDetectorSmokeTest).toBe('smoke-1');
    // Unmarked, a whole body still goes byte for byte.
    expect(bodiesFromText('whole.json', whole, options).bodies[0]?.bytes.toString()).toBe(whole);
  });
});
