import { decodeMessage, MAX_PROBLEMS_KEPT, MAX_REASON_LENGTH } from '../../src/decode/decode';

const record = (op: string) => ({ operationName: op, resultType: 'Success', time: '2025-12-22T10:30:00Z' });
const a = record('A');
const b = record('B');

describe('decodeMessage', () => {
  it.each([
    ['a parsed body', { records: [a, b] }],
    ['a string body', JSON.stringify({ records: [a, b] })],
    ['a Buffer body', Buffer.from(JSON.stringify({ records: [a, b] }))],
    ['a Uint8Array body', new TextEncoder().encode(JSON.stringify({ records: [a, b] }))],
    ['an array of records', [a, b]],
    ['an array of bodies', [{ records: [a] }, { records: [b] }]],
    ['JSON Lines', `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`],
    ['JSON Lines with CRLF', `${JSON.stringify(a)}\r\n${JSON.stringify(b)}\r\n`],
    ['a body with a byte-order mark', `\uFEFF${JSON.stringify({ records: [a, b] })}`],
  ])('reads %s', (_name, message) => {
    const out = decodeMessage(message);
    expect(out.problems).toEqual([]);
    expect(out.records).toEqual([a, b]);
  });

  it('reads a single record', () => {
    expect(decodeMessage(JSON.stringify(a)).records).toEqual([a]);
  });

  it('keeps good JSON Lines around malformed ones, with line numbers', () => {
    const text = [JSON.stringify(a), '{"operationName": "trunc', 'not json', JSON.stringify(b)].join('\n');
    const out = decodeMessage(text);
    expect(out.records).toEqual([a, b]);
    expect(out.recordLines).toEqual([1, 4]);
    expect(out.problems.map((p) => [p.code, p.line])).toEqual([
      ['MESSAGE_NOT_JSON', 2],
      ['MESSAGE_NOT_JSON', 3],
    ]);
    expect(out.problemCount).toBe(2);
  });

  it('reports a truncated body once', () => {
    const raw = Buffer.from(JSON.stringify({ records: [a, b] }, null, 2).slice(0, 60));
    const out = decodeMessage(raw);
    expect(out.records).toEqual([]);
    expect(out.problems).toHaveLength(1);
    expect(out.problemCount).toBe(1);
    expect(out.problems[0]).toMatchObject({ code: 'MESSAGE_NOT_JSON' });
  });

  it('describes the first problems of a message and counts the rest, in line order', () => {
    const lines = [JSON.stringify(a)];
    for (let i = 0; i < 150_000; i++) lines.push(i % 2 === 0 ? '{"broken": ' : 'x');
    lines.push('42', JSON.stringify(b));
    const out = decodeMessage(Buffer.from(lines.join('\n')));
    expect(out.records).toEqual([a, b]);
    expect(out.recordLines).toEqual([1, 150_003]);
    expect(out.problemCount).toBe(150_001);
    expect(out.problems).toHaveLength(MAX_PROBLEMS_KEPT);
    expect(out.problems.map((p) => p.line)).toEqual(
      Array.from({ length: MAX_PROBLEMS_KEPT }, (_, i) => i + 2),
    );
    for (const p of out.problems) expect(p.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
  });

  it('keeps a problem past the bad lines in its place: a JSON Lines value that is not a body', () => {
    const out = decodeMessage(['{"x', '7', JSON.stringify(a)].join('\n'));
    expect(out.problems.map((p) => [p.code, p.line])).toEqual([
      ['MESSAGE_NOT_JSON', 1],
      ['BODY_UNRECOGNIZED', 2],
    ]);
  });

  it.each([
    ['an empty message', '', 'MESSAGE_NOT_JSON'],
    ['whitespace', '  \n ', 'MESSAGE_NOT_JSON'],
    ['records that is not an array', JSON.stringify({ records: { a: 1 } }), 'BODY_RECORDS_NOT_ARRAY'],
    ['records: null', JSON.stringify({ records: null }), 'BODY_RECORDS_NOT_ARRAY'],
    ['a JSON number', '42', 'BODY_UNRECOGNIZED'],
    ['a JSON string', '"hello"', 'BODY_UNRECOGNIZED'],
  ])('reports %s', (_name, message, code) => {
    const out = decodeMessage(message);
    expect(out.records).toEqual([]);
    expect(out.problems.map((p) => p.code)).toEqual([code]);
    expect(out.problemCount).toBe(1);
    expect(out.problems[0]?.reason).toMatch(/Expected/);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 7],
  ])('reports an unsupported element: %s', (_name, message) => {
    const out = decodeMessage(message);
    expect(out.problems.map((p) => p.code)).toEqual(['MESSAGE_UNSUPPORTED_TYPE']);
  });

  it('passes non-object records through for validation (they are counted, not dropped)', () => {
    const out = decodeMessage({ records: [a, null, 5, 'x', b] });
    expect(out.records).toEqual([a, null, 5, 'x', b]);
  });

  it('treats __proto__ keys as data', () => {
    const out = decodeMessage('{"records":[{"__proto__":{"polluted":true},"operationName":"X"}]}');
    expect(out.records).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.records[0])).toBe(Object.prototype);
  });

  it('does not descend into nested arrays: the inner array is one record candidate', () => {
    const out = decodeMessage([[[[a]]]]);
    expect(out.records).toEqual([[[[a]]]]);
    expect(out.problems).toEqual([]);
  });
});
