import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALERT_COLUMNS,
  ALERT_STREAM_NAME,
  ALERT_TABLE_NAME,
  type ColumnDefinition,
} from '../../src/alert/columns';
import {
  buildColumnSchema,
  COLUMN_SCHEMA_PATH,
  renderColumnSchema,
  validateColumns,
} from '../../scripts/generate-schema';
import {
  loadCompiled,
  onlyResourceOfType,
  onlyResourceOfTypeIn,
  resolved,
  ROOT,
  text,
  type Json,
} from './helpers/arm';
import { columnDrift } from './helpers/columns';
import { HEALTH_STREAM_NAME } from '../../src/health/columns';

// What the Azure APIs call each code type. Written out here (not imported from the generator) so that a
// wrong mapping in the generator fails this test.
const TABLE_TYPE = {
  string: 'string',
  datetime: 'dateTime',
  dynamic: 'dynamic',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'boolean',
};
const STREAM_TYPE = {
  string: 'string',
  datetime: 'datetime',
  dynamic: 'dynamic',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'boolean',
};
// Column types each API accepts (workspaces/tables; DCR stream declarations, i.e. the Logs Ingestion API).
const TABLE_API_TYPES = new Set(['string', 'int', 'long', 'real', 'boolean', 'dateTime', 'guid', 'dynamic']);
const STREAM_API_TYPES = new Set(['string', 'int', 'long', 'real', 'boolean', 'datetime', 'dynamic']);

const expectedTable = ALERT_COLUMNS.map((c) => ({ name: c.name, type: TABLE_TYPE[c.type] }));
const expectedStream = ALERT_COLUMNS.map((c) => ({ name: c.name, type: STREAM_TYPE[c.type] }));

function columnsOf(value: Json): { name: string; type: string }[] {
  if (!Array.isArray(value)) throw new Error('columns are not an array');
  return value.map((c) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('column is not an object');
    return { name: text(c.name), type: text(c.type) };
  });
}

describe('alert column schema', () => {
  const main = loadCompiled('main.json');

  test('the generated schema file is up to date with ALERT_COLUMNS (run `npm run columns:generate`)', () => {
    const onDisk = readFileSync(join(ROOT, COLUMN_SCHEMA_PATH), 'utf8');
    expect(onDisk).toBe(renderColumnSchema());
  });

  test('the compiled table has exactly the code columns, with table API types', () => {
    const table = onlyResourceOfTypeIn(
      main,
      'Microsoft.OperationalInsights/workspaces/tables',
      'alert-table',
    );
    const columns = columnsOf(resolved(table, ['properties', 'schema', 'columns']));
    expect(columnDrift(expectedTable, columns)).toEqual([]);
    for (const c of columns) expect(TABLE_API_TYPES).toContain(c.type);
    expect(resolved(table, ['properties', 'schema', 'name'])).toBe(ALERT_TABLE_NAME);
  });

  test('the compiled DCR stream declares exactly the code columns, with Logs Ingestion types', () => {
    const dcr = onlyResourceOfType(main, 'Microsoft.Insights/dataCollectionRules');
    const streams = resolved(dcr, ['properties', 'streamDeclarations']) as Record<string, { columns: Json }>;
    // The alert stream and the health stream (test/infra/health-columns.test.ts).
    expect(Object.keys(streams)).toEqual([ALERT_STREAM_NAME, HEALTH_STREAM_NAME]);
    const columns = columnsOf(streams[ALERT_STREAM_NAME]!.columns);
    expect(columnDrift(expectedStream, columns)).toEqual([]);
    for (const c of columns) expect(STREAM_API_TYPES).toContain(c.type);
  });

  test('the DCR routes that stream into the table', () => {
    const dcr = onlyResourceOfType(main, 'Microsoft.Insights/dataCollectionRules');
    expect(resolved(dcr, ['kind'])).toBe('Direct');
    const flows = resolved(dcr, ['properties', 'dataFlows'], true) as Record<string, Json>[];
    expect(flows).toHaveLength(2);
    expect(flows[0]!.streams).toEqual([ALERT_STREAM_NAME]);
    const destinations = resolved(dcr, ['properties', 'destinations', 'logAnalytics'], true) as Record<
      string,
      Json
    >[];
    expect(flows[0]!.destinations).toEqual(destinations.map((d) => d.name));
    // outputStream is built from the table module's output: check its shape in the DCR module itself.
    const dcrModule = onlyResourceOfType(
      loadCompiled('modules/data-collection-rule.json'),
      'Microsoft.Insights/dataCollectionRules',
    );
    expect(dcrModule.resource.properties).toMatchObject({
      dataFlows: [
        { outputStream: "[format('Custom-{0}', parameters('tableName'))]" },
        { outputStream: "[format('Custom-{0}', parameters('healthTableName'))]" },
      ],
    });
  });

  test('a column drift is caught: a changed, an added and a removed column each show up', () => {
    const table = onlyResourceOfTypeIn(
      main,
      'Microsoft.OperationalInsights/workspaces/tables',
      'alert-table',
    );
    const deployed = columnsOf(resolved(table, ['properties', 'schema', 'columns']));
    const changed: ColumnDefinition[] = ALERT_COLUMNS.map((c) =>
      c.name === 'Severity' ? { ...c, type: 'int' } : c,
    );
    const added: ColumnDefinition[] = [
      ...ALERT_COLUMNS,
      { name: 'ExtraColumn', type: 'string', description: 'x' },
    ];
    const removed: ColumnDefinition[] = ALERT_COLUMNS.filter((c) => c.name !== 'CallerIpAddress');
    const drift = (cols: readonly ColumnDefinition[]) =>
      columnDrift(
        cols.map((c) => ({ name: c.name, type: TABLE_TYPE[c.type] })),
        deployed,
      );
    expect(drift(changed)).toEqual(['column Severity: type string, expected int']);
    expect(drift(added)).toEqual(['missing column ExtraColumn (string)']);
    expect(drift(removed)).toEqual(['unexpected column CallerIpAddress (string)']);
    // And the file check fails too: a drifted definition renders a different schema file.
    expect(renderColumnSchema(buildColumnSchema(added))).not.toBe(
      readFileSync(join(ROOT, COLUMN_SCHEMA_PATH), 'utf8'),
    );
  });

  test('the generator refuses columns Log Analytics would refuse', () => {
    const base: ColumnDefinition[] = [...ALERT_COLUMNS];
    const problem = (
      columns: ColumnDefinition[],
      table = ALERT_TABLE_NAME,
      stream = ALERT_STREAM_NAME,
    ): string => {
      try {
        validateColumns(columns, table, stream);
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problem([...base, { name: 'TenantId', type: 'string', description: '' }])).toMatch(
      /TenantId is reserved/,
    );
    expect(problem([...base, { name: 'alertid', type: 'string', description: '' }])).toMatch(
      /declared twice/,
    );
    expect(problem(base.filter((c) => c.name !== 'TimeGenerated'))).toMatch(/TimeGenerated/);
    expect(problem(base, 'Alerts', 'Custom-Alerts')).toMatch(/_CL/);
    expect(problem(base, ALERT_TABLE_NAME, 'Custom-Other_CL')).toMatch(/stream name/);
    expect(problem(base)).toBe('accepted');
  });
});
