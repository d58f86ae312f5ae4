import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALERT_COLUMNS } from '../../src/alert/columns';
import { packetCaptureEnabled } from '../../src/detect/rules/packetCaptureEnabled';
import {
  evaluate,
  loadCompiled,
  onlyResourceOfType,
  resolved,
  resourcesOfType,
  ROOT,
  text,
  type Json,
} from './helpers/arm';
import { analyzeKql, describeDiagnostics, type KqlAnalysis, type TableSchema } from './helpers/kusto';
import { alertTable, AZURE_ACTIVITY, transformSource } from './helpers/schemas';

const main = loadCompiled('main.json');
const WORKSPACE: readonly TableSchema[] = [alertTable(), AZURE_ACTIVITY];

function queryFile(name: string): string {
  return readFileSync(join(ROOT, 'infra', 'queries', name), 'utf8');
}

/** Fails with every diagnostic spelled out, so a broken query says where and why. */
function expectBinds(query: string, tables: readonly TableSchema[]): KqlAnalysis {
  const analysis = analyzeKql(query, tables);
  expect(describeDiagnostics(query, analysis.diagnostics)).toEqual([]);
  return analysis;
}

const dcr = onlyResourceOfType(main, 'Microsoft.Insights/dataCollectionRules');
const streamColumns = (
  resolved(dcr, ['properties', 'streamDeclarations']) as Record<
    string,
    { columns: { name: string; type: string }[] }
  >
)['Custom-PacketCaptureAlerts_CL']!.columns;
const transformKql = text(
  (resolved(dcr, ['properties', 'dataFlows'], true) as Record<string, Json>[])[0]!.transformKql,
);
const rule = onlyResourceOfType(main, 'Microsoft.SecurityInsights/alertRules');
const ruleQuery = text(resolved(rule, ['properties', 'query']));
const hunting = resourcesOfType(main, 'Microsoft.OperationalInsights/workspaces/savedSearches');
// The saved searches are one copy loop over a table of queries (a Bicep variable).
const huntingTable = evaluate("[variables('huntingQueries')]", { template: hunting[0]!.template }) as {
  name: string;
  query: string;
  displayName: string;
}[];

describe('KQL in the compiled template', () => {
  test('the deployed queries are the files under infra/queries', () => {
    expect(transformKql).toBe(queryFile('dcr-transform.kql'));
    expect(ruleQuery).toBe(queryFile('analytics-rule.kql'));
    expect(huntingTable.map((q) => q.query).sort()).toEqual(
      ['hunting-caller-network-operations.kql', 'hunting-recent-captures.kql', 'hunting-caller-history.kql']
        .map(queryFile)
        .sort(),
    );
  });

  test('the DCR transform binds against its input stream and yields every table column', () => {
    const analysis = expectBinds(transformKql, [transformSource(streamColumns)]);
    expect(analysis.resultColumns.map((c) => c.name).sort()).toEqual(ALERT_COLUMNS.map((c) => c.name).sort());
    const timeGenerated = analysis.resultColumns.find((c) => c.name === 'TimeGenerated');
    expect(timeGenerated?.type).toBe('datetime');
  });

  test('the analytics rule query binds against the alert table', () => {
    expectBinds(ruleQuery, WORKSPACE);
  });

  test('every column the analytics rule maps is in its result', () => {
    const columns = new Set(analyzeKql(ruleQuery, WORKSPACE).resultColumns.map((c) => c.name));
    const props = resolved(rule, ['properties'], true) as Record<string, Json>;
    const used = new Set<string>();
    for (const entity of props.entityMappings as { fieldMappings: { columnName: string }[] }[]) {
      for (const f of entity.fieldMappings) used.add(f.columnName);
    }
    for (const column of Object.values(props.customDetails as Record<string, string>)) used.add(column);
    const override = props.alertDetailsOverride as Record<string, string>;
    used.add(override.alertSeverityColumnName!);
    for (const format of [override.alertDisplayNameFormat!, override.alertDescriptionFormat!]) {
      for (const m of format.matchAll(/\{\{(\w+)\}\}/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((c) => !columns.has(c))).toEqual([]);
  });

  test('the rule deduplicates by AlertId and its run window is the frequency plus one minute', () => {
    expect(ruleQuery).toMatch(/summarize arg_min\(IngestedAt, \*\) by AlertId/);
    const frequency = /^PT(\d+)M$/.exec(text(resolved(rule, ['properties', 'queryFrequency'])));
    const window = /let runWindow = (\d+)m;/.exec(ruleQuery);
    expect(frequency && window && Number(window[1]) - Number(frequency[1])).toBe(1);
  });

  test.each(huntingTable.map((q) => [q.name, q.query] as const))('hunting query %s binds', (_name, query) => {
    expectBinds(query, WORKSPACE);
  });

  test('the queries that take a caller IP declare CallerIp', () => {
    const byName = new Map(huntingTable.map((q) => [q.name, q.query]));
    for (const name of ['packet-capture-caller-network-operations', 'packet-capture-caller-history']) {
      expect(byName.get(name)).toMatch(/^let CallerIp = "";$/m);
    }
  });
});

describe('the KQL check fails on a query that does not bind', () => {
  test('a misspelled column', () => {
    const broken = ruleQuery.replace('CallerIpAddress,', 'CallerIPAddress,');
    const errors = analyzeKql(broken, WORKSPACE).errors;
    expect(errors.map((e) => e.code)).toContain('KS142');
    expect(describeDiagnostics(broken, errors).join('\n')).toMatch(/CallerIPAddress/);
  });

  test('an unknown table', () => {
    expect(analyzeKql('PacketCaptureAlert_CL | take 1', WORKSPACE).errors.map((e) => e.code)).toContain(
      'KS204',
    );
  });

  test('a syntax error', () => {
    expect(analyzeKql(`${ruleQuery}\n| where`, WORKSPACE).errors.length).toBeGreaterThan(0);
  });

  test('the real queries against a drifted table (a column removed from the code)', () => {
    const drifted = [alertTable(ALERT_COLUMNS.filter((c) => c.name !== 'CallerIpAddress')), AZURE_ACTIVITY];
    expect(analyzeKql(ruleQuery, drifted).errors.length).toBeGreaterThan(0);
    for (const q of huntingTable) {
      if (q.name !== 'packet-capture-recent-captures')
        expect(analyzeKql(q.query, drifted).errors.length).toBeGreaterThan(0);
    }
  });

  test('a hunting query against a workspace without AzureActivity', () => {
    const query = huntingTable.find((q) => q.name === 'packet-capture-caller-history')!.query;
    expect(analyzeKql(query, [alertTable()]).errors.map((e) => e.code)).toContain('KS204');
  });
});

describe('Sentinel content agrees with the detection rule', () => {
  test('the history query counts exactly the operations the rule detects', () => {
    const query = huntingTable.find((q) => q.name === 'packet-capture-caller-history')!.query;
    const list = /let StartOperations = dynamic\(\[([\s\S]*?)\]\);/.exec(query)?.[1] ?? '';
    const operations = [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    expect(operations.sort()).toEqual(
      packetCaptureEnabled.operationPatterns.map((p) => p.pattern.toLowerCase()).sort(),
    );
  });

  test("the analytics rule carries the rule's name, severity, tactics and techniques", () => {
    const props = resolved(rule, ['properties'], true) as Record<string, Json>;
    expect(props.displayName).toBe(packetCaptureEnabled.displayName);
    expect(props.severity).toBe(packetCaptureEnabled.severity);
    expect(props.tactics).toEqual(packetCaptureEnabled.tactics.map((t) => t.sentinelName));
    expect(props.techniques).toEqual(packetCaptureEnabled.techniques.map((t) => t.id));
  });
});
