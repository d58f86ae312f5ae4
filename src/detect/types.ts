import type { ActivityEvent } from '../normalize/activityEvent';

export type Severity = 'Informational' | 'Low' | 'Medium' | 'High';

export type CaptureKind =
  | 'NetworkWatcher'
  | 'VirtualNetworkGateway'
  | 'GatewayConnection'
  | 'VpnGateway'
  | 'VpnConnection'
  | 'AzureFirewall'
  | 'VirtualNetworkTap'
  | 'NetworkInterfaceTap';

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
  readonly kind: CaptureKind;
  /** False for the seed's two patterns that are not documented Azure operations (kept for compatibility). */
  readonly documented: boolean;
  readonly description: string;
}

/** What a match adds beyond the event: which capture, and what the request body says about it. */
export interface Finding {
  readonly kind: CaptureKind;
  readonly pattern: string;
  readonly captureTarget: string;
  readonly captureStorage: string;
}

export interface RuleFixture {
  readonly name: string;
  readonly expected: boolean;
  /** positive: must alert; negative: unrelated or not a start; nearMiss: looks like a match but is not. */
  readonly kind: 'positive' | 'negative' | 'nearMiss';
  readonly log: Readonly<Record<string, unknown>>;
  readonly expectedKind?: CaptureKind;
}

export interface DetectionRule {
  readonly id: string;
  readonly version: string;
  readonly displayName: string;
  readonly description: string;
  readonly severity: Severity;
  readonly tactics: readonly MitreTactic[];
  readonly techniques: readonly MitreTechnique[];
  readonly tags: readonly string[];
  readonly runbook: string;
  readonly references: readonly string[];
  readonly summaryAttributes: readonly string[];
  readonly falsePositives: readonly string[];
  /** Every operation that can make this rule fire; the byte prefilter is derived from these. */
  readonly operationPatterns: readonly OperationPattern[];
  evaluate(event: ActivityEvent): Finding | undefined;
  title(event: ActivityEvent): string;
  alertContext(event: ActivityEvent, finding: Finding): Record<string, unknown>;
}
