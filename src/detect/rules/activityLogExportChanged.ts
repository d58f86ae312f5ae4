/*
 * Subscription Activity Log export changed: a subscription diagnostic setting written or deleted. The
 * detector's own input is one such setting, and a setting repointed to another hub or workspace blinds it as
 * surely as a deleted one, so every write and delete of a subscription-level setting alerts, inside the
 * protected scope or not (the setting lives on the subscription, outside any resource group). Settings of
 * individual resources (`<resource>/providers/microsoft.insights/diagnosticSettings/<name>`) share the
 * operation names but not the resource id shape, and do not alert: they are common (policy remediation adds
 * them by the hundred) and do not carry the Activity Log.
 */
import { objectCI, operationBodies, resourceProperties, textCI } from '../../normalize/bodies';
import { redactText } from '../../lib/redact';
import type { ActivityEvent } from '../../normalize/activityEvent';
import type { DetectionRule, ResourceScope } from '../types';
import {
  INTEGRITY_ATTRIBUTE_COLUMNS,
  INTEGRITY_RULE_ID_PREFIX,
  integrityContext,
  integrityFinding,
  resourceName,
  type IntegrityPattern,
} from './integrityCommon';

const PATTERNS: readonly IntegrityPattern[] = [
  {
    pattern: 'MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE',
    kind: 'ActivityLogExport',
    documented: true,
    description:
      'Create or update a diagnostic setting (here: of a subscription, i.e. its Activity Log export)',
  },
  {
    pattern: 'MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE',
    kind: 'ActivityLogExport',
    documented: true,
    description: 'Delete a diagnostic setting (here: of a subscription, i.e. its Activity Log export)',
  },
];

const SCOPE: ResourceScope = {
  kind: 'subscriptionLevel',
  resourceType: 'Microsoft.Insights/diagnosticSettings',
};

/** Where a written setting sends the log, when a body of the record says (ids only: no keys are logged). */
function destinations(event: ActivityEvent): Record<string, string> {
  const { request, response } = operationBodies(event.properties);
  const props = resourceProperties(request ?? response);
  const out: Record<string, string> = {};
  for (const key of [
    'eventHubAuthorizationRuleId',
    'eventHubName',
    'workspaceId',
    'storageAccountId',
    'serviceBusRuleId',
    'marketplacePartnerId',
  ]) {
    const value = textCI(props, key);
    if (value !== '') out[key] = redactText(value.slice(0, 1000));
  }
  const logs = props.logs ?? objectCI(props, 'logs');
  if (Array.isArray(logs)) {
    out.enabledCategories = logs
      .filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null)
      .filter((l) => l.enabled === true || l.enabled === 'true')
      .map((l) => textCI(l, 'category'))
      .filter((c) => c !== '')
      .slice(0, 20)
      .join(', ');
  }
  return out;
}

export const activityLogExportChanged: DetectionRule = {
  id: `${INTEGRITY_RULE_ID_PREFIX}ActivityLogExportChanged`,
  version: '1.0.0',
  displayName: 'Azure Subscription Activity Log Export Changed',
  description:
    'Detects when a subscription diagnostic setting (the Activity Log export) is created, changed or deleted. The detector reads the Activity Log through such a setting: deleting it, or repointing it to another Event Hub, workspace or storage account, leaves the detector blind while everything looks quiet. Disabling or modifying cloud logs is the usual step before the activity an adversary wants unseen, such as starting a packet capture.',
  severity: 'High',
  severityRationale: [
    {
      severity: 'High',
      when: "Always: a subscription's Activity Log export written or deleted can blind the detector for that subscription, whoever did it",
    },
  ],
  tactics: [{ id: 'TA0005', name: 'Defense Evasion', sentinelName: 'DefenseEvasion' }],
  techniques: [{ id: 'T1562.008', name: 'Impair Defenses: Disable or Modify Cloud Logs' }],
  tags: ['Defense Evasion', 'Impair Defenses', 'Detector Integrity'],
  runbook: [
    "1. Identify the caller (Caller, CallerKind, CallerIpAddress) and whether a change was planned: a deployment of the detector writes its own setting (packet-capture-detector-<environment>), the management-group policy's identity writes settings in every subscription it remediates.",
    "2. Compare the setting now with what the detector needs: `az monitor diagnostic-settings subscription list --subscription <SubscriptionId>`. The detector's setting must exist and send the Administrative category to its hub with the export rule; if it was deleted or repointed, restore it by redeploying (azd provision, or az deployment sub create with infra/main.bicep).",
    '3. Check the gap: from the alert\'s EventTime until the setting was restored the detector saw nothing from this subscription. Look for capture operations in that window in AzureActivity (hunting query "Packet capture: captures ... last 6 hours", widened) or with `az monitor activity-log list --subscription <SubscriptionId> --start-time <EventTime>`.',
    '4. Treat an unplanned change as a precursor: review what the same caller did next (packet captures, role assignments, key listings).',
  ].join('\n'),
  references: [
    'https://attack.mitre.org/techniques/T1562/008/',
    'https://learn.microsoft.com/rest/api/monitor/subscription-diagnostic-settings/create-or-update',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor#microsoftinsights',
    'https://learn.microsoft.com/azure/azure-monitor/essentials/activity-log',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/defense_evasion_azure_diagnostic_settings_deletion.toml',
  ],
  summaryAttributes: ['resourceId', 'caller', 'callerIpAddress', 'correlationId'],
  falsePositives: [
    "Deployments of the detector itself: every `azd provision` writes the detector's own setting (the caller is the deploying principal, with a Microsoft.Resources/deployments/write at the same time).",
    "The management-group template's policy remediation, which writes settings in the subscriptions it covers (the caller is the policy assignment's managed identity).",
    'Other teams exporting the Activity Log to their own SIEM or archive (a subscription holds up to five settings): confirm with the owner of the destination.',
  ],
  operationPatterns: PATTERNS,
  attributeColumns: INTEGRITY_ATTRIBUTE_COLUMNS,
  resourceScope: SCOPE,

  evaluate(event, _details, context) {
    return integrityFinding(PATTERNS, SCOPE, event, context);
  },

  title(event, finding) {
    const change = finding?.attributes.IntegrityChange === 'Deleted' ? 'deleted' : 'written';
    const subscription = event.resourceId.split('/')[2] ?? '';
    return `Azure Activity Log export ${change}: ${resourceName(event)} on subscription ${subscription}`;
  },

  alertContext(event, finding) {
    const setting = destinations(event);
    return {
      ...integrityContext(event, finding),
      setting_name: resourceName(event),
      ...(Object.keys(setting).length > 0 ? { setting } : {}),
    };
  },
};
