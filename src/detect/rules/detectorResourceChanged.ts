/*
 * The detector's own resources stopped, deleted or reconfigured, inside the protected scope: the Function App
 * (stop, delete, configuration and app settings, publishing), its plan, identity and role assignments, the
 * data collection rule, the alert and health tables and the workspace (delete, retention, purge), the
 * Sentinel analytics and automation rules, the storage account that holds dead letters and the lifecycle
 * join's state, Application Insights and the operator alert rules. Each is a way to make the detector stop
 * seeing, stop writing, or have its alerts closed unseen (MITRE T1562.001, disable or modify tools; T1562.008
 * for the logs). Operation names from the Azure permissions lists of each provider; only successful
 * operations alert, and no pattern is a read.
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

const p = (pattern: string, kind: string, description: string): IntegrityPattern => ({
  pattern,
  kind,
  documented: true,
  description,
});

const PATTERNS: readonly IntegrityPattern[] = [
  p('MICROSOFT.WEB/SITES/STOP/ACTION', 'FunctionApp', 'Stop the Function App'),
  p('MICROSOFT.WEB/SITES/DELETE', 'FunctionApp', 'Delete the Function App'),
  p(
    'MICROSOFT.WEB/SITES/WRITE',
    'FunctionApp',
    'Update the Function App (enabled state, identity, runtime, scale)',
  ),
  p('MICROSOFT.WEB/SITES/CONFIG/WRITE', 'FunctionApp', 'Update the app settings or site configuration'),
  p('MICROSOFT.WEB/SITES/CONFIG/DELETE', 'FunctionApp', 'Delete a configuration of the Function App'),
  p(
    'MICROSOFT.WEB/SITES/BASICPUBLISHINGCREDENTIALSPOLICIES/WRITE',
    'FunctionApp',
    'Allow or forbid publishing with basic credentials (a way to replace the code)',
  ),
  p('MICROSOFT.WEB/SITES/FUNCTIONS/DELETE', 'FunctionApp', 'Delete a function of the app'),
  p('MICROSOFT.WEB/SERVERFARMS/DELETE', 'FunctionPlan', 'Delete the Flex Consumption plan'),
  p('MICROSOFT.MANAGEDIDENTITY/USERASSIGNEDIDENTITIES/DELETE', 'Identity', "Delete the detector's identity"),
  p(
    'MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/DELETE',
    'RoleAssignment',
    "Remove a role assignment (the detector's access to the hub, the DCR or storage)",
  ),
  p('MICROSOFT.INSIGHTS/DATACOLLECTIONRULES/WRITE', 'DataCollectionRule', 'Change the data collection rule'),
  p('MICROSOFT.INSIGHTS/DATACOLLECTIONRULES/DELETE', 'DataCollectionRule', 'Delete the data collection rule'),
  p(
    'MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/TABLES/WRITE',
    'WorkspaceTable',
    'Change a table of the workspace (schema, plan, retention)',
  ),
  p(
    'MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/TABLES/DELETE',
    'WorkspaceTable',
    'Delete a table of the workspace (also matches deleting its data, tables/deleteData/action)',
  ),
  p('MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/PURGE/ACTION', 'Workspace', 'Purge data from the workspace'),
  p(
    'MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/WRITE',
    'Workspace',
    'Change the workspace (retention, daily cap, access)',
  ),
  p('MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/DELETE', 'Workspace', 'Delete the workspace'),
  p(
    'MICROSOFT.SECURITYINSIGHTS/ALERTRULES/WRITE',
    'AnalyticsRule',
    'Change or disable a Sentinel analytics rule',
  ),
  p('MICROSOFT.SECURITYINSIGHTS/ALERTRULES/DELETE', 'AnalyticsRule', 'Delete a Sentinel analytics rule'),
  p(
    'MICROSOFT.SECURITYINSIGHTS/AUTOMATIONRULES/WRITE',
    'AutomationRule',
    'Create or change a Sentinel automation rule (it can close incidents as they are raised)',
  ),
  p(
    'MICROSOFT.SECURITYINSIGHTS/ONBOARDINGSTATES/DELETE',
    'Sentinel',
    'Remove Microsoft Sentinel from the workspace',
  ),
  p(
    'MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE',
    'Storage',
    'Delete the storage account (dead letters, state, host)',
  ),
  p(
    'MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE',
    'Storage',
    'Change the storage account (shared keys, network access)',
  ),
  p(
    'MICROSOFT.STORAGE/STORAGEACCOUNTS/BLOBSERVICES/WRITE',
    'Storage',
    'Change the blob service (soft delete of dead letters)',
  ),
  p(
    'MICROSOFT.STORAGE/STORAGEACCOUNTS/BLOBSERVICES/CONTAINERS/DELETE',
    'Storage',
    'Delete a container (the dead letters, the deployment package)',
  ),
  p(
    'MICROSOFT.STORAGE/STORAGEACCOUNTS/MANAGEMENTPOLICIES/WRITE',
    'Storage',
    'Set a lifecycle policy (it can delete dead letters)',
  ),
  p(
    'MICROSOFT.INSIGHTS/COMPONENTS/DELETE',
    'ApplicationInsights',
    "Delete the detector's Application Insights",
  ),
  p(
    'MICROSOFT.INSIGHTS/SCHEDULEDQUERYRULES/WRITE',
    'OperatorAlertRule',
    'Change or disable an operator or health alert rule',
  ),
  p(
    'MICROSOFT.INSIGHTS/SCHEDULEDQUERYRULES/DELETE',
    'OperatorAlertRule',
    'Delete an operator or health alert rule',
  ),
  p('MICROSOFT.INSIGHTS/ACTIONGROUPS/WRITE', 'ActionGroup', 'Change who operator alerts notify'),
  p('MICROSOFT.INSIGHTS/ACTIONGROUPS/DELETE', 'ActionGroup', 'Delete the operator action group'),
];

const SCOPE: ResourceScope = { kind: 'protected' };

const CHANGE_TITLES: Readonly<Record<string, string>> = {
  Stopped: 'stopped',
  Deleted: 'deleted',
  Written: 'reconfigured',
  DataPurged: 'purged',
};

export const detectorResourceChanged: DetectionRule = {
  id: `${INTEGRITY_RULE_ID_PREFIX}DetectorResourceChanged`,
  version: '1.0.0',
  displayName: 'Packet Capture Detector Resource Stopped, Deleted or Reconfigured',
  description:
    "Detects, inside the detector's protected scope (PROTECTED_RESOURCE_IDS: its resource group and its workspace), the detector's own resources being stopped, deleted or reconfigured: the Function App and its plan, identity and role assignments, the data collection rule, the workspace and its tables, the Sentinel analytics and automation rules, the storage account holding dead letters and state, Application Insights and the operator alert rules. An adversary who silences the detector before acting leaves the security team trusting a quiet that means nothing.",
  severity: 'High',
  severityRationale: [
    {
      severity: 'High',
      when: 'Always: a detector resource stopped, deleted or reconfigured can blind it or hide its alerts, whoever did it',
    },
  ],
  tactics: [{ id: 'TA0005', name: 'Defense Evasion', sentinelName: 'DefenseEvasion' }],
  techniques: [
    { id: 'T1562.001', name: 'Impair Defenses: Disable or Modify Tools' },
    { id: 'T1562.008', name: 'Impair Defenses: Disable or Modify Cloud Logs' },
  ],
  tags: ['Defense Evasion', 'Impair Defenses', 'Detector Integrity'],
  runbook: [
    '1. Identify the caller (Caller, CallerKind, CallerIpAddress), the resource (ResourceId, IntegrityTarget) and the change (IntegrityChange). A deployment of the detector (azd provision / azd deploy) writes most of these resources: the caller is then the deploying principal and a Microsoft.Resources/deployments/write runs at the same time.',
    '2. Unplanned: restore the intended state by redeploying (azd provision, then azd deploy for the code); a stopped app: `az functionapp start -g <ResourceGroup> -n <app>`. Remove access the caller should not have.',
    '3. Check what the detector missed: health rows (PacketCaptureDetectorHealth_CL) and the silence rule show the gap; review capture operations in that window in AzureActivity or with `az monitor activity-log list`, and replay dead letters once delivery works (`npx packet-capture-detector replay-dead-letters`).',
    '4. Analytics or automation rule changed: compare the rule with infra/queries/analytics-rule.kql and check recent incidents closed by automation.',
  ].join('\n'),
  references: [
    'https://attack.mitre.org/techniques/T1562/001/',
    'https://attack.mitre.org/techniques/T1562/008/',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/web-and-mobile#microsoftweb',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/monitor',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftsecurityinsights',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/storage#microsoftstorage',
  ],
  summaryAttributes: ['resourceId', 'caller', 'callerIpAddress', 'correlationId'],
  falsePositives: [
    'Deployments of the detector itself: every `azd provision` writes the app, its settings, the DCR, the tables, the analytics rule, the storage account and the alert rules (the caller is the deploying principal).',
    "A shared Sentinel workspace: changes to other teams' analytics or automation rules in the same workspace alert too. Protect the detector's own rule and table ids instead of the whole workspace if that is too noisy.",
    'Removal of the deployment (azd down) deletes everything at once.',
  ],
  operationPatterns: PATTERNS,
  attributeColumns: INTEGRITY_ATTRIBUTE_COLUMNS,
  resourceScope: SCOPE,

  evaluate(event, _details, context) {
    return integrityFinding(PATTERNS, SCOPE, event, context);
  },

  title(event, finding) {
    const change = finding?.attributes.IntegrityChange ?? '';
    const what = finding?.kind ?? 'resource';
    return `Detector ${what} ${CHANGE_TITLES[change] ?? change}: ${resourceName(event)}`;
  },

  alertContext(event, finding) {
    return integrityContext(event, finding);
  },
};
