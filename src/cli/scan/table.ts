/*
 * `scan --format table`: the alerts as a table that fits the terminal. It shows what a person triaging
 * needs first (when, what kind, which operation, on what, by whom, from where) and gives up the less
 * important columns, then width, as the terminal narrows; below about 60 columns each alert becomes a
 * short block of `name: value` lines instead. Widths are counted in terminal cells (wide CJK characters
 * take two, combining marks none), and control characters from the records are shown as `?`, so a
 * hostile caller name cannot move the cursor or recolour the terminal.
 */
import type { AlertRow } from '../../alert/columns';
import { plural } from '../../lib/text';

interface Column {
  readonly header: string;
  readonly value: (a: AlertRow) => string;
  /** Narrowest useful width, and the width it is given before optional columns are dropped. */
  readonly min: number;
  readonly comfortable: number;
  readonly max: number;
  /** Dropped in this order (1 first) when the table does not fit; undefined: always shown. */
  readonly dropOrder?: number;
}

const lastSegment = (id: string): string => id.replace(/\/+$/, '').split('/').pop() ?? id;

/**
 * The operation's last two segments, `PACKETCAPTURES/WRITE`, `STARTPACKETCAPTURE/ACTION`: with the Kind
 * column beside it, that is what tells the operations apart (the full name is in --format jsonl).
 */
function shortOperation(operation: string): string {
  const segments = operation.split('/').filter((x) => x !== '');
  return segments.length > 2 ? segments.slice(-2).join('/') : operation;
}

const COLUMNS: readonly Column[] = [
  {
    header: 'Time (UTC)',
    value: (a) => a.EventTime.replace('T', ' ').replace(/(\.\d+)?Z$/, ''),
    min: 19,
    comfortable: 19,
    max: 19,
  },
  { header: 'Kind', value: (a) => a.CaptureKind, min: 8, comfortable: 19, max: 21 },
  { header: 'Operation', value: (a) => shortOperation(a.OperationName), min: 10, comfortable: 18, max: 40 },
  {
    header: 'Target',
    value: (a) => (a.CaptureTarget !== '' ? lastSegment(a.CaptureTarget) : a.ResourceName),
    min: 8,
    comfortable: 18,
    max: 40,
  },
  { header: 'Caller', value: (a) => a.Caller, min: 8, comfortable: 20, max: 40 },
  { header: 'Caller IP', value: (a) => a.CallerIpAddress, min: 7, comfortable: 15, max: 39, dropOrder: 4 },
  { header: 'Severity', value: (a) => a.Severity, min: 6, comfortable: 8, max: 13, dropOrder: 2 },
  { header: 'Location', value: (a) => a.Location, min: 6, comfortable: 14, max: 20, dropOrder: 1 },
  { header: 'AlertId', value: (a) => a.AlertId.slice(0, 12), min: 8, comfortable: 12, max: 12, dropOrder: 3 },
];

const GAP = 2;
/** Below this, the block layout is used. */
const MIN_TABLE_WIDTH = 60;

/** Record text made safe and single-line for a terminal. */
export function cellText(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
  // C0 and C1 controls (ESC, BEL, backspace, ...) and the bidi controls that reorder what is shown.
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '?')
    .trim();
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function isZeroWidth(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfe20 && cp <= 0xfe2f) ||
    cp === 0x200b ||
    cp === 0x200c ||
    cp === 0x200d ||
    cp === 0xfeff
  );
}

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  return isZeroWidth(cp) ? 0 : isWide(cp) ? 2 : 1;
}

/** Terminal cells `text` takes. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch);
  return w;
}

/** `text` cut to at most `width` cells, ending in `…` when cut, padded with spaces to `width` if `pad`. */
export function fitCells(text: string, width: number, pad: boolean): string {
  const full = displayWidth(text);
  if (full <= width) return pad ? text + ' '.repeat(width - full) : text;
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  out += '…';
  w += 1;
  return pad ? out + ' '.repeat(Math.max(0, width - w)) : out;
}

/** The chosen columns and their widths for `width` terminal cells, or undefined for the block layout. */
function layout(
  cells: readonly string[][],
  width: number,
): { columns: number[]; widths: number[] } | undefined {
  if (width < MIN_TABLE_WIDTH) return undefined;
  const natural = COLUMNS.map((c, i) =>
    Math.min(
      c.max,
      cells.reduce((w, row) => Math.max(w, displayWidth(row[i] ?? '')), displayWidth(c.header)),
    ),
  );
  let shown = COLUMNS.map((_, i) => i);
  const widths = [...natural];
  const total = () => shown.reduce((s, i) => s + (widths[i] ?? 0), 0) + GAP * (shown.length - 1);
  const shrinkTo = (limit: (c: Column) => number) => {
    while (total() > width) {
      let widest = -1;
      let room = 0;
      for (const i of shown) {
        const c = COLUMNS[i];
        if (c === undefined) continue;
        const spare = (widths[i] ?? 0) - Math.max(limit(c), Math.min(displayWidth(c.header), c.comfortable));
        if (spare > room) {
          room = spare;
          widest = i;
        }
      }
      if (widest === -1) return;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  };
  shrinkTo((c) => c.comfortable);
  const droppable = COLUMNS.map((c, i) => ({ i, order: c.dropOrder }))
    .filter((d): d is { i: number; order: number } => d.order !== undefined)
    .sort((a, b) => a.order - b.order);
  for (const d of droppable) {
    if (total() <= width) break;
    shown = shown.filter((i) => i !== d.i);
  }
  shrinkTo((c) => c.min);
  if (total() > width) return undefined;
  return { columns: shown, widths: shown.map((i) => widths[i] ?? 0) };
}

/** The table (or blocks) as lines, each at most `width` cells; alerts sorted by time. */
export function renderAlerts(alerts: readonly AlertRow[], width: number): string[] {
  if (alerts.length === 0) return ['No alerts.'];
  const sorted = [...alerts].sort((a, b) =>
    a.EventTime < b.EventTime ? -1 : a.EventTime > b.EventTime ? 1 : 0,
  );
  const cells = sorted.map((a) => COLUMNS.map((c) => cellText(c.value(a))));
  const hint = `${plural(alerts.length, 'alert')} (--format jsonl for every column)`;
  const footer = displayWidth(hint) <= width ? hint : plural(alerts.length, 'alert');
  const chosen = layout(cells, width);
  if (!chosen) {
    const lines: string[] = [];
    for (const row of cells) {
      COLUMNS.forEach((c, i) => {
        const value = row[i] ?? '';
        if (value !== '') lines.push(fitCells(`${c.header}: ${value}`, width, false));
      });
      lines.push('');
    }
    lines.push(footer);
    return lines;
  }
  const line = (values: readonly string[]) =>
    chosen.columns
      .map((col, k) => fitCells(values[col] ?? '', chosen.widths[k] ?? 0, k < chosen.columns.length - 1))
      .join(' '.repeat(GAP))
      .trimEnd();
  const header = COLUMNS.map((c) => c.header);
  const rule = COLUMNS.map((_, i) => '-'.repeat(chosen.widths[chosen.columns.indexOf(i)] ?? 0));
  return [line(header), line(rule), ...cells.map(line), '', footer];
}
