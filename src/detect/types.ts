/*
 * The detection contract every rule implements. A rule sees one normalized event and returns a finding or
 * nothing; everything specific to one rule (its kinds, what it reads from request bodies) lives beside the
 * rule under `rules/`, so a new rule is one new file there plus its registry entry.
 */
import type { ActivityEvent } from '../normalize/activityEvent';

export type Severity = 'Informational' | 'Low' | 'Medium' | 'High';

/** One severity a rule's findings can carry, and the evidence that earns it (the rule's metadata). */
export interface SeverityRationale {
  readonly severity: Severity;
  readonly when: string;
}

/** The severity of one finding and why, in words an analyst reads on the alert (`SeverityReason`). */
export interface FindingSeverity {
  readonly level: Severity;
  readonly reason: string;
}

export interface MitreTactic {
  readonly id: string;
  readonly name: string;
  /** The name Microsoft Sentinel uses in `tactics`. */
  readonly sentinelName: string;
}

export interface MitreTechnique {
  readonly id: string;
  readonly name: string;
}

/** One operation the rule matches, upper-cased, tested by containment (the seed's semantics). */
export interface OperationPattern {
  readonly pattern: string;
  /** The finding kind this operation produces, in the rule's own vocabulary. */
  readonly kind: string;
  /** False for patterns that are not documented Azure operations (kept for compatibility). */
  readonly documented: boolean;
  readonly description: string;
}

/**
 * What a match adds beyond the event. `attributes` fill the rule-specific alert columns: every key must be
 * one of the rule's `attributeColumns`, each of which the alert column contract declares (a registry-wide
 * test checks both), so a rule never invents a column the table does not have.
 */
export interface Finding {
  readonly kind: string;
  readonly pattern: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Where the operation ran, when the event's own `location` does not say (or says only `global`). */
  readonly location?: { readonly value: string; readonly source: string };
  /** Which of the operation's records the finding's details came from (`success record`, `request body`, ...). */
  readonly detailSources?: readonly string[];
  /** Details the finding carries for the alert's Context (filters, limits, requested operation, ...). */
  readonly details?: Readonly<Record<string, string>>;
  /**
   * The severity the evidence of this finding earns, with its reason; absent: the rule's default severity
   * (`severity`, reasoned by its entry in `severityRationale`). Never a level the rationale does not declare.
   */
  readonly severity?: FindingSeverity;
  /** What is captured and where it goes, in one line (the incident's name); absent: the alert title. */
  readonly summary?: string;
}

/** Which record of an operation revealed a detail: its request body (Start), its response body (Accept). */
export type DetailSource = 'requestBody' | 'responseBody';

/**
 * What the records of one operation reveal about it beyond the record that makes the rule fire: each detail
 * with where it came from. The success record of a capture usually carries no body; its Start and Accept
 * records, sharing its correlation id, do (pipeline/lifecycle.ts joins them).
 */
export type OperationDetails = Readonly<
  Record<string, { readonly value: string; readonly from: DetailSource }>
>;

export interface RuleFixture {
  readonly name: string;
  readonly expected: boolean;
  /** positive: must alert; negative: unrelated or not a start; nearMiss: looks like a match but is not. */
  readonly kind: 'positive' | 'negative' | 'nearMiss';
  readonly log: Readonly<Record<string, unknown>>;
  readonly expectedKind?: string;
  /** The severity the finding must carry (positive fixtures). */
  readonly expectedSeverity?: Severity;
}

/**
 * What a rule is evaluated with besides the event: the deployment's own facts some rules depend on. The host
 * passes it (from the settings) through the batch runner, so detect/ never reads settings itself.
 */
export interface RuleContext {
  /**
   * Resource, resource-group or subscription ids whose changes the integrity rules watch
   * (PROTECTED_RESOURCE_IDS), as configured; detect/scope.ts compares them.
   */
  readonly protectedResourceIds: readonly string[];
}

/**
 * A condition on the event's resource id that every finding of the rule meets, besides its operation
 * patterns. The byte prefilter relies on it: a rule with a resource scope is prefiltered on needles from the
 * scope rather than from its operation patterns (which may be everywhere: `SITES`, `LISTKEYS`), and the
 * registry-wide test checks that the rule never fires outside it.
 */
export type ResourceScope =
  /** Inside one of the context's protected resource ids (detect/scope.ts `inProtectedScope`). */
  | { readonly kind: 'protected' }
  /** A subscription-level resource of this type: `/subscriptions/<id>/providers/<resourceType>/<name>`. */
  | { readonly kind: 'subscriptionLevel'; readonly resourceType: string };

export interface DetectionRule {
  readonly id: string;
  readonly version: string;
  readonly displayName: string;
  readonly description: string;
  /** The default severity: what a finding carries when its evidence says nothing more (Sentinel's default too). */
  readonly severity: Severity;
  /**
   * Every severity the rule's findings can carry and the evidence for each, the default's included: the
   * rationale an analyst and a reviewer read (README › The detection), and what the registry test checks
   * findings against.
   */
  readonly severityRationale: readonly SeverityRationale[];
  readonly tactics: readonly MitreTactic[];
  readonly techniques: readonly MitreTechnique[];
  readonly tags: readonly string[];
  readonly runbook: string;
  readonly references: readonly string[];
  readonly summaryAttributes: readonly string[];
  readonly falsePositives: readonly string[];
  /** Every operation that can make this rule fire; the byte prefilter is derived from these. */
  readonly operationPatterns: readonly OperationPattern[];
  /** The alert columns this rule's findings fill (declared in the alert column contract). */
  readonly attributeColumns: readonly string[];
  /** Where the rule's findings can be, beyond the operation patterns (absent: anywhere). */
  readonly resourceScope?: ResourceScope;
  /**
   * What this record's bodies reveal about its operation, for any record of an operation the rule matches
   * (whatever its result); undefined when nothing. Rules without it never take part in the lifecycle join.
   */
  collect?(event: ActivityEvent): OperationDetails | undefined;
  /**
   * The finding for this event, or undefined. `details` are what the operation's other records revealed
   * (empty when none are known yet); the event's own record and bodies come first. `context` carries the
   * deployment's protected scope (absent: nothing is protected).
   */
  evaluate(event: ActivityEvent, details?: OperationDetails, context?: RuleContext): Finding | undefined;
  /**
   * Why an event with these details is not a finding although its operation and result match (a firewall
   * Status poll): the lifecycle join puts it on the completing row when an alert was already written
   * before the details arrived.
   */
  whyNot?(event: ActivityEvent, details: OperationDetails): string | undefined;
  /** The alert title; `finding` (when given) may say more than the event (a region from a body). */
  title(event: ActivityEvent, finding?: Finding): string;
  alertContext(event: ActivityEvent, finding: Finding): Record<string, unknown>;
}
