import { createHash } from 'node:crypto';
import type { ActivityEvent } from '../normalize/activityEvent';
import { parseResourceId } from '../normalize/activityEvent';
import type { DetectionRule, Finding } from '../detect/types';
import type { AlertRow } from './columns';

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

export function buildAlert(rule: DetectionRule, event: ActivityEvent, finding: Finding, now: Date): AlertRow {
  const parts = parseResourceId(event.resourceId);
  return {
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
    CaptureKind: finding.kind,
    ResourceId: event.resourceId,
    SubscriptionId: parts.subscriptionId,
    ResourceGroup: parts.resourceGroup,
    ResourceName: parts.resourceName,
    CaptureTarget: finding.captureTarget,
    CaptureStorage: finding.captureStorage,
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
    SmokeTestId: event.smokeTestId ?? '',
  };
}
