/*
 * What the detector-integrity rules share: operation patterns tagged with the part of the pipeline they touch,
 * the change an operation makes (from its verb), the resource's name, and the alert context. Each rule stays a
 * module of its own (metadata, patterns, scope, title); only the mechanics live here.
 */
import { parseResourceId, type ActivityEvent } from '../../normalize/activityEvent';
import { alertContext } from '../context';
import { inResourceScope, normalizeProtectedId, protectedPrefixOf } from '../scope';
import type { Finding, OperationPattern, ResourceScope, RuleContext } from '../types';

/** The alert columns the integrity rules fill (declared in alert/columns.ts). */
export const INTEGRITY_ATTRIBUTE_COLUMNS = ['IntegrityTarget', 'IntegrityChange', 'ProtectedScope'] as const;
type IntegrityAttributes = Record<(typeof INTEGRITY_ATTRIBUTE_COLUMNS)[number], string>;

/** Every integrity rule id starts with this; the Sentinel rules split the alert table on it. */
export const INTEGRITY_RULE_ID_PREFIX = 'Azure.MonitorActivity.DetectorIntegrity.';

export interface IntegrityPattern extends OperationPattern {
  /** The part of the pipeline the operation acts on (IntegrityTarget). */
  readonly kind: string;
}

/** What an operation does, from its verb: `.../delete` → Deleted, `.../stop/action` → Stopped, ... */
const CHANGES: readonly (readonly [RegExp, string])[] = [
  [/\/DELETE$/, 'Deleted'],
  [/\/WRITE$/, 'Written'],
  [/\/STOP\/ACTION$/, 'Stopped'],
  [/\/LISTKEYS\/ACTION$/, 'KeysListed'],
  [/\/REGENERATEKEYS?\/ACTION$/, 'KeysRegenerated'],
  [/\/PURGE\/ACTION$/, 'DataPurged'],
  [/\/DELETEDATA\/ACTION$/, 'DataDeleted'],
];

export function changeOf(operationName: string): string {
  const upper = operationName.trim().toUpperCase();
  const known = CHANGES.find(([pattern]) => pattern.test(upper));
  if (known) return known[1];
  const segments = upper.split('/').filter((s) => s !== '' && s !== 'ACTION');
  return segments[segments.length - 1]?.toLowerCase() ?? 'changed';
}

export function patternOf<P extends OperationPattern>(
  patterns: readonly P[],
  event: ActivityEvent,
): P | undefined {
  const operation = event.operationName.toUpperCase();
  return patterns.find((p) => operation.includes(p.pattern));
}

/**
 * The finding of an integrity rule: a matching operation, a successful result, a resource inside the rule's
 * scope. Reads, failures and Start/Accept records never match (no pattern is a read; only `success` alerts).
 */
export function integrityFinding(
  patterns: readonly IntegrityPattern[],
  scope: ResourceScope,
  event: ActivityEvent,
  context: RuleContext | undefined,
): Finding | undefined {
  const match = patternOf(patterns, event);
  if (!match || event.phase !== 'success') return undefined;
  if (!inResourceScope(scope, event, context)) return undefined;
  const protectedScope = context ? (protectedPrefixOf(event.resourceId, context) ?? '') : '';
  const attributes: IntegrityAttributes = {
    IntegrityTarget: match.kind,
    IntegrityChange: changeOf(event.operationName),
    ProtectedScope: scope.kind === 'protected' ? configuredId(context, protectedScope) : '',
  };
  return { kind: match.kind, pattern: match.pattern, attributes };
}

/** The protected id as configured (the normalized one is upper-cased; the original reads better). */
function configuredId(context: RuleContext | undefined, normalized: string): string {
  const id = context?.protectedResourceIds.find((i) => normalizeProtectedId(i) === normalized);
  return id === undefined ? normalized : id.trim().replace(/\/+$/, '');
}

/** The resource's own name: the last segment of its id (the setting, the app, the rule's GUID). */
export function resourceName(event: ActivityEvent): string {
  return parseResourceId(event.resourceId).resourceName || event.resourceId || event.correlationId;
}

/** Panther-style context, shared by the integrity rules; rule-specific keys are added by each rule. */
export function integrityContext(event: ActivityEvent, finding: Finding): Record<string, unknown> {
  const parts = parseResourceId(event.resourceId);
  return alertContext(
    event,
    {
      subscription_id: parts.subscriptionId || event.subscriptionId,
      resource_group: parts.resourceGroup || event.resourceGroup,
      resource_name: parts.resourceName,
    },
    {
      integrity_target: finding.kind,
      integrity_change: finding.attributes.IntegrityChange ?? '',
      protected_scope: finding.attributes.ProtectedScope ?? '',
      matched_pattern: finding.pattern,
    },
  );
}
