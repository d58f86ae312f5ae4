import { parseCsv } from '../../src/triage/csv';

const records = (text: string) => {
  const r = parseCsv(text);
  if (!r.ok) throw new Error(`line ${r.problem.line}: ${r.problem.message}`);
  return r.records.map((x) => [x.line, ...x.fields]);
};

describe('parseCsv (RFC 4180)', () => {
  it('reads fields and keeps the line each record starts on; blank lines are skipped', () => {
    expect(records('a,b,c\n\n1,,3\r\n  \n4,5,6')).toEqual([
      [1, 'a', 'b', 'c'],
      [3, '1', '', '3'],
      [5, '4', '5', '6'],
    ]);
  });

  it('ignores a byte-order mark and a final line break', () => {
    expect(records('\uFEFFa,b\n1,2\n')).toEqual([
      [1, 'a', 'b'],
      [2, '1', '2'],
    ]);
  });

  it('reads quoted fields: commas, doubled quotes and line breaks inside them', () => {
    expect(records('a,b\n"x, y","say ""hi"""\n"multi\nline",z\nlast,1')).toEqual([
      [1, 'a', 'b'],
      [2, 'x, y', 'say "hi"'],
      [3, 'multi\nline', 'z'],
      [5, 'last', '1'],
    ]);
  });

  it.each([
    ['a,b\n1,x"y', 2, 'a double quote inside an unquoted field'],
    ['a,b\n1,"x"y', 2, 'text after the closing quote of a field'],
    ['a,b\n1,2\n"open,3\n4,5', 3, 'a quoted field is never closed'],
  ])('refuses %j, naming line %d', (text, line, message) => {
    expect(parseCsv(text)).toEqual({ ok: false, problem: { line, message } });
  });
});
