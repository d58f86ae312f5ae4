import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RETRACTED_REVISION } from '../../src/alert/buildAlert';
import { ALERT_COLUMNS } from '../../src/alert/columns';
import { packetCaptureEnabled } from '../../src/detect/rules/packetCaptureEnabled';
import {
  CAPTURE_OPERATIONS_KQL_PATH,
  renderCaptureOperationsKql,
} from '../../scripts/capture-operations-kql';
import {
  evaluate,
  loadCompiled,
  onlyResourceOfType,
  onlyResourceOfTypeIn,
  resolved,
  resourcesOfType,
  ROOT,
  text,
  type Json,
} from './helpers/arm';
import { analyzeKql, describeDiagnostics, type KqlAnalysis, type TableSchema } from './helpers/kusto';
import { alertTable, AZURE_ACTIVITY, SECURITY_ALERT, transformSource } from './helpers/schemas';

const main = loadCompiled('main.json');
const WORKSPACE: readonly TableSchema[] = [alertTable(), AZURE_ACTIVITY, SECURITY_ALERT];

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
const rule = onlyResourceOfTypeIn(main, 'Microsoft.SecurityInsights/alertRules', 'sentinel');
const ruleQuery = text(resolved(rule, ['properties', 'query']));
const hunting = resourcesOfType(main, 'Microsoft.OperationalInsights/workspaces/savedSearches');
// The saved searches are one copy loop over a table of queries (a Bicep variable).
const huntingTable = evaluate("[variables('huntingQueries')]", { template: hunting[0]!.template }) as {
  name: string;
  query: string;
  displayName: string;
}[];

describe('KQL in the compiled template', () => {
  test('the deployed queries are the files under infra/queries, the AzureActivity ones after the generated operations', () => {
    expect(transformKql).toBe(queryFile('dcr-transform.kql'));
    const operations = readFileSync(join(ROOT, CAPTURE_OPERATIONS_KQL_PATH), 'utf8');
    expect(ruleQuery).toBe(operations + queryFile('analytics-rule.kql'));
    expect(Object.fromEntries(huntingTable.map((q) => [q.name, q.query]))).toEqual({
      'packet-capture-caller-network-operations': queryFile('hunting-caller-network-operations.kql'),
      'packet-capture-recent-captures': operations + queryFile('hunting-recent-captures.kql'),
      'packet-capture-caller-history': operations + queryFile('hunting-caller-history.kql'),
    });
  });

  test('the generated operation list is current (run `npm run columns:generate`)', () => {
    expect(readFileSync(join(ROOT, CAPTURE_OPERATIONS_KQL_PATH), 'utf8')).toBe(renderCaptureOperationsKql());
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
    // Raised by the first ingestion of the AlertId, showing its most complete row (lifecycle completing rows).
    expect(ruleQuery).toMatch(
      /summarize FirstIngestedAt = min\(IngestedAt\), arg_max\(AlertRevision, \*\) by AlertId/,
    );
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
  test('steps 2 and 3 read AzureActivity for exactly the operations (and kinds) the rule detects', () => {
    const operations = readFileSync(join(ROOT, CAPTURE_OPERATIONS_KQL_PATH), 'utf8');
    const table =
      /datatable\(Operation: string, CaptureKind: string\) \[([\s\S]*?)\];/.exec(operations)?.[1] ?? '';
    const rows = [...table.matchAll(/"([^"]+)", "([^"]+)"/g)].map((m) => `${m[1]!} ${m[2]!}`);
    expect(rows.sort()).toEqual(
      packetCaptureEnabled.operationPatterns.map((p) => `${p.pattern.toLowerCase()} ${p.kind}`).sort(),
    );
    for (const name of ['packet-capture-recent-captures', 'packet-capture-caller-history']) {
      const query = huntingTable.find((q) => q.name === name)!.query;
      expect(query.startsWith(operations)).toBe(true);
      expect(query).toMatch(/\| where OperationNameValue in~ \(StartOperations\)\n/);
      expect(query).toMatch(/\| where ActivityStatusValue in~ \("Success", "Succeeded"\)\n/);
    }
  });

  test("the analytics rule carries the rule's name, severity, tactics and techniques", () => {
    const props = resolved(rule, ['properties'], true) as Record<string, Json>;
    expect(props.displayName).toBe(packetCaptureEnabled.displayName);
    expect(props.severity).toBe(packetCaptureEnabled.severity);
    expect(props.tactics).toEqual(packetCaptureEnabled.tactics.map((t) => t.sentinelName));
    expect(props.techniques).toEqual(packetCaptureEnabled.techniques.map((t) => t.id));
  });
});

/** The first statement of `query` that matches, for checks on the order of operators. */
function indexOf(query: string, pattern: RegExp): number {
  const m = pattern.exec(query);
  if (!m) throw new Error(`${String(pattern)} not found in the query`);
  return m.index;
}

function isoMinutes(duration: string): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
  if (!m) throw new Error(`not an ISO 8601 duration of days, hours, minutes: ${duration}`);
  return Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

describe('the analytics rule alerts each real AlertId once', () => {
  const props = resolved(rule, ['properties'], true) as Record<string, Json>;
  const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;

  const SUMMARIZE_LATEST =
    /^\| summarize FirstIngestedAt = min\(IngestedAt\), arg_max\(AlertRevision, \*\) by AlertId;$/m;

  test("drops smoke test rows before the deduplication, so a marked copy can't stand in for a real first copy", () => {
    expect(
      indexOf(ruleQuery, /^let Rows = PacketCaptureAlerts_CL\n\| where isempty\(SmokeTestId\)$/m),
    ).toBeLessThan(indexOf(ruleQuery, SUMMARIZE_LATEST));
    expect(ruleQuery).toMatch(/^let Latest = Rows$/m);
  });

  test('raises nothing for an alert whose latest row withdrew it or is allowlisted (Suppressed), after taking that row', () => {
    expect(indexOf(ruleQuery, /^let ToAlert = Latest\n\| where not\(Suppressed\)$/m)).toBeGreaterThan(
      indexOf(ruleQuery, SUMMARIZE_LATEST),
    );
  });

  test("looks back over Sentinel's maximum by default, so a redelivered copy finds its first copy", () => {
    const period = text(mainParams.alertRuleQueryPeriod?.defaultValue);
    expect(period).toBe('P14D');
    expect(isoMinutes(period)).toBeLessThanOrEqual(14 * 1440);
    // Event Hubs retains events 7 days at most: a redelivery from the hub always falls inside the period.
    const retention = main.parameters as Record<string, { maxValue?: number }>;
    expect(isoMinutes(period)).toBeGreaterThan(
      (retention.eventHubMessageRetentionDays?.maxValue ?? 99) * 1440,
    );
    expect(isoMinutes(text(props.queryFrequency))).toBe(5);
  });

  test('catches up rows no run alerted, through the AlertIds its earlier alerts carry in SecurityAlert', () => {
    const key = Object.entries(props.customDetails as Record<string, string>).find(
      ([, col]) => col === 'AlertId',
    )?.[0];
    expect(key).toBe('DetectorAlertId');
    expect(ruleQuery).toContain(`| where ExtendedProperties has "${key!}"`);
    // A first copy in this run's window; a severity raise by a later row in it (unless Sentinel has that severity
    // already); a row no run alerted, or whose raise no run alerted, once settled.
    expect(ruleQuery).toContain(
      [
        '| lookup kind=leftouter AlreadyAlerted on $left.AlertId == $right.DetectorAlertId',
        '| where FirstIngestedAt > ago(runWindow)',
        '    or (EscalatedAt > ago(runWindow) and coalesce(AlertedRank, 0) < SeverityRank)',
        '    or (FirstIngestedAt <= ago(settle) and isnull(AlertedRank))',
        '    or (EscalatedAt <= ago(settle) and AlertedRank < SeverityRank)',
      ].join('\n'),
    );
    const minutes = (name: string) => Number(new RegExp(`let ${name} = (\\d+)m;`).exec(ruleQuery)?.[1]);
    // Catch-up starts after this run's own window, once the earlier run's alert had time to be recorded.
    expect(minutes('settle')).toBeGreaterThan(minutes('runWindow'));
  });

  test('binds in a workspace without SecurityAlert or AzureActivity: the unions are fuzzy there, nowhere else', () => {
    const fuzzy = (tables: readonly TableSchema[]) => {
      const analysis = analyzeKql(ruleQuery, tables);
      expect(analysis.errors).toEqual([]);
      return analysis.diagnostics.map((d) => `${d.code} ${ruleQuery.slice(d.start, d.start + d.length)}`);
    };
    expect(fuzzy([alertTable(), AZURE_ACTIVITY])).toEqual(['KS205 SecurityAlert']);
    expect(fuzzy([alertTable(), SECURITY_ALERT])).toEqual(['KS205 AzureActivity']);
    expect(fuzzy([alertTable()])).toEqual(['KS205 SecurityAlert', 'KS205 AzureActivity']);
    // The alert table is not fuzzy: the rule must fail loudly without it.
    expect(analyzeKql(ruleQuery, [AZURE_ACTIVITY, SECURITY_ALERT]).errors.length).toBeGreaterThan(0);
  });

  test('the AlertId extraction reads every id of the custom detail, escaped as Sentinel stores it, and nothing else', () => {
    const pattern = /extract\(@"([^"]+)", 1, ExtendedProperties\)/.exec(ruleQuery)?.[1];
    const idPattern = /extract_all\(@"([^"]+)", Ids\)/.exec(ruleQuery)?.[1];
    expect(pattern).toBeDefined();
    expect(idPattern).toBeDefined();
    const extract = (extendedProperties: string): string[] => {
      const group = new RegExp(pattern!).exec(extendedProperties)?.[1] ?? '';
      return [...group.matchAll(new RegExp(idPattern!, 'g'))].map((m) => m[1]!);
    };
    const a = 'a'.repeat(32);
    const b = '0123456789abcdef'.repeat(2);
    const other = 'f'.repeat(32);
    // Custom details are a JSON string inside the ExtendedProperties JSON.
    const single = JSON.stringify({
      'Analytic Rule Name': 'Azure Network Packet Capture Enabled',
      'Custom Details': JSON.stringify({
        Operation: ['X/WRITE'],
        DetectorAlertId: [a],
        CorrelationId: [other],
      }),
    });
    expect(extract(single)).toEqual([a]);
    // The alert that summarises more events than one alert per result allows lists several.
    const summary = JSON.stringify({
      'Custom Details': JSON.stringify({ DetectorAlertId: [a, b], Location: [other] }),
    });
    expect(extract(summary)).toEqual([a, b]);
    expect(extract(JSON.stringify({ 'Custom Details': JSON.stringify({ CorrelationId: [other] }) }))).toEqual(
      [],
    );
  });

  test('the severity extraction reads the detector severity Sentinel recorded for the alert', () => {
    const pattern = /extract\(@"(DetectorSeverity[^"]+)", 1, ExtendedProperties\)/.exec(ruleQuery)?.[1];
    expect(pattern).toBeDefined();
    const severityOf = (extendedProperties: string) => new RegExp(pattern!).exec(extendedProperties)?.[1];
    const details = JSON.stringify({
      'Custom Details': JSON.stringify({ DetectorAlertId: ['a'.repeat(32)], DetectorSeverity: ['High'] }),
    });
    expect(severityOf(details)).toBe('High');
    expect(
      severityOf(JSON.stringify({ 'Custom Details': JSON.stringify({ DetectorAlertId: ['x'] }) })),
    ).toBeUndefined();
    const props = resolved(rule, ['properties', 'customDetails'], true) as Record<string, string>;
    expect(props.DetectorSeverity).toBe('Severity');
  });
});

describe('the analytics rule answers the runbook at alert time and raises severity by evidence', () => {
  const props = resolved(rule, ['properties'], true) as Record<string, Json>;
  const details = props.customDetails as Record<string, string>;
  const columns = new Map(analyzeKql(ruleQuery, WORKSPACE).resultColumns.map((c) => [c.name, c.type]));

  test("fits Sentinel's query length (10,000 characters, the generated operations included)", () => {
    expect(ruleQuery.length).toBeLessThanOrEqual(10_000);
  });

  test("answers the runbook and raises only for the capture rule's rows; other rules' rows pass through", () => {
    expect(ruleQuery).toContain(`let CaptureRule = "${packetCaptureEnabled.id}";`);
    expect(ruleQuery).toContain('| where AlertRevision < 10 and RuleId == CaptureRule\n');
    expect(ruleQuery).toContain('FirstSeen = RuleId == CaptureRule and ');
    expect(ruleQuery).toContain('iff(RuleId != CaptureRule, "", strcat(" Step 3: "');
    // One filter by rule: the integrity rules' rows, which their own analytics rule raises (integrity-rules
    // test); any other rule's row is never dropped here.
    expect([...ruleQuery.matchAll(/^\| where RuleId.*$/gm)].map((m) => m[0])).toEqual([
      '| where RuleId !startswith "Azure.MonitorActivity.DetectorIntegrity."',
    ]);
  });

  test('step 2: capture starts in the 6 hours up to each alert, from the alert table and AzureActivity, each operation once', () => {
    expect(ruleQuery).toMatch(/^let scope = 6h;$/m);
    expect(ruleQuery).toContain('let Starts = union isfuzzy=true\n    (Latest\n');
    expect(ruleQuery).toMatch(
      /\(AzureActivity\n {8}\| where OperationNameValue in~ \(StartOperations\)\n {8}\| where ActivityStatusValue in~ \("Success", "Succeeded"\)\n/,
    );
    // A finding a later record withdrew (RETRACTED_REVISION) is no capture start; allowlisted ones are.
    expect(RETRACTED_REVISION).toBe(10);
    expect(ruleQuery).toContain('| where AlertRevision < 10 and RuleId == CaptureRule\n');
    expect(ruleQuery).toContain(
      '| summarize StartTime = min(StartTime), By = take_any(tostring(Keys[0])) by Op',
    );
    expect(ruleQuery).toContain(
      '| where StartTime between ((AnchorTime - scope) .. AnchorTime) or Op == AnchorOp',
    );
    expect(details.CapturesLast6h).toBe('CapturesLast6h');
    expect(columns.get('CapturesLast6h')).toBe('long');
  });

  test('step 3: earlier captures by the caller (its name or object id) and by its IP, never the alert itself', () => {
    expect(ruleQuery).toContain('Keys = pack_array(tolower(Caller), tolower(CallerObjectId))');
    // Never the app id: a user's is the client app (Azure portal, Azure CLI) every other user shares.
    expect(ruleQuery).not.toMatch(/Keys = pack_array\([^)]*CallerAppId/);
    expect(ruleQuery.match(/\| where StartTime < AnchorTime and Op != AnchorOp\n/g)).toHaveLength(2);
    // The query period holds 14 days at most: the detector's 90-day answer is combined with the workspace's.
    expect(ruleQuery).toContain('DetectorPrior = coalesce(CallerPriorCaptures, -1)');
    expect(ruleQuery).toContain('PriorByCaller = max_of(coalesce(WorkspaceCallerPrior, 0), DetectorPrior)');
    expect(ruleQuery).toContain('PriorByIp = max_of(coalesce(WorkspaceIpPrior, 0), DetectorIpPrior)');
    for (const [detail, column] of [
      ['CallerPriorCaptures', 'PriorByCaller'],
      ['CallerIpPriorCaptures', 'PriorByIp'],
      ['CallerLastCapture', 'LastByCaller'],
      ['CallerHistory', 'CallerHistory'],
    ]) {
      expect(details[detail!]).toBe(column);
    }
    expect(columns.get('PriorByCaller')).toBe('long');
    expect(columns.get('LastByCaller')).toBe('datetime');
  });

  test("a caller's first capture in 90 days raises the severity one step, and says so", () => {
    // Only when the detector's 90-day history says none (unknown history never raises) and the workspace agrees.
    expect(ruleQuery).toContain(
      'FirstSeen = RuleId == CaptureRule and CallerKnown and DetectorPrior == 0 and PriorByCaller == 0',
    );
    expect(ruleQuery).toContain(
      'IncidentSeverity = iff(FirstSeen, case(Severity == "Informational", "Low", Severity == "Low", "Medium", "High"), Severity)',
    );
    const override = props.alertDetailsOverride as Record<string, string>;
    expect(override.alertSeverityColumnName).toBe('IncidentSeverity');
    // The reason rides along: a custom detail and the description.
    expect(details.SeverityReason).toBe('IncidentSeverityReason');
    expect(ruleQuery).toMatch(/AlertDescription = substring\(strcat\([\s\S]*IncidentSeverityReason/);
    expect(ruleQuery).toContain('". Detector: ", SeverityReason)');
    expect(props.severity).toBe('Medium');
  });

  test('custom details stay within Sentinel limits and every one is a column of the result', () => {
    expect(Object.keys(details).length).toBeLessThanOrEqual(20);
    expect(Object.values(details).filter((c) => !columns.has(c))).toEqual([]);
    // The combined size limit (64 KB) holds: the long texts are bounded in the query.
    expect(ruleQuery).toContain('AlertName = substring(');
    expect(ruleQuery).toMatch(/, 0, 4900\)\n/);
  });
});

describe('the hunting queries answer the runbook steps as written', () => {
  const query = (name: string) => huntingTable.find((q) => q.name === name)!.query;
  const columns = (name: string) => analyzeKql(query(name), WORKSPACE).resultColumns.map((c) => c.name);

  test("step 1 takes any IP, around any time (default now), else the callers of the last 7 days' alerts", () => {
    const q = query('packet-capture-caller-network-operations');
    expect(q).toMatch(/^let CallerIp = "";$/m);
    expect(q).toMatch(/^let AroundTime = datetime\(null\);$/m);
    expect(q).toMatch(/^let Around = 24h;$/m);
    // A given IP needs no alert: it is its own anchor.
    expect(q).toMatch(
      /let Given = print CallerIpAddress = CallerIp, AnchorTime = coalesce\(AroundTime, now\(\)\)/,
    );
    expect(q).toMatch(/let FromAlerts = PacketCaptureAlerts_CL\n {4}\| where isempty\(CallerIp\)\n/);
    // The Activity Log window follows the anchors, not a fixed lookback.
    expect(q).toContain('| where TimeGenerated between (From .. To)');
    expect(q).toContain('| where TimeGenerated between ((AnchorTime - Around) .. (AnchorTime + Around))');
    expect(columns('packet-capture-caller-network-operations')).toEqual(
      expect.arrayContaining([
        'TimeGenerated',
        'AnchorTime',
        'CallerIpAddress',
        'OperationNameValue',
        'AlertId',
      ]),
    );
  });

  test("step 2 lists the last 6 hours' captures from the alerts and AzureActivity, each operation once", () => {
    const q = query('packet-capture-recent-captures');
    expect(q).toMatch(/^let Lookback = 6h;$/m);
    expect(q).toContain('union FromAlerts, FromActivityLog');
    expect(q).toMatch(/by OperationKey, Operation\n/);
    expect(columns('packet-capture-recent-captures')).toEqual([
      'EventTime',
      'CaptureKind',
      'Operation',
      'ResourceId',
      'CaptureTarget',
      'CaptureStorage',
      'Location',
      'Caller',
      'CallerIpAddress',
      'CorrelationId',
      'AlertId',
      'Severity',
      'Allowlisted',
      'InDetector',
      'Sources',
    ]);
  });

  test('step 3 counts the 90 days before each alert, not the alert itself, and real days with captures', () => {
    const q = query('packet-capture-caller-history');
    expect(q).toMatch(/^let History = 90d;$/m);
    expect(q).toContain(
      'EventTime < AnchorTime and EventTime >= AnchorTime - History and OperationKey != AnchorOperation',
    );
    expect(q).toContain('DaysWithCaptures = dcountif(startofday(EventTime), InHistory)');
    // An alert without history is the answer "first time": it must not vanish in an inner join.
    expect(q).toContain('| join kind=leftouter Operations on CallerIpAddress');
    expect(q).not.toMatch(/datetime_diff/);
    const analysis = analyzeKql(q, WORKSPACE).resultColumns;
    expect(analysis.map((c) => c.name)).toEqual(
      expect.arrayContaining(['AlertId', 'CallerIpAddress', 'PriorStarts', 'DaysWithCaptures', 'Assessment']),
    );
    expect(analysis.find((c) => c.name === 'DaysWithCaptures')?.type).toBe('long');
  });

  test('no hunting query counts smoke test rows', () => {
    for (const q of huntingTable) {
      const reads = (q.query.match(/PacketCaptureAlerts_CL\n/g) ?? []).length;
      const excludes = (q.query.match(/\| where isempty\(SmokeTestId\)\n/g) ?? []).length;
      expect(`${q.name}: ${excludes}`).toBe(`${q.name}: ${reads}`);
    }
  });

  test('README says which runbook step each query answers', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [step, name] of [
      [1, 'packet-capture-caller-network-operations'],
      [2, 'packet-capture-recent-captures'],
      [3, 'packet-capture-caller-history'],
    ] as const) {
      expect(readme).toMatch(new RegExp(`\\| ${step} \\| \`${name}\` \\|`));
    }
  });
});
