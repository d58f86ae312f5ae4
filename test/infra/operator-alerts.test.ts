import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_DEAD_LETTERED, LOG_DEAD_LETTER_FAILED } from '../../src/deliver/logsIngestionSink';
import { FUNCTION_NAME } from '../../src/functions/eventHubHandler';
import { LOG_BATCH_FAILED, LOG_BATCH_PROCESSED, LOG_MALFORMED } from '../../src/pipeline/runBatch';
import { LOG_SET_ASIDE } from '../../src/pipeline/setAside';
import {
  LOG_MESSAGES_KQL_PATH,
  LOG_MESSAGE_LETS,
  renderLogMessagesKql,
} from '../../scripts/log-messages-kql';
import {
  evaluate,
  loadCompiled,
  resourcesOfType,
  ROOT,
  Unresolvable,
  type Json,
  type JsonObject,
} from './helpers/arm';
import { analyzeKql, describeDiagnostics, type TableSchema } from './helpers/kusto';
import { EXCEPTIONS, healthTable, TRACES } from './helpers/schemas';

/**
 * The operator alerts (App Insights traces and exceptions) and the silence and lag rules (health table), as
 * main.bicep deploys them with its defaults: each query binds against the declared schemas, matches exactly
 * the log messages the code writes, and takes its thresholds from the parameters.
 */
const main = loadCompiled('main.json');
type Module = JsonObject & {
  properties: { parameters: Record<string, { value: Json }>; template: JsonObject };
};
const operatorModule = (main.resources as Record<string, Module>).operatorAlerts!;

/** What the module call passes with main's defaults (runtime outputs stood in by recognisable values). */
function moduleParameters(overrides: Record<string, Json> = {}): Record<string, Json> {
  const params: Record<string, Json> = {};
  for (const [name, { value }] of Object.entries(operatorModule.properties.parameters)) {
    try {
      params[name] = evaluate(value, {
        template: main,
        parameters: { environmentName: 'pcd-test', location: 'westeurope', ...overrides },
      });
    } catch (error) {
      if (!(error instanceof Unresolvable)) throw error;
      params[name] = `runtime:${name}`;
    }
  }
  return params;
}

interface Rule {
  name: string;
  displayName: string;
  scope: string;
  windowSize: string;
  evaluationFrequency: string;
  overrideQueryTimeRange: string;
  dimensions: string[];
  query: string;
}

function rulesWith(overrides: Record<string, Json> = {}): Rule[] {
  return evaluate("[variables('rules')]", {
    template: operatorModule.properties.template,
    parameters: moduleParameters(overrides),
  }) as unknown as Rule[];
}

const rules = rulesWith();
const byName = new Map(rules.map((r) => [r.name, r]));
const APP: readonly TableSchema[] = [TRACES, EXCEPTIONS];
/** The first rules read Application Insights; the rest the workspace's health table. */
const APP_RULES = 5;
const WORKSPACE: readonly TableSchema[] = [healthTable()];

function expectBinds(query: string, tables: readonly TableSchema[]): void {
  expect(describeDiagnostics(query, analyzeKql(query, tables).diagnostics)).toEqual([]);
}

describe('operator alerts and the silence and lag rules', () => {
  test('seven rules: five on Application Insights, two on the health table; one copy loop', () => {
    expect(rules.map((r) => r.name)).toEqual([
      'alerts-dead-lettered',
      'message-set-aside',
      'batches-failed',
      'partition-retrying-batch',
      'malformed-input',
      'subscription-silent',
      'ingestion-lag',
    ]);
    for (const r of rules.slice(0, APP_RULES))
      expect(r.scope).toMatch(/^resourceid\(Microsoft\.Insights\/components, /);
    for (const r of rules.slice(APP_RULES)) expect(r.scope).toBe('runtime:workspaceResourceId');
    const deployed = resourcesOfType(main, 'Microsoft.Insights/scheduledQueryRules');
    expect(deployed).toHaveLength(1);
    expect(deployed[0]!.resource.kind).toBe('LogAlert');
    // Alerts when the query returns any row (each query keeps only the rows that are a problem).
    expect(deployed[0]!.resource.properties).toMatchObject({
      criteria: { allOf: [{ timeAggregation: 'Count', operator: 'GreaterThan', threshold: 0 }] },
      autoMitigate: true,
    });
  });

  test.each(rules.slice(0, APP_RULES).map((r) => [r.name, r] as const))(
    '%s binds against traces and exceptions',
    (_n, r) => {
      expectBinds(r.query, APP);
    },
  );

  test.each(rules.slice(APP_RULES).map((r) => [r.name, r] as const))(
    '%s binds against the health table',
    (_n, r) => {
      expectBinds(r.query, WORKSPACE);
    },
  );

  test('every dimension of a rule is a column of its result', () => {
    for (const r of rules) {
      const columns = analyzeKql(r.query, [...APP, ...WORKSPACE]).resultColumns.map((c) => c.name);
      for (const d of r.dimensions) expect([r.name, d, columns.includes(d)]).toEqual([r.name, d, true]);
    }
  });

  test('the operator queries match exactly the messages the code logs (generated, not copied)', () => {
    expect(readFileSync(join(ROOT, LOG_MESSAGES_KQL_PATH), 'utf8')).toBe(renderLogMessagesKql());
    expect(LOG_MESSAGE_LETS).toMatchObject({
      LogDeadLettered: LOG_DEAD_LETTERED,
      LogDeadLetterFailed: LOG_DEAD_LETTER_FAILED,
      LogBatchFailed: LOG_BATCH_FAILED,
      LogBatchProcessed: LOG_BATCH_PROCESSED,
      LogMalformed: LOG_MALFORMED,
      LogSetAside: LOG_SET_ASIDE,
      FunctionName: FUNCTION_NAME,
    });
    const generated = renderLogMessagesKql();
    for (const r of rules.slice(0, APP_RULES)) {
      expect(r.query.startsWith(generated)).toBe(true);
      // No message is written out in a query file: they come from the generated lets only.
      const body = r.query.slice(generated.length);
      for (const message of Object.values(LOG_MESSAGE_LETS)) expect(body).not.toContain(`"${message}`);
    }
    const uses = (name: string) =>
      rules.filter((r) => new RegExp(`\\b${name}\\b`).test(r.query.slice(generated.length)));
    expect(uses('LogDeadLettered').map((r) => r.name)).toEqual(['alerts-dead-lettered']);
    expect(uses('LogBatchFailed').map((r) => r.name)).toEqual([
      'batches-failed',
      'partition-retrying-batch',
      'malformed-input',
    ]);
    expect(uses('LogSetAside').map((r) => r.name)).toEqual(['message-set-aside']);
    expect(uses('LogBatchProcessed').map((r) => r.name)).toEqual(['malformed-input']);
    expect(uses('FunctionName').map((r) => r.name)).toEqual(['batches-failed']);
  });

  test('thresholds are parameters of main.bicep, written into the queries and windows', () => {
    const custom = rulesWith({
      retryingBatchAlertMinutes: 45,
      malformedInputAlertPercent: 7,
      malformedInputAlertMinimum: 3,
      silenceAlertMinutes: 90,
      silenceBaselineHours: 36,
      lagAlertMinutes: 20,
    });
    const q = (name: string) => custom.find((r) => r.name === name)!;
    expect(q('partition-retrying-batch').query).toContain('let RetryingFor = 45m;');
    expect(q('malformed-input').query).toContain('let MalformedPercent = 7;\nlet MalformedMinimum = 3;');
    expect(q('subscription-silent').query).toMatch(/^let SilentFor = 90m;/);
    expect(q('subscription-silent').overrideQueryTimeRange).toBe('PT36H');
    expect(q('ingestion-lag').query).toMatch(/^let LagThreshold = 20m;/);
    const mainParams = main.parameters as Record<string, { defaultValue?: Json }>;
    expect(mainParams.operatorAlertEmails?.defaultValue).toEqual([]);
    expect(byName.get('subscription-silent')?.query).toMatch(/^let SilentFor = 60m;/);
  });

  test('the action group exists only with receivers, and every rule notifies it then', () => {
    const groups = resourcesOfType(main, 'Microsoft.Insights/actionGroups');
    expect(groups).toHaveLength(1);
    expect(groups[0]!.resource.condition).toBe("[not(empty(parameters('emailReceivers')))]");
    const [rule] = resourcesOfType(main, 'Microsoft.Insights/scheduledQueryRules');
    expect(JSON.stringify((rule!.resource.properties as JsonObject).actions)).toContain(
      "[if(empty(parameters('emailReceivers')), createArray(), createArray(resourceId('Microsoft.Insights/actionGroups', format('{0}-operators', parameters('namePrefix')))))]",
    );
  });
});
