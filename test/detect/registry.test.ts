import fc from 'fast-check';
import { RULE_ATTRIBUTE_COLUMNS } from '../../src/alert/columns';
import { RULE_KINDS } from '../../src/detect/kinds';
import { RULES } from '../../src/detect/registry';
import { inResourceScope } from '../../src/detect/scope';
import type { ActivityEvent } from '../../src/normalize/activityEvent';
import { normalizeRecord } from '../../src/normalize/normalize';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { FIXTURE_CONTEXT, FIXTURES_BY_RULE } from './fixtureIndex';

const SEVERITIES = ['Informational', 'Low', 'Medium', 'High'];
const SENTINEL_TACTICS = [
  'Reconnaissance',
  'ResourceDevelopment',
  'InitialAccess',
  'Execution',
  'Persistence',
  'PrivilegeEscalation',
  'DefenseEvasion',
  'CredentialAccess',
  'Discovery',
  'LateralMovement',
  'Collection',
  'Exfiltration',
  'CommandAndControl',
  'Impact',
];

it('registers rules with distinct ids', () => {
  expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
});

it("lists every rule's kinds in detect/kinds.ts, as its patterns produce them (the allowlist reads that list)", () => {
  const fromRules = Object.fromEntries(
    RULES.map((r) => [r.id, [...new Set(r.operationPatterns.map((p) => p.kind))].sort()]),
  );
  const listed = Object.fromEntries(Object.entries(RULE_KINDS).map(([id, kinds]) => [id, [...kinds].sort()]));
  expect(listed).toEqual(fromRules);
});

describe.each(RULES.map((r) => [r.id, r] as const))('rule %s', (_id, rule) => {
  it('has complete metadata', () => {
    expect(rule.id).toMatch(/^[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)+$/);
    expect(rule.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(rule.displayName.length).toBeGreaterThan(5);
    expect(rule.description.length).toBeGreaterThan(50);
    expect(SEVERITIES).toContain(rule.severity);
    expect(rule.tactics.length).toBeGreaterThan(0);
    for (const t of rule.tactics) {
      expect(t.id).toMatch(/^TA\d{4}$/);
      expect(SENTINEL_TACTICS).toContain(t.sentinelName);
    }
    expect(rule.techniques.length).toBeGreaterThan(0);
    for (const t of rule.techniques) expect(t.id).toMatch(/^T\d{4}(\.\d{3})?$/);
    expect(rule.runbook.trim().length).toBeGreaterThan(0);
    expect(rule.references.length).toBeGreaterThan(0);
    for (const ref of rule.references) expect(new URL(ref).protocol).toBe('https:');
    expect(rule.falsePositives.length).toBeGreaterThan(0);
    expect(rule.summaryAttributes.length).toBeGreaterThan(0);
  });

  it('declares why it rates its findings as it does: a rationale for every severity, the default among them', () => {
    expect(rule.severityRationale.length).toBeGreaterThan(0);
    const levels = rule.severityRationale.map((r) => r.severity);
    expect(new Set(levels).size).toBe(levels.length);
    expect(levels).toContain(rule.severity);
    for (const r of rule.severityRationale) {
      expect(SEVERITIES).toContain(r.severity);
      expect(r.when.length).toBeGreaterThan(40);
    }
  });

  it('has operation patterns that are upper-case and never contain one another', () => {
    const patterns = rule.operationPatterns.map((p) => p.pattern);
    expect(new Set(patterns).size).toBe(patterns.length);
    for (const p of patterns) {
      expect(p).toBe(p.toUpperCase());
      for (const q of patterns) if (p !== q) expect(q.includes(p)).toBe(false);
    }
  });

  it('fills only alert columns the contract declares as rule attributes', () => {
    for (const c of rule.attributeColumns) expect(RULE_ATTRIBUTE_COLUMNS).toContain(c);
  });

  it('has operation patterns of its own finding kinds', () => {
    for (const p of rule.operationPatterns) expect(p.kind.length).toBeGreaterThan(0);
  });

  const fixtures = FIXTURES_BY_RULE[rule.id] ?? [];

  it('has positive, negative and near-miss fixtures', () => {
    for (const kind of ['positive', 'negative', 'nearMiss'] as const) {
      expect(fixtures.filter((f) => f.kind === kind).length).toBeGreaterThan(0);
    }
    for (const f of fixtures) expect(f.expected).toBe(f.kind === 'positive');
  });

  it('has a positive fixture for every documented operation pattern', () => {
    for (const p of rule.operationPatterns.filter((x) => x.documented)) {
      const hit = fixtures.some((f) => {
        const op = f.log.operationName;
        return f.kind === 'positive' && typeof op === 'string' && op.toUpperCase().includes(p.pattern);
      });
      expect({ pattern: p.pattern, hasPositive: hit }).toEqual({ pattern: p.pattern, hasPositive: true });
    }
  });

  it('has a positive fixture for every severity its rationale declares', () => {
    for (const { severity } of rule.severityRationale) {
      const hit = fixtures.some((f) => f.kind === 'positive' && f.expectedSeverity === severity);
      expect({ severity, hasFixture: hit }).toEqual({ severity, hasFixture: true });
    }
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('fixture: %s', (_name, fixture) => {
    const normalized = normalizeRecord(fixture.log);
    if (!normalized.ok) throw normalized.error;
    const finding = rule.evaluate(normalized.event, undefined, FIXTURE_CONTEXT);
    expect(finding !== undefined).toBe(fixture.expected);
    if (fixture.expectedKind) expect(finding?.kind).toBe(fixture.expectedKind);
    if (finding) {
      for (const key of Object.keys(finding.attributes)) expect(rule.attributeColumns).toContain(key);
      expect(rule.operationPatterns.map((p) => p.pattern)).toContain(finding.pattern);
      // Every finding's severity is one the rationale declares, and a changed severity says why.
      const level = finding.severity?.level ?? rule.severity;
      expect(rule.severityRationale.map((r) => r.severity)).toContain(level);
      if (finding.severity) expect(finding.severity.reason.length).toBeGreaterThan(20);
      if (fixture.expectedSeverity) expect(level).toBe(fixture.expectedSeverity);
    }
  });
});

/** An event of a successful operation on a resource; everything else empty. */
function successEvent(operationName: string, resourceId: string): ActivityEvent {
  return {
    sourceFormat: 'DiagnosticExport',
    time: '2026-01-12T09:41:07Z',
    operationName,
    resultType: 'Success',
    phase: 'success',
    resourceId,
    category: 'Administrative',
    callerIpAddress: '',
    correlationId: 'c',
    location: '',
    tenantId: '',
    level: '',
    caller: '',
    callerKind: 'Unknown',
    callerObjectId: '',
    callerAppId: '',
    callerResourceId: '',
    subscriptionId: '',
    resourceGroup: '',
    properties: undefined,
    droppedFields: [],
  };
}

describe('every rule', () => {
  const positives = Object.entries(FIXTURES_BY_RULE).flatMap(([id, fixtures]) =>
    fixtures.filter((f) => f.kind === 'positive').map((f) => [`${id}: ${f.name}`, id, f] as const),
  );

  it.each(positives)('alerts once, under its own rule id, through the pipeline: %s', (_name, id, f) => {
    const body = Buffer.from(JSON.stringify({ records: [f.log] }));
    const result = detectBatch([body], () => ({}), { context: FIXTURE_CONTEXT });
    expect(result.alerts.map((a) => a.RuleId)).toEqual([id]);
    expect(result.malformed).toEqual([]);
  });

  it('never fires on a read of what it watches, in scope or not', () => {
    for (const rule of RULES) {
      for (const p of rule.operationPatterns) {
        const read = p.pattern.replace(/\/(WRITE|DELETE|[A-Z]+\/ACTION)$/, '/READ');
        const inside = `${FIXTURE_CONTEXT.protectedResourceIds[0] ?? ''}/providers/x/y/z`;
        for (const resourceId of [
          inside,
          '/subscriptions/s/providers/Microsoft.Insights/diagnosticSettings/d',
        ]) {
          for (const r of RULES) {
            expect([
              r.id,
              read,
              r.evaluate(successEvent(read, resourceId), undefined, FIXTURE_CONTEXT),
            ]).toEqual([r.id, read, undefined]);
          }
        }
      }
    }
  });

  const scoped = RULES.filter((r) => r.resourceScope !== undefined);
  it.each(scoped.map((r) => [r.id, r] as const))(
    '%s never fires on a resource outside its scope (property-based)',
    (_id, rule) => {
      const scope = rule.resourceScope!;
      const inside = FIXTURE_CONTEXT.protectedResourceIds.map((id) => id.trim());
      const resourceId = fc.oneof(
        fc.string({ maxLength: 60 }),
        fc
          .constantFrom(...inside)
          .chain((id) =>
            fc
              .tuple(fc.constantFrom('', '2', '-x', 'X', ' x'), fc.string({ maxLength: 20 }))
              .map(([tail, rest]) => `${id}${tail}${rest}`),
          ),
        fc.constantFrom(...inside).map((id) => id.replace(/\/[^/]+$/, '/other')),
        fc
          .tuple(fc.constantFrom('s1', '00000000-0000-0000-0000-0000000000aa'), fc.string({ maxLength: 20 }))
          .map(
            ([sub, name]) =>
              `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Insights/diagnosticSettings/${name}`,
          ),
        fc
          .string({ maxLength: 20 })
          .map((n) => `/subscriptions/s/providers/Microsoft.Insights/diagnosticSettings/${n}/x`),
      );
      fc.assert(
        fc.property(
          fc.constantFrom(...rule.operationPatterns.map((p) => p.pattern)),
          resourceId,
          (op, rid) => {
            const event = successEvent(op, rid);
            fc.pre(!inResourceScope(scope, event, FIXTURE_CONTEXT));
            expect(rule.evaluate(event, undefined, FIXTURE_CONTEXT)).toBeUndefined();
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  it('rules with a protected scope fire on nothing when nothing is protected', () => {
    for (const rule of scoped.filter((r) => r.resourceScope?.kind === 'protected')) {
      for (const f of FIXTURES_BY_RULE[rule.id] ?? []) {
        const normalized = normalizeRecord(f.log);
        if (normalized.ok) expect(rule.evaluate(normalized.event)).toBeUndefined();
      }
    }
  });
});
