/*
 * Where on Azure's resource tree a finding can be: inside the deployment's protected scope
 * (PROTECTED_RESOURCE_IDS: the detector's resource group, its workspace), or at the level of a subscription.
 * The rules and the byte prefilter both use these predicates, so what the prefilter assumes about a rule's
 * resource ids is what the rule tests.
 *
 * Comparisons upper-case both sides with `toUpperCase` (the rules' own case rule): Azure treats resource ids
 * case-insensitively, and the export often upper-cases them whole. The subscription-level test is stricter
 * and ASCII-only (a regular expression with `i` and without `u`), since its fixed words are ASCII.
 */
import type { ResourceScope, RuleContext } from './types';
import type { ActivityEvent } from '../normalize/activityEvent';

export const EMPTY_RULE_CONTEXT: RuleContext = { protectedResourceIds: [] };

/** A configured id as compared: trimmed, without trailing slashes, upper-cased; '' when it names nothing. */
export function normalizeProtectedId(id: string): string {
  return id.trim().replace(/\/+$/, '').toUpperCase();
}

const prefixCache = new WeakMap<RuleContext, readonly string[]>();

/** The context's protected ids, normalized, duplicates and empty ones dropped, in the order given. */
export function protectedPrefixes(context: RuleContext): readonly string[] {
  let prefixes = prefixCache.get(context);
  if (!prefixes) {
    prefixes = [...new Set(context.protectedResourceIds.map(normalizeProtectedId))].filter((p) => p !== '');
    prefixCache.set(context, prefixes);
  }
  return prefixes;
}

/** The protected id the resource lies in (equal to it, or below it on a segment boundary), if any. */
export function protectedPrefixOf(resourceId: string, context: RuleContext): string | undefined {
  const id = resourceId.trim().toUpperCase();
  if (id === '') return undefined;
  return protectedPrefixes(context).find(
    (p) => id.startsWith(p) && (id.length === p.length || id.charCodeAt(p.length) === 0x2f),
  );
}

export function inProtectedScope(resourceId: string, context: RuleContext): boolean {
  return protectedPrefixOf(resourceId, context) !== undefined;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const subscriptionLevelCache = new Map<string, RegExp>();

/** `/subscriptions/<id>/providers/<resourceType>/<name>`, ASCII case-insensitively, nothing below it. */
export function subscriptionLevelPattern(resourceType: string): RegExp {
  let pattern = subscriptionLevelCache.get(resourceType);
  if (!pattern) {
    pattern = new RegExp(`^/subscriptions/[^/]+/providers/${escapeRegex(resourceType)}/[^/]+$`, 'i');
    subscriptionLevelCache.set(resourceType, pattern);
  }
  return pattern;
}

/**
 * What precedes the first `typeChars` characters of the type in a subscription-level id of that type, as a
 * pattern over the id's raw text (leading white space allowed: the rules test the trimmed id). The prefilter
 * uses it to tell, at an occurrence of the type's name in a body, a subscription-level id from a resource's.
 */
export function subscriptionLevelPrefixPattern(resourceType: string, typeChars: number): RegExp {
  return new RegExp(
    `^\\s*/subscriptions/[^/]+/providers/${escapeRegex(resourceType.slice(0, typeChars))}$`,
    'i',
  );
}

export function isSubscriptionLevel(resourceId: string, resourceType: string): boolean {
  return subscriptionLevelPattern(resourceType).test(resourceId.trim());
}

/** Whether the event's resource is where a rule with this scope may fire. */
export function inResourceScope(
  scope: ResourceScope,
  event: ActivityEvent,
  context: RuleContext = EMPTY_RULE_CONTEXT,
): boolean {
  return scope.kind === 'protected'
    ? inProtectedScope(event.resourceId, context)
    : isSubscriptionLevel(event.resourceId, scope.resourceType);
}
