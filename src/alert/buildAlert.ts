/*
 * A rule's finding on one event → one row of the alert table. Columns every rule shares come from the event
 * and the rule's metadata; the rule-specific ones (`ruleAttribute` in the column contract) from the finding.
 */
import { createHash } from 'node:crypto';
import { redactSecrets, redactText } from '../lib/redact';
import type { ActivityEvent, Phase } from '../normalize/activityEvent';
import { parseResourceId } from '../normalize/activityEvent';
import type { DetectionRule, Finding } from '../detect/types';
import {
  ALERT_COLUMNS,
  RULE_ATTRIBUTE_COLUMNS,
  type AlertRow,
  type RuleAttributeColumnName,
} from './columns';

/** ISO 8601 UTC for a logged time; a time without a zone is UTC (Azure logs in UTC). '' when unparseable. */
export function toIsoUtc(time: string): string {
  const trimmed = time.trim();
  if (trimmed === '') return '';
  const zoned = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(trimmed) ? `${trimmed}Z` : trimmed;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}

/**
 * Same record, same id: Event Hubs delivers at least once and the analytics rule deduplicates on AlertId.
 * The identity is what distinguishes one logged operation from another, normalized so that letter case
 * and time precision differences between export shapes do not split one record into two ids.
 */
export function alertIdFor(rule: DetectionRule, event: ActivityEvent): string {
  const identity = [
    rule.id,
    event.correlationId.toLowerCase(),
    event.operationName.toUpperCase(),
    event.resultType.toLowerCase(),
    event.resourceId.toLowerCase(),
    toIsoUtc(event.time) || event.time,
    // A smoke test's record never shares an id with a real one, so it cannot stand in for it in a dedup.
    ...(event.smokeTestId === undefined ? [] : ['smoke-test', event.smokeTestId]),
  ].join('\n');
  return createHash('sha256').update(identity).digest('hex').slice(0, 32);
}

/** Why a finding that says nothing of its severity has the rule's default one: the rule's own rationale. */
export function defaultSeverityReason(rule: DetectionRule): string {
  const declared = rule.severityRationale.find((r) => r.severity === rule.severity)?.when;
  return `The rule's default severity${declared === undefined ? '' : `: ${declared}`}`;
}

/** What the lifecycle join adds to a row (pipeline/lifecycle.ts). */
export interface RowState {
  /** The operation's records the row was built from (default: the firing record alone). */
  readonly records?: Iterable<Phase>;
  /** The row is kept, but must raise no incident, for this reason. */
  readonly suppression?: string;
}

/** The revision of a row that withdraws an alert: above every record-count revision. */
export const RETRACTED_REVISION = 10;

const RECORD_NAMES: readonly [Phase, string][] = [
  ['start', 'Start'],
  ['accept', 'Accept'],
  ['success', 'Success'],
];

export function buildAlert(
  rule: DetectionRule,
  event: ActivityEvent,
  finding: Finding,
  now: Date,
  state: RowState = {},
): AlertRow {
  const parts = parseResourceId(event.resourceId);
  const seen = new Set<Phase>(state.records ?? [event.phase]);
  seen.add(event.phase);
  const records = RECORD_NAMES.filter(([phase]) => seen.has(phase)).map(([, name]) => name);
  const attributes = Object.fromEntries(
    RULE_ATTRIBUTE_COLUMNS.map((name) => [name, finding.attributes[name] ?? '']),
  ) as Record<RuleAttributeColumnName, string>;
  const row: AlertRow = {
    TimeGenerated: now.toISOString(),
    EventTime: toIsoUtc(event.time),
    AlertId: alertIdFor(rule, event),
    RuleId: rule.id,
    RuleVersion: rule.version,
    AlertTitle: rule.title(event, finding),
    AlertSummary: finding.summary ?? rule.title(event, finding),
    Severity: finding.severity?.level ?? rule.severity,
    SeverityReason: finding.severity?.reason ?? defaultSeverityReason(rule),
    Tactics: rule.tactics.map((t) => t.sentinelName).join(','),
    Techniques: rule.techniques.map((t) => t.id).join(','),
    OperationName: event.operationName,
    ResultType: event.resultType,
    ...attributes,
    ResourceId: event.resourceId,
    SubscriptionId: parts.subscriptionId || event.subscriptionId,
    ResourceGroup: parts.resourceGroup || event.resourceGroup,
    ResourceName: parts.resourceName,
    Location: finding.location?.value ?? event.location,
    LocationSource: finding.location?.source ?? (event.location === '' ? 'unknown' : 'record'),
    CallerIpAddress: event.callerIpAddress,
    Caller: event.caller,
    CallerKind: event.callerKind,
    CallerObjectId: event.callerObjectId,
    CallerAppId: event.callerAppId,
    // Unknown until triage reads the caller's history (src/triage/history.ts).
    CallerPriorCaptures: -1,
    CallerIpPriorCaptures: -1,
    CallerLastPriorCapture: '',
    CorrelationId: event.correlationId,
    AadTenantId: event.tenantId,
    Category: event.category,
    SourceFormat: event.sourceFormat,
    OperationRecords: records.join(', '),
    AlertRevision: state.suppression === undefined ? Math.max(1, records.length) : RETRACTED_REVISION,
    Suppressed: state.suppression !== undefined,
    SuppressionReason: state.suppression ?? '',
    Runbook: rule.runbook,
    Context: rule.alertContext(event, finding),
    SmokeTestId: event.smokeTestId ?? '',
  };
  // Keys in contract order, so every output (stdout, dead letters) lists columns as the table does.
  return redactAlertRow(Object.fromEntries(ALERT_COLUMNS.map((c) => [c.name, row[c.name]])) as AlertRow);
}

/**
 * Every column of a row with secrets masked, not only `Context`: a record's resourceId, caller, operation
 * name or location can carry a SAS or a token as well (src/lib/redact.ts lists the forms). The AlertId is
 * computed from the record before this, so redaction never changes it.
 */
export function redactAlertRow(row: AlertRow): AlertRow {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    out[name] = typeof value === 'string' ? redactText(value) : redactSecrets(value);
  }
  return out as AlertRow;
}
