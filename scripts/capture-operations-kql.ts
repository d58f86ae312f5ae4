/**
 * The operations that start a capture, as KQL, from the detection rule's own operation patterns:
 * infra/generated/capture-operations.kql, prepended by sentinel.bicep to the hunting queries that read
 * AzureActivity (steps 2 and 3), so that they count exactly what the detector alerts on. `npm run
 * columns:generate` writes it; test/infra fails when it is stale.
 */
import { packetCaptureEnabled } from '../src/detect/rules/packetCaptureEnabled';
import type { DetectionRule } from '../src/detect/types';

/** Repository-relative path of the generated file. */
export const CAPTURE_OPERATIONS_KQL_PATH = 'infra/generated/capture-operations.kql';

export function renderCaptureOperationsKql(rule: DetectionRule = packetCaptureEnabled): string {
  // The rule compares case-insensitively; AzureActivity's OperationNameValue is upper-case or mixed-case.
  const rows = rule.operationPatterns.map((p) => `    "${p.pattern.toLowerCase()}", "${p.kind}"`);
  return [
    // Short: it is deployed inside the analytics rule, whose query Sentinel limits to 10,000 characters.
    `// Generated from ${rule.id}'s patterns (npm run columns:generate). Do not edit.`,
    'let CaptureOperations = datatable(Operation: string, CaptureKind: string) [',
    rows.join(',\n'),
    '];',
    'let StartOperations = toscalar(CaptureOperations | summarize make_list(Operation));',
    '',
  ].join('\n');
}
