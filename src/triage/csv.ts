/*
 * A strict CSV reader (RFC 4180): comma-separated fields, optionally in double quotes, a doubled quote inside
 * quotes for a quote, CRLF or LF line ends, quoted fields may span lines. Each record keeps the line it starts
 * on, so an error can name it. Anything RFC 4180 does not allow (a quote inside an unquoted field, text after a
 * closing quote, a quote never closed) is an error rather than a guess: the file tunes a security detector.
 */

export interface CsvRecord {
  /** 1-based line number where the record starts. */
  readonly line: number;
  readonly fields: readonly string[];
}

export interface CsvProblem {
  readonly line: number;
  readonly message: string;
}

export type CsvResult =
  | { readonly ok: true; readonly records: readonly CsvRecord[] }
  | { readonly ok: false; readonly problem: CsvProblem };

/** Records of `text`; blank lines (outside quotes) are skipped, a leading byte-order mark ignored. */
export function parseCsv(text: string): CsvResult {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let blank = true;
    for (;;) {
      const c = src[i];
      if (c === '"') {
        if (field !== '') {
          return { ok: false, problem: { line, message: 'a double quote inside an unquoted field' } };
        }
        blank = false;
        const quotedFrom = line;
        i++;
        for (;;) {
          if (i >= src.length) {
            return {
              ok: false,
              problem: { line: quotedFrom, message: 'a quoted field is never closed' },
            };
          }
          const q = src[i];
          if (q === '"') {
            if (src[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (q === '\n') line++;
          field += q ?? '';
          i++;
        }
        const next = src[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          return { ok: false, problem: { line, message: 'text after the closing quote of a field' } };
        }
        continue;
      }
      if (c === ',') {
        blank = false;
        fields.push(field);
        field = '';
        i++;
        continue;
      }
      if (c === '\r' && src[i + 1] === '\n') i++;
      if (c === undefined || c === '\n' || c === '\r') {
        fields.push(field);
        i++;
        line++;
        break;
      }
      if (c.trim() !== '') blank = false;
      field += c;
      i++;
    }
    if (!blank) records.push({ line: start, fields });
  }
  return { ok: true, records };
}
