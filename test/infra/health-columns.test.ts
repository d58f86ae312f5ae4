import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEALTH_COLUMNS, HEALTH_STREAM_NAME, HEALTH_TABLE_NAME } from '../../src/health/columns';
import { buildHealthSchema, HEALTH_SCHEMA_PATH, renderColumnSchema } from '../../scripts/generate-schema';
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
import { analyzeKql, describeDiagnostics } from './helpers/kusto';
import { transformSource } from './helpers/schemas';

/** The health table: defined once in src/health/columns.ts, table and DCR stream derived, checked here. */
const TABLE_TYPE = { string: 'string', datetime: 'dateTime', int: 'int', long: 'long' } as const;
const STREAM_TYPE = { string: 'string', datetime: 'datetime', int: 'int', long: 'long' } as const;
const main = loadCompiled('main.json');

function columnsOf(value: Json): { name: string; type: string }[] {
  if (!Array.isArray(value)) throw new Error('columns are not an array');
  return value.map((c) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('column is not an object');
    return { name: text(c.name), type: text(c.type) };
  });
}

describe('health table schema', () => {
  const dcr = onlyResourceOfType(main, 'Microsoft.Insights/dataCollectionRules');

  test('the generated schema file is up to date with HEALTH_COLUMNS (run `npm run columns:generate`)', () => {
    expect(readFileSync(join(ROOT, HEALTH_SCHEMA_PATH), 'utf8')).toBe(
      renderColumnSchema(buildHealthSchema()),
    );
  });

  test('the compiled health table has exactly the code columns', () => {
    const table = onlyResourceOfTypeIn(
      main,
      'Microsoft.OperationalInsights/workspaces/tables',
      'health-table',
    );
    expect(resolved(table, ['properties', 'schema', 'name'])).toBe(HEALTH_TABLE_NAME);
    const expected = HEALTH_COLUMNS.map((c) => ({ name: c.name, type: TABLE_TYPE[c.type] }));
    expect(columnDrift(expected, columnsOf(resolved(table, ['properties', 'schema', 'columns'])))).toEqual(
      [],
    );
  });

  test('the DCR declares the health stream with exactly the code columns and routes it into the health table', () => {
    const streams = resolved(dcr, ['properties', 'streamDeclarations']) as Record<string, { columns: Json }>;
    const expected = HEALTH_COLUMNS.map((c) => ({ name: c.name, type: STREAM_TYPE[c.type] }));
    expect(columnDrift(expected, columnsOf(streams[HEALTH_STREAM_NAME]!.columns))).toEqual([]);
    const flows = resolved(dcr, ['properties', 'dataFlows'], true) as Record<string, Json>[];
    const flow = flows.find((f) => JSON.stringify(f.streams) === JSON.stringify([HEALTH_STREAM_NAME]));
    expect(flow).toBeDefined();
    const dcrModule = onlyResourceOfType(
      loadCompiled('modules/data-collection-rule.json'),
      'Microsoft.Insights/dataCollectionRules',
    );
    expect(JSON.stringify(dcrModule.resource.properties)).toContain(
      "[format('Custom-{0}', parameters('healthTableName'))]",
    );
    // The transform binds against the stream and yields every table column.
    const analysis = analyzeKql(text(flow!.transformKql), [
      transformSource(columnsOf(streams[HEALTH_STREAM_NAME]!.columns)),
    ]);
    expect(describeDiagnostics(text(flow!.transformKql), analysis.diagnostics)).toEqual([]);
    expect(analysis.resultColumns.map((c) => c.name).sort()).toEqual(
      HEALTH_COLUMNS.map((c) => c.name).sort(),
    );
  });

  test('the function gets the health stream and the protected scope (its resource group and workspace)', () => {
    const site = onlyResourceOfType(main, 'Microsoft.Web/sites');
    const settings = resolved(site, ['properties', 'siteConfig', 'appSettings'], true) as {
      name: string;
      value: Json;
    }[];
    const byName = new Map(settings.map((s) => [s.name, s.value]));
    expect(byName.get('HEALTH_STREAM_NAME')).toBe("[parameters('healthStreamName')]");
    expect(byName.get('PROTECTED_RESOURCE_IDS')).toBe("[parameters('protectedResourceIds')]");
    const call = (
      main.resources as Record<string, { properties: { parameters: Record<string, { value: Json }> } }>
    ).functionApp!.properties.parameters;
    expect(call.healthStreamName?.value).toBe(
      "[reference('dataCollectionRule').outputs.healthStreamName.value]",
    );
    expect(call.protectedResourceIds?.value).toBe(
      "[format('{0},{1}', subscriptionResourceId('Microsoft.Resources/resourceGroups', variables('rgName')), reference('workspace').outputs.resourceId.value)]",
    );
  });
});
