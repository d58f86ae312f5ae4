import type { RuleContext, RuleFixture } from '../../../src/detect/types';

/**
 * Positive, negative and near-miss cases for the detector-integrity rules, written out independently of the
 * rules' pattern tables (so a typo in a pattern fails a test). Records follow the export shape (upper-cased
 * resourceId and operationName, as exports usually write them), with mixed-case and REST variants.
 *
 * Sources of the operation names (read through the search tool's stored copies, MicrosoftDocs/azure-docs
 * `articles/role-based-access-control/permissions/*.md`, ms.date 02/23/2026):
 * - monitor.md (Microsoft.Insights): DiagnosticSettings/Write|Delete ("Create or update / Delete a resource
 *   diagnostic setting"; the same names at subscription scope), DataCollectionRules/Write|Delete,
 *   Components/Delete, ScheduledQueryRules, ActionGroups/Write|Delete; ExtendedDiagnosticSettings (flow logs)
 *   is another operation. Subscription-level setting ids: REST API "Subscription Diagnostic Settings - Create
 *   Or Update", `PUT /subscriptions/{subscriptionId}/providers/microsoft.insights/diagnosticSettings/{name}`.
 * - analytics.md (Microsoft.EventHub): namespaces/authorizationRules/listkeys/action, .../regenerateKeys/action,
 *   .../write, the same under namespaces/eventhubs/authorizationRules, disasterRecoveryConfigs/authorizationRules/
 *   listkeys/action, namespaces/Delete, namespaces/eventhubs/Delete, eventHubs/consumergroups/Delete.
 * - web-and-mobile.md (Microsoft.Web): sites/stop/Action, sites/Delete, sites/Write, sites/config/Write,
 *   sites/config/delete, sites/basicPublishingCredentialsPolicies/Write, sites/functions/delete,
 *   serverfarms/delete; start, restart and config/list are not changes.
 * - security.md (Microsoft.SecurityInsights): alertRules/write|delete, automationRules, onboardingStates.
 * - storage.md (Microsoft.Storage), monitor.md (Microsoft.OperationalInsights: workspaces/write|delete,
 *   tables/write|delete, purge/action; tables/deleteData/action per "Delete data from a Log Analytics table").
 * Elastic's rules for the same operations (defense_evasion_azure_diagnostic_settings_deletion,
 * defense_evasion_event_hub_deletion, collection_update_event_hub_auth_rule) match them upper-cased, with
 * outcome Success.
 */

export const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-pcd-prod`;
/** An existing workspace in another resource group: protected by its own id. */
const WORKSPACE = `/subscriptions/${SUB}/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/log-soc`;
const OTHER_RG = `/subscriptions/${SUB}/resourceGroups/rg-app-prod`;
/** Shares the protected group's name as a prefix, not as a segment: outside the scope. */
const LOOKALIKE_RG = `/subscriptions/${SUB}/resourceGroups/rg-pcd-prod2`;

/** The protected scope the fixtures are evaluated with, as the Bicep sets it (resource group, workspace). */
export const FIXTURE_CONTEXT: RuleContext = { protectedResourceIds: [RG, ` ${WORKSPACE}/ `] };

function log(
  operationName: string,
  resultType: string,
  resourceId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    time: '2026-01-12T09:41:07.1234567Z',
    resourceId: resourceId.toUpperCase(),
    operationName: operationName.toUpperCase(),
    category: 'Administrative',
    resultType,
    resultSignature: resultType === 'Success' ? 'Succeeded.OK' : 'Started.',
    callerIpAddress: '198.51.100.23',
    correlationId: '0fd1c2b3-4a5b-46c7-8d9e-0f1a2b3c4d5e',
    identity: {
      claims: {
        'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'mallory@contoso.example',
        'http://schemas.microsoft.com/identity/claims/objectidentifier':
          '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      },
    },
    level: 'Information',
    location: 'global',
    tenantId: '87654321-4321-4321-4321-111111111111',
    ...extra,
  };
}

interface Case {
  readonly operation: string;
  readonly kind: string;
  readonly resourceId: string;
}

/** Every result a positive alerts on, in the casings exports and the REST API write. */
const SUCCESSES = ['Success', 'Succeeded', 'success'];
/** Records of the same operation that must not alert. */
const NOT_SUCCESS = ['Start', 'Accept', 'Failure', 'Failed'];

function casesFor(ruleName: string, c: Case, outside: readonly string[]): RuleFixture[] {
  const out: RuleFixture[] = [];
  for (const result of SUCCESSES) {
    out.push({
      name: `${ruleName}: ${c.operation} ${result}`,
      expected: true,
      kind: 'positive',
      expectedKind: c.kind,
      // Every integrity finding is High: a blinded detector is worth an analyst's attention at once.
      expectedSeverity: 'High',
      log: log(c.operation, result, c.resourceId),
    });
  }
  out.push({
    name: `${ruleName}: ${c.operation} in the casing of the permissions list, mixed-case resource id`,
    expected: true,
    kind: 'positive',
    expectedKind: c.kind,
    log: {
      ...log(c.operation, 'Succeeded', c.resourceId),
      operationName: c.operation,
      resourceId: c.resourceId,
    },
  });
  for (const result of NOT_SUCCESS) {
    out.push({
      name: `${ruleName}: ${c.operation} with result ${result}`,
      expected: false,
      kind: 'negative',
      log: log(c.operation, result, c.resourceId),
    });
  }
  for (const resourceId of outside) {
    out.push({
      name: `${ruleName}: ${c.operation} Success outside the scope (${resourceId})`,
      expected: false,
      kind: 'nearMiss',
      log: log(c.operation, 'Success', resourceId),
    });
  }
  return out;
}

/** The same resource path below another resource group (and one that only shares a prefix). */
function elsewhere(resourceId: string): string[] {
  const path = resourceId.replace(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+/i, '');
  return [`${OTHER_RG}${path}`, `${LOOKALIKE_RG}${path}`];
}

// ---- Subscription Activity Log export ------------------------------------------------------------------

const EXPORT_SETTING = `/subscriptions/${SUB}/providers/microsoft.insights/diagnosticSettings/packet-capture-detector-prod`;
const KEYVAULT_SETTING = `${OTHER_RG}/providers/Microsoft.KeyVault/vaults/kv-app/providers/microsoft.insights/diagnosticSettings/send-to-law`;

export const ACTIVITY_LOG_EXPORT_FIXTURES: readonly RuleFixture[] = [
  ...casesFor(
    'export',
    {
      operation: 'Microsoft.Insights/diagnosticSettings/write',
      kind: 'ActivityLogExport',
      resourceId: EXPORT_SETTING,
    },
    // A resource's diagnostic setting, in or out of the protected group: not the Activity Log export.
    [
      KEYVAULT_SETTING,
      `${RG}/providers/Microsoft.EventHub/namespaces/evhns-pcd/providers/microsoft.insights/diagnosticSettings/ns-logs`,
    ],
  ),
  ...casesFor(
    'export',
    {
      operation: 'Microsoft.Insights/diagnosticSettings/delete',
      kind: 'ActivityLogExport',
      resourceId: EXPORT_SETTING,
    },
    [KEYVAULT_SETTING],
  ),
  {
    name: 'export: the setting of another subscription is watched too',
    expected: true,
    kind: 'positive',
    expectedKind: 'ActivityLogExport',
    log: log(
      'Microsoft.Insights/diagnosticSettings/delete',
      'Success',
      '/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Insights/diagnosticSettings/siem-export',
    ),
  },
  {
    name: 'export: REST shape (operationName and status as { value, localizedValue })',
    expected: true,
    kind: 'positive',
    expectedKind: 'ActivityLogExport',
    log: {
      eventTimestamp: '2026-01-12T09:41:07.1234567Z',
      submissionTimestamp: '2026-01-12T09:43:11.0000000Z',
      eventName: { value: 'EndRequest', localizedValue: 'End request' },
      operationName: {
        value: 'microsoft.insights/diagnosticSettings/write',
        localizedValue: 'Create or update resource diagnostic setting',
      },
      status: { value: 'Succeeded', localizedValue: 'Succeeded' },
      resourceId: EXPORT_SETTING,
      subscriptionId: SUB,
      correlationId: '0fd1c2b3-4a5b-46c7-8d9e-0f1a2b3c4d5e',
      caller: 'mallory@contoso.example',
      httpRequest: { clientIpAddress: '198.51.100.23', method: 'PUT' },
    },
  },
  {
    name: 'export: a write whose request body repoints the export (the destination goes into Context)',
    expected: true,
    kind: 'positive',
    expectedKind: 'ActivityLogExport',
    log: log('Microsoft.Insights/diagnosticSettings/write', 'Success', EXPORT_SETTING, {
      properties: {
        requestbody: JSON.stringify({
          properties: {
            eventHubAuthorizationRuleId: `/subscriptions/${SUB}/resourceGroups/rg-attacker/providers/Microsoft.EventHub/namespaces/evil/authorizationRules/send`,
            eventHubName: 'elsewhere',
            logs: [
              { category: 'Administrative', enabled: true },
              { category: 'Security', enabled: false },
            ],
          },
        }),
      },
    }),
  },
  {
    name: 'export: reading the settings',
    expected: false,
    kind: 'negative',
    log: log('Microsoft.Insights/diagnosticSettings/read', 'Success', EXPORT_SETTING),
  },
  {
    name: 'export: reading the categories',
    expected: false,
    kind: 'negative',
    log: log('Microsoft.Insights/diagnosticSettingsCategories/read', 'Success', `/subscriptions/${SUB}`),
  },
  {
    name: 'export: a network flow log setting (ExtendedDiagnosticSettings) is another operation',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'Microsoft.Insights/ExtendedDiagnosticSettings/Write',
      'Success',
      `/subscriptions/${SUB}/providers/microsoft.insights/extendedDiagnosticSettings/flows`,
    ),
  },
  {
    name: 'export: a subscription-level id with a segment below the setting',
    expected: false,
    kind: 'nearMiss',
    log: log('Microsoft.Insights/diagnosticSettings/write', 'Success', `${EXPORT_SETTING}/extra`),
  },
  {
    name: 'export: the operation only in properties',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'Microsoft.Resources/deployments/write',
      'Success',
      `${OTHER_RG}/providers/Microsoft.Resources/deployments/d1`,
      {
        properties: { message: 'Microsoft.Insights/diagnosticSettings/delete', entity: EXPORT_SETTING },
      },
    ),
  },
];

// ---- The export's Event Hubs namespace ------------------------------------------------------------------

const NS = `${RG}/providers/Microsoft.EventHub/namespaces/evhns-pcd-abc`;
const HUB = `${NS}/eventhubs/insights-activity-logs`;

const HUB_CASES: readonly Case[] = [
  {
    operation: 'Microsoft.EventHub/namespaces/authorizationRules/listkeys/action',
    kind: 'NamespaceAuthorizationRule',
    resourceId: `${NS}/authorizationRules/activity-log-export`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/authorizationRules/regenerateKeys/action',
    kind: 'NamespaceAuthorizationRule',
    resourceId: `${NS}/authorizationRules/activity-log-export`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/authorizationRules/write',
    kind: 'NamespaceAuthorizationRule',
    resourceId: `${NS}/authorizationRules/RootManageSharedAccessKey`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules/listkeys/action',
    kind: 'EventHubAuthorizationRule',
    resourceId: `${HUB}/authorizationRules/listen`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules/regenerateKeys/action',
    kind: 'EventHubAuthorizationRule',
    resourceId: `${HUB}/authorizationRules/listen`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules/write',
    kind: 'EventHubAuthorizationRule',
    resourceId: `${HUB}/authorizationRules/listen`,
  },
  {
    operation: 'Microsoft.EventHub/namespaces/disasterRecoveryConfigs/authorizationRules/listkeys/action',
    kind: 'NamespaceAuthorizationRule',
    resourceId: `${NS}/disasterRecoveryConfigs/alias/authorizationRules/activity-log-export`,
  },
  { operation: 'Microsoft.EventHub/namespaces/Delete', kind: 'EventHubsNamespace', resourceId: NS },
  { operation: 'Microsoft.EventHub/namespaces/eventhubs/Delete', kind: 'EventHub', resourceId: HUB },
  {
    operation: 'Microsoft.EventHub/namespaces/eventHubs/consumergroups/Delete',
    kind: 'ConsumerGroup',
    resourceId: `${HUB}/consumergroups/packet-capture-detector`,
  },
];

export const EXPORT_HUB_FIXTURES: readonly RuleFixture[] = [
  ...HUB_CASES.flatMap((c) => casesFor('hub', c, elsewhere(c.resourceId))),
  ...[
    'Microsoft.EventHub/namespaces/authorizationRules/read',
    'Microsoft.EventHub/namespaces/read',
    'Microsoft.EventHub/namespaces/eventhubs/read',
    'Microsoft.EventHub/namespaces/eventHubs/consumergroups/read',
  ].map((operation): RuleFixture => ({
    name: `hub: read ${operation}`,
    expected: false,
    kind: 'negative',
    log: log(operation, 'Success', NS),
  })),
  {
    name: 'hub: a consumer group created (not deleted)',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'Microsoft.EventHub/namespaces/eventHubs/consumergroups/write',
      'Success',
      `${HUB}/consumergroups/other`,
    ),
  },
  {
    name: 'hub: keys of a Service Bus namespace in the protected group (another provider)',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'Microsoft.ServiceBus/namespaces/authorizationRules/listkeys/action',
      'Success',
      `${RG}/providers/Microsoft.ServiceBus/namespaces/sb/authorizationRules/root`,
    ),
  },
  {
    name: 'hub: no resource id at all',
    expected: false,
    kind: 'nearMiss',
    log: { ...log('Microsoft.EventHub/namespaces/Delete', 'Success', ''), resourceId: '' },
  },
];

// ---- The detector's own resources ------------------------------------------------------------------------

const APP = `${RG}/providers/Microsoft.Web/sites/func-pcd-abc`;
const ST = `${RG}/providers/Microsoft.Storage/storageAccounts/stpcdabc`;
const TABLE = `${WORKSPACE}/tables/PacketCaptureAlerts_CL`;
const RULE = `${WORKSPACE}/providers/Microsoft.SecurityInsights/alertRules/4f0c1e2d-3b4a-5c6d-7e8f-9a0b1c2d3e4f`;

const RESOURCE_CASES: readonly Case[] = [
  { operation: 'Microsoft.Web/sites/stop/Action', kind: 'FunctionApp', resourceId: APP },
  { operation: 'Microsoft.Web/sites/Delete', kind: 'FunctionApp', resourceId: APP },
  { operation: 'Microsoft.Web/sites/Write', kind: 'FunctionApp', resourceId: APP },
  {
    operation: 'Microsoft.Web/sites/config/Write',
    kind: 'FunctionApp',
    resourceId: `${APP}/config/appsettings`,
  },
  { operation: 'microsoft.web/sites/config/delete', kind: 'FunctionApp', resourceId: `${APP}/config/web` },
  {
    operation: 'Microsoft.Web/sites/basicPublishingCredentialsPolicies/Write',
    kind: 'FunctionApp',
    resourceId: `${APP}/basicPublishingCredentialsPolicies/scm`,
  },
  {
    operation: 'microsoft.web/sites/functions/delete',
    kind: 'FunctionApp',
    resourceId: `${APP}/functions/packetCaptureDetector`,
  },
  {
    operation: 'microsoft.web/serverfarms/delete',
    kind: 'FunctionPlan',
    resourceId: `${RG}/providers/Microsoft.Web/serverfarms/asp-pcd-abc`,
  },
  {
    operation: 'Microsoft.ManagedIdentity/userAssignedIdentities/delete',
    kind: 'Identity',
    resourceId: `${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pcd-abc`,
  },
  {
    operation: 'Microsoft.Authorization/roleAssignments/delete',
    kind: 'RoleAssignment',
    resourceId: `${NS}/eventhubs/insights-activity-logs/providers/Microsoft.Authorization/roleAssignments/1c2d3e4f-5a6b-7c8d-9e0f-1a2b3c4d5e6f`,
  },
  {
    operation: 'Microsoft.Insights/DataCollectionRules/Write',
    kind: 'DataCollectionRule',
    resourceId: `${RG}/providers/Microsoft.Insights/dataCollectionRules/dcr-pcd-abc`,
  },
  {
    operation: 'Microsoft.Insights/DataCollectionRules/Delete',
    kind: 'DataCollectionRule',
    resourceId: `${RG}/providers/Microsoft.Insights/dataCollectionRules/dcr-pcd-abc`,
  },
  {
    operation: 'Microsoft.OperationalInsights/workspaces/tables/write',
    kind: 'WorkspaceTable',
    resourceId: TABLE,
  },
  {
    operation: 'Microsoft.OperationalInsights/workspaces/tables/delete',
    kind: 'WorkspaceTable',
    resourceId: TABLE,
  },
  {
    operation: 'Microsoft.OperationalInsights/workspaces/purge/action',
    kind: 'Workspace',
    resourceId: WORKSPACE,
  },
  { operation: 'Microsoft.OperationalInsights/workspaces/write', kind: 'Workspace', resourceId: WORKSPACE },
  { operation: 'Microsoft.OperationalInsights/workspaces/delete', kind: 'Workspace', resourceId: WORKSPACE },
  { operation: 'Microsoft.SecurityInsights/alertRules/write', kind: 'AnalyticsRule', resourceId: RULE },
  { operation: 'Microsoft.SecurityInsights/alertRules/delete', kind: 'AnalyticsRule', resourceId: RULE },
  {
    operation: 'Microsoft.SecurityInsights/automationRules/write',
    kind: 'AutomationRule',
    resourceId: `${WORKSPACE}/providers/Microsoft.SecurityInsights/automationRules/close-all`,
  },
  {
    operation: 'Microsoft.SecurityInsights/onboardingStates/delete',
    kind: 'Sentinel',
    resourceId: `${WORKSPACE}/providers/Microsoft.SecurityInsights/onboardingStates/default`,
  },
  { operation: 'Microsoft.Storage/storageAccounts/delete', kind: 'Storage', resourceId: ST },
  { operation: 'Microsoft.Storage/storageAccounts/write', kind: 'Storage', resourceId: ST },
  {
    operation: 'Microsoft.Storage/storageAccounts/blobServices/write',
    kind: 'Storage',
    resourceId: `${ST}/blobServices/default`,
  },
  {
    operation: 'Microsoft.Storage/storageAccounts/blobServices/containers/delete',
    kind: 'Storage',
    resourceId: `${ST}/blobServices/default/containers/packet-capture-dead-letters`,
  },
  {
    operation: 'Microsoft.Storage/storageAccounts/managementPolicies/write',
    kind: 'Storage',
    resourceId: `${ST}/managementPolicies/default`,
  },
  {
    operation: 'Microsoft.Insights/Components/Delete',
    kind: 'ApplicationInsights',
    resourceId: `${RG}/providers/Microsoft.Insights/components/appi-pcd-abc`,
  },
  {
    operation: 'Microsoft.Insights/ScheduledQueryRules/Write',
    kind: 'OperatorAlertRule',
    resourceId: `${RG}/providers/Microsoft.Insights/scheduledQueryRules/pcd-alerts-dead-lettered`,
  },
  {
    operation: 'Microsoft.Insights/ScheduledQueryRules/Delete',
    kind: 'OperatorAlertRule',
    resourceId: `${RG}/providers/Microsoft.Insights/scheduledQueryRules/pcd-alerts-dead-lettered`,
  },
  {
    operation: 'Microsoft.Insights/ActionGroups/Write',
    kind: 'ActionGroup',
    resourceId: `${RG}/providers/Microsoft.Insights/actionGroups/ag-pcd-operators`,
  },
  {
    operation: 'Microsoft.Insights/ActionGroups/Delete',
    kind: 'ActionGroup',
    resourceId: `${RG}/providers/Microsoft.Insights/actionGroups/ag-pcd-operators`,
  },
];

/** Resources of the workspace are protected by its id: their look-alikes are in another workspace. */
function outsideOf(resourceId: string): string[] {
  if (resourceId.startsWith(WORKSPACE)) {
    const rest = resourceId.slice(WORKSPACE.length);
    return [
      `${OTHER_RG}/providers/Microsoft.OperationalInsights/workspaces/log-soc${rest}`,
      `${WORKSPACE}2${rest}`,
    ];
  }
  return elsewhere(resourceId);
}

export const DETECTOR_RESOURCE_FIXTURES: readonly RuleFixture[] = [
  ...RESOURCE_CASES.flatMap((c) => casesFor('resource', c, outsideOf(c.resourceId))),
  ...[
    ['Microsoft.Web/sites/Read', APP],
    ['Microsoft.Web/sites/config/Read', `${APP}/config/web`],
    ['Microsoft.OperationalInsights/workspaces/tables/read', TABLE],
    ['Microsoft.SecurityInsights/alertRules/read', RULE],
    ['Microsoft.Storage/storageAccounts/read', ST],
    [
      'Microsoft.Insights/DataCollectionRules/Read',
      `${RG}/providers/Microsoft.Insights/dataCollectionRules/dcr-pcd-abc`,
    ],
  ].map(([operation, resourceId]): RuleFixture => ({
    name: `resource: read ${operation ?? ''}`,
    expected: false,
    kind: 'negative',
    log: log(operation ?? '', 'Success', resourceId ?? ''),
  })),
  ...[
    ['Microsoft.Web/sites/start/Action', APP],
    ['Microsoft.Web/sites/restart/Action', APP],
    ['Microsoft.Web/sites/config/list/Action', `${APP}/config/appsettings`],
    ['Microsoft.Storage/storageAccounts/listkeys/action', ST],
    ['Microsoft.SecurityInsights/alertRules/triggerRuleRun/action', RULE],
  ].map(([operation, resourceId]): RuleFixture => ({
    name: `resource: ${operation ?? ''} is no stop, delete or change`,
    expected: false,
    kind: 'nearMiss',
    log: log(operation ?? '', 'Success', resourceId ?? ''),
  })),
];
