/* README tables, generated from the code's single definitions (a test keeps README equal to these). */
import { ALERT_COLUMNS, type ColumnDefinition } from '../alert/columns';
import { SETTINGS } from '../config/settings';
import { FIELD_SOURCES, SOURCE_FORMATS } from '../normalize/shapes';
import { HEALTH_COLUMNS } from '../health/columns';

function columnsTable(columns: readonly ColumnDefinition[]): string {
  const rows = columns.map((c) => `| \`${c.name}\` | ${c.type} | ${escapeCell(c.description)} |`);
  return ['| Column | Type | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export function alertColumnsTable(): string {
  return columnsTable(ALERT_COLUMNS);
}

export function healthColumnsTable(): string {
  return columnsTable(HEALTH_COLUMNS);
}

const REQUIRED_TEXT: Readonly<Record<string, string>> = {
  always: 'yes',
  function: 'function',
  delivery: 'to deliver to Log Analytics',
  no: 'no',
};

export function settingsTable(): string {
  const rows = SETTINGS.map(
    (s) =>
      `| \`${s.name}\` | ${REQUIRED_TEXT[s.required] ?? s.required} | ${s.default === undefined ? '' : `\`${s.default}\``} | ${escapeCell(s.description)} |`,
  );
  return ['| Setting | Required | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** Where each field of the event model is read from, per shape (src/normalize/shapes.ts). */
export function shapeMappingTable(): string {
  const head = ['Event field', ...SOURCE_FORMATS.map((f) => f)];
  const rows = Object.entries(FIELD_SOURCES).map(([field, sources]) => {
    const cells = SOURCE_FORMATS.map((format) => {
      const paths: readonly string[] = (sources as Readonly<Record<string, readonly string[]>>)[format] ?? [];
      return paths.length === 0 ? '—' : paths.map((p) => `\`${p}\``).join(', then ');
    });
    return `| \`${field}\` | ${cells.join(' | ')} |`;
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export const GENERATED_SECTIONS: Readonly<Record<string, () => string>> = {
  'alert-columns': alertColumnsTable,
  'health-columns': healthColumnsTable,
  settings: settingsTable,
  'shape-mapping': shapeMappingTable,
};

/** Replaces each `<!-- generated:NAME -->…<!-- /generated:NAME -->` block with the current table. */
export function renderReadme(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(GENERATED_SECTIONS)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    out = out.replace(pattern, (_m, open: string, close: string) => `${open}\n${render()}\n${close}`);
  }
  return out;
}
