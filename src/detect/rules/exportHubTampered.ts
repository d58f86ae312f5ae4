/*
 * The export's Event Hubs namespace tampered with, inside the protected scope: keys of an authorization rule
 * listed or regenerated (a key lets its holder write forged Activity Log records into the hub, or, with
 * Listen, read and drain it), an authorization rule written (its rights or keys can be changed that way), the
 * namespace, the hub or the detector's consumer group deleted (the detector stops receiving at once).
 * Operation names from the Microsoft.EventHub permissions list; only successful operations alert, and no
 * pattern is a read.
 */
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
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION',
    kind: 'NamespaceAuthorizationRule',
    documented: true,
    description: 'Get the connection string (keys) of a namespace authorization rule',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/REGENERATEKEYS/ACTION',
    kind: 'NamespaceAuthorizationRule',
    documented: true,
    description: 'Regenerate the primary or secondary key of a namespace authorization rule',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/WRITE',
    kind: 'NamespaceAuthorizationRule',
    documented: true,
    description: 'Create or update a namespace authorization rule (its rights and keys)',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/EVENTHUBS/AUTHORIZATIONRULES/LISTKEYS/ACTION',
    kind: 'EventHubAuthorizationRule',
    documented: true,
    description: 'Get the connection string (keys) of an Event Hub authorization rule',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/EVENTHUBS/AUTHORIZATIONRULES/REGENERATEKEYS/ACTION',
    kind: 'EventHubAuthorizationRule',
    documented: true,
    description: 'Regenerate the primary or secondary key of an Event Hub authorization rule',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/EVENTHUBS/AUTHORIZATIONRULES/WRITE',
    kind: 'EventHubAuthorizationRule',
    documented: true,
    description: 'Create or update an Event Hub authorization rule',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/DISASTERRECOVERYCONFIGS/AUTHORIZATIONRULES/LISTKEYS/ACTION',
    kind: 'NamespaceAuthorizationRule',
    documented: true,
    description: "Get the keys of the namespace's authorization rules through its disaster recovery alias",
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/DELETE',
    kind: 'EventHubsNamespace',
    documented: true,
    description: 'Delete the namespace (and every hub in it)',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/EVENTHUBS/DELETE',
    kind: 'EventHub',
    documented: true,
    description: 'Delete an Event Hub',
  },
  {
    pattern: 'MICROSOFT.EVENTHUB/NAMESPACES/EVENTHUBS/CONSUMERGROUPS/DELETE',
    kind: 'ConsumerGroup',
    documented: true,
    description: "Delete a consumer group (the detector's own: it stops reading)",
  },
];

const SCOPE: ResourceScope = { kind: 'protected' };

const TITLES: Readonly<Record<string, string>> = {
  KeysListed: 'keys listed',
  KeysRegenerated: 'keys regenerated',
  Written: 'changed',
  Deleted: 'deleted',
};

export const exportHubTampered: DetectionRule = {
  id: `${INTEGRITY_RULE_ID_PREFIX}ExportHubTampered`,
  version: '1.0.0',
  displayName: 'Detector Event Hubs Keys Read or Hub Deleted',
  description:
    "Detects, inside the detector's protected scope (PROTECTED_RESOURCE_IDS), the keys of an Event Hubs authorization rule being listed or regenerated, an authorization rule being changed, and the namespace, the hub or a consumer group being deleted. The Activity Log export authenticates with such a key: whoever reads it can write forged records into the detector's hub (or, with Listen rights, read and drain it), and a deleted hub or consumer group stops the detector at once.",
  severity: 'High',
  severityRationale: [
    {
      severity: 'High',
      when: "Always: the export hub's keys read or regenerated, or the hub deleted, lets someone forge or cut off the detector's input",
    },
  ],
  tactics: [
    { id: 'TA0006', name: 'Credential Access', sentinelName: 'CredentialAccess' },
    { id: 'TA0005', name: 'Defense Evasion', sentinelName: 'DefenseEvasion' },
  ],
  techniques: [
    { id: 'T1552', name: 'Unsecured Credentials' },
    { id: 'T1562.008', name: 'Impair Defenses: Disable or Modify Cloud Logs' },
  ],
  tags: ['Credential Access', 'Defense Evasion', 'Detector Integrity'],
  runbook: [
    "1. Identify the caller (Caller, CallerKind, CallerIpAddress) and the rule or resource (ResourceId). Azure Monitor lists the export rule's key itself, with the permission of whoever creates the diagnostic setting: a listkeys by the deploying principal or the management-group policy identity at the time a setting was written is expected.",
    '2. Keys listed or an authorization rule changed without a matching deployment: rotate the key at once (`az eventhubs namespace authorization-rule keys renew -g <ResourceGroup> --namespace-name <namespace> -n <rule> --key PrimaryKey`, then SecondaryKey) and check that the rule still has Send only (`az eventhubs namespace authorization-rule show ...`).',
    '3. Namespace, hub or consumer group deleted: the detector receives nothing from now on. Redeploy (azd provision) to recreate them; records exported meanwhile are lost from the hub, so review the gap in AzureActivity or with `az monitor activity-log list`.',
    '4. Look for forged input: alerts or health rows for subscriptions that do not exist, or smoke-test markers nobody sent.',
  ].join('\n'),
  references: [
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/analytics#microsofteventhub',
    'https://learn.microsoft.com/azure/event-hubs/authorize-access-shared-access-signature',
    'https://attack.mitre.org/techniques/T1552/',
    'https://attack.mitre.org/techniques/T1562/008/',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/defense_evasion_event_hub_deletion.toml',
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/collection_update_event_hub_auth_rule.toml',
  ],
  summaryAttributes: ['resourceId', 'caller', 'callerIpAddress', 'correlationId'],
  falsePositives: [
    "Creating or updating a diagnostic setting that sends to the hub: Azure Monitor lists the export rule's keys on behalf of the caller (the deploying principal, or the management-group policy identity during remediation).",
    'Deployments of the detector itself (azd provision writes the export rule and the consumer group) and its removal (azd down deletes the namespace).',
    'Key rotation by the owners of the deployment (regenerate keys, as the README describes).',
  ],
  operationPatterns: PATTERNS,
  attributeColumns: INTEGRITY_ATTRIBUTE_COLUMNS,
  resourceScope: SCOPE,

  evaluate(event, _details, context) {
    return integrityFinding(PATTERNS, SCOPE, event, context);
  },

  title(event, finding) {
    const change = finding?.attributes.IntegrityChange ?? '';
    const what = finding?.kind ?? 'EventHubs';
    return `Detector Event Hubs ${what} ${TITLES[change] ?? change}: ${resourceName(event)}`;
  },

  alertContext(event, finding) {
    return integrityContext(event, finding);
  },
};
