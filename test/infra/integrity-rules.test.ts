import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPTURE_OPERATIONS_KQL_PATH } from '../../scripts/capture-operations-kql';
import { RULES } from '../../src/detect/registry';
import { INTEGRITY_RULE_ID_PREFIX } from '../../src/detect/rules/integrityCommon';
import { loadCompiled, onlyResourceOfTypeIn, resolved, ROOT, text, type Json } from './helpers/arm';
import { analyzeKql, describeDiagnostics, type TableSchema } from './helpers/kusto';
import { alertTable, AZURE_ACTIVITY, SECURITY_ALERT } from './helpers/schemas';

/** The Sentinel analytics rule of the integrity rules, beside the capture rule: one query, split on RuleId. */
const main = loadCompiled('main.json');
const WORKSPACE: readonly TableSchema[] = [alertTable(), SECURITY_ALERT, AZURE_ACTIVITY];
const capture = onlyResourceOfTypeIn(main, 'Microsoft.SecurityInsights/alertRules', 'sentinel');
const integrity = onlyResourceOfTypeIn(main, 'Microsoft.SecurityInsights/alertRules', 'integrity-rules');
const captureQuery = text(resolved(capture, ['properties', 'query']));
const integrityQuery = text(resolved(integrity, ['properties', 'query']));
const integrityRules = RULES.filter((r) => r.id.startsWith(INTEGRITY_RULE_ID_PREFIX));

describe('integrity analytics rule', () => {
  test('its query is the capture query with the rule filter turned around', () => {
    const file =
      readFileSync(join(ROOT, CAPTURE_OPERATIONS_KQL_PATH), 'utf8') +
      readFileSync(join(ROOT, 'infra', 'queries', 'analytics-rule.kql'), 'utf8');
    const exclude = `| where RuleId !startswith "${INTEGRITY_RULE_ID_PREFIX}"`;
    const include = `| where RuleId startswith "${INTEGRITY_RULE_ID_PREFIX}"`;
    expect(captureQuery).toBe(file);
    expect(file.split(exclude)).toHaveLength(2);
    expect(integrityQuery).toBe(file.replace(exclude, include));
    // Before the deduplication, like the smoke test filter.
    expect(file.indexOf(exclude)).toBeLessThan(file.indexOf('| summarize FirstIngestedAt'));
  });

  test('every integrity rule id starts with the prefix the filter splits on; the capture rule does not', () => {
    expect(integrityRules.map((r) => r.id).sort()).toEqual([
      'Azure.MonitorActivity.DetectorIntegrity.ActivityLogExportChanged',
      'Azure.MonitorActivity.DetectorIntegrity.DetectorResourceChanged',
      'Azure.MonitorActivity.DetectorIntegrity.ExportHubTampered',
    ]);
    expect(RULES.filter((r) => !r.id.startsWith(INTEGRITY_RULE_ID_PREFIX)).map((r) => r.id)).toEqual([
      'Azure.MonitorActivity.Network.PacketCaptureEnabled',
    ]);
  });

  test('both queries bind; every column the integrity rule maps is in its result', () => {
    for (const q of [captureQuery, integrityQuery])
      expect(describeDiagnostics(q, analyzeKql(q, WORKSPACE).diagnostics)).toEqual([]);
    const columns = new Set(analyzeKql(integrityQuery, WORKSPACE).resultColumns.map((c) => c.name));
    const props = resolved(integrity, ['properties'], true) as Record<string, Json>;
    const used = new Set<string>(Object.values(props.customDetails as Record<string, string>));
    for (const e of props.entityMappings as { fieldMappings: { columnName: string }[] }[])
      for (const f of e.fieldMappings) used.add(f.columnName);
    const override = props.alertDetailsOverride as Record<string, string>;
    used.add(override.alertSeverityColumnName!);
    for (const format of [override.alertDisplayNameFormat!, override.alertDescriptionFormat!])
      for (const m of format.matchAll(/\{\{(\w+)\}\}/g)) used.add(m[1]!);
    expect([...used].filter((c) => !columns.has(c))).toEqual([]);
    expect([...used]).toEqual(
      expect.arrayContaining(['IntegrityTarget', 'IntegrityChange', 'ProtectedScope', 'AlertId']),
    );
  });

  test("carries the integrity rules' tactics and (parent) techniques; the capture rule keeps T1040", () => {
    const props = resolved(integrity, ['properties'], true) as Record<string, Json>;
    const tactics = new Set(integrityRules.flatMap((r) => r.tactics.map((t) => t.sentinelName)));
    const techniques = new Set(integrityRules.flatMap((r) => r.techniques.map((t) => t.id.split('.')[0]!)));
    expect([...(props.tactics as string[])].sort()).toEqual([...tactics].sort());
    expect([...(props.techniques as string[])].sort()).toEqual([...techniques].sort());
    expect(resolved(capture, ['properties', 'techniques'])).toEqual(['T1040']);
    expect(props.queryFrequency).toBe(resolved(capture, ['properties', 'queryFrequency']));
  });

  test('is deployed with the Sentinel content only, after it (onboarding)', () => {
    const modules = main.resources as Record<string, { condition?: Json; dependsOn?: Json }>;
    expect(modules.integrityRules?.condition).toBe("[parameters('deploySentinel')]");
    expect(modules.integrityRules?.dependsOn).toEqual(['sentinel']);
  });
});
