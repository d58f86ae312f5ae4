/*
 * A rule's finding on one event → one row of the alert table. Columns every rule shares come from the event
 * and the rule's metadata; the rule-specific ones (`ruleAttribute` in the column contract) from the finding.
 */
import { createHash } from 'node:crypto';
import { redactSecrets, redactText } from '../lib/redact';
import type { ActivityEvent } from '../normalize/activityEvent';
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
  ].join('\n');
  return createHash('sha256').update(identity).digest('hex').slice(0, 32);
}

export function buildAlert(rule: DetectionRule, event: ActivityEvent, finding: Finding, now: Date): AlertRow {
  const parts = parseResourceId(event.resourceId);
  const attributes = Object.fromEntries(
    RULE_ATTRIBUTE_COLUMNS.map((name) => [name, finding.attributes[name] ?? '']),
  ) as Record<RuleAttributeColumnName, string>;
  const row: AlertRow = {
    TimeGenerated: now.toISOString(),
    EventTime: toIsoUtc(event.time),
    AlertId: alertIdFor(rule, event),
    RuleId: rule.id,
    RuleVersion: rule.version,
    AlertTitle: rule.title(event),
    Severity: rule.severity,
    Tactics: rule.tactics.map((t) => t.sentinelName).join(','),
    Techniques: rule.techniques.map((t) => t.id).join(','),
    OperationName: event.operationName,
    ResultType: event.resultType,
    ...attributes,
    ResourceId: event.resourceId,
    SubscriptionId: parts.subscriptionId,
    ResourceGroup: parts.resourceGroup,
    ResourceName: parts.resourceName,
    Location: event.location,
    CallerIpAddress: event.callerIpAddress,
    Caller: event.caller,
    CallerObjectId: event.callerObjectId,
    CorrelationId: event.correlationId,
    AadTenantId: event.tenantId,
    Category: event.category,
    SourceFormat: event.sourceFormat,
    Runbook: rule.runbook,
    Context: rule.alertContext(event, finding),
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
