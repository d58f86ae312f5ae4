metadata name = 'Role assignments'
metadata description = 'Every role this deployment grants, from one table: what the detector needs and nothing broader. Called once per group of scopes, so that the deployment storage role exists as early as possible.'

@description('Required. Principal id of the detector\'s user-assigned managed identity.')
param detectorPrincipalId string

@description('Required. Principal id of the deploying user or pipeline (azd: AZURE_PRINCIPAL_ID). Empty: no role for it.')
param deployerPrincipalId string

@description('Required. Principal type of the deployer (azd: AZURE_PRINCIPAL_TYPE). Empty: left out, so that Resource Manager looks the principal up itself, whatever signed in (a user, or a service principal in CI).')
@allowed([
  ''
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string

@description('Required. Give the deployer Azure Event Hubs Data Sender on the hub, for the smoke test. Whoever holds it can write forged Activity Log records into the hub, so it is off unless asked for.')
param grantDeployerEventHubsDataSender bool

@description('Required. The scopes of the role table this call assigns (eventHub, dataCollectionRule, storage, applicationInsights).')
param scopes string[]

@description('Namespace of the hub.')
param eventHubNamespaceName string

@description('Hub name.')
param eventHubName string

@description('Data collection rule name.')
param dataCollectionRuleName string

@description('Host storage account name.')
param storageAccountName string

@description('Application Insights component name.')
param applicationInsightsName string

// The role table: every role assignment of the deployment. scope names the resource the role is granted on,
// principal who gets it. Role definition ids are the built-in roles'
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles), written out so that the
// compiled template shows them and test/infra can check the exact set.
var roleTable = [
  {
    scope: 'eventHub'
    principal: 'detector'
    role: 'Azure Event Hubs Data Receiver'
    roleDefinitionId: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
    reason: 'The Event Hubs trigger reads this one hub (not the namespace) with its own consumer group.'
  }
  {
    scope: 'dataCollectionRule'
    principal: 'detector'
    role: 'Monitoring Metrics Publisher'
    roleDefinitionId: '3913510d-42f4-4e42-8a64-420c390055eb'
    reason: 'Logs Ingestion API: posting alert rows through this rule only.'
  }
  {
    scope: 'storage'
    principal: 'detector'
    role: 'Storage Blob Data Owner'
    roleDefinitionId: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
    reason: 'Functions host storage (AzureWebJobsStorage): host locks and keys, Event Hubs checkpoints, the deployment package and the dead-letter container. The account serves this app alone.'
  }
  {
    scope: 'storage'
    principal: 'detector'
    role: 'Storage Table Data Contributor'
    roleDefinitionId: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
    reason: 'The Functions host writes its diagnostic events to Table storage (event AZFD0003 otherwise).'
  }
  {
    scope: 'applicationInsights'
    principal: 'detector'
    role: 'Monitoring Metrics Publisher'
    roleDefinitionId: '3913510d-42f4-4e42-8a64-420c390055eb'
    reason: 'Entra ID-authenticated telemetry (local auth is disabled on the component).'
  }
  {
    scope: 'eventHub'
    principal: 'deployer'
    role: 'Azure Event Hubs Data Sender'
    roleDefinitionId: '2b629674-e913-4c01-ae53-ef4638d8f975'
    reason: 'Opt-in (grantDeployerEventHubsDataSender): lets the deploying user or pipeline send the smoke test\'s events. Remove it after the smoke test.'
  }
]

// The rows of this call: the scopes asked for, the deployer's row only when it is asked for. Each assignment is
// named from its scope, its principal id and its role (the AVM pattern): a recreated identity gets a new
// principal id, hence new assignments, instead of colliding with the old ones (RoleAssignmentUpdateNotPermitted).
var activeRoles = map(
  filter(
    roleTable,
    row =>
      contains(scopes, row.scope) && (row.principal == 'detector' || (grantDeployerEventHubsDataSender && !empty(deployerPrincipalId)))
  ),
  row =>
    union(row, {
      principalId: row.principal == 'detector' ? detectorPrincipalId : deployerPrincipalId
      // The detector identity is new: without the type, Resource Manager may not find it in Entra ID yet.
      principalType: row.principal == 'detector' ? 'ServicePrincipal' : deployerPrincipalType
    })
)

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' existing = {
  name: eventHubNamespaceName
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' existing = {
  parent: namespace
  name: eventHubName
}

resource dcr 'Microsoft.Insights/dataCollectionRules@2024-03-11' existing = {
  name: dataCollectionRuleName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// One loop per kind of scope (a scope must be a typed resource), all fed from the same table.
resource onEventHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'eventHub'): {
    name: guid(hub.id, row.principalId, row.roleDefinitionId)
    scope: hub
    properties: union(
      {
        roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
        principalId: row.principalId
        description: row.reason
      },
      empty(row.principalType) ? {} : { principalType: row.principalType }
    )
  }
]

resource onDataCollectionRule 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'dataCollectionRule'): {
    name: guid(dcr.id, row.principalId, row.roleDefinitionId)
    scope: dcr
    properties: union(
      {
        roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
        principalId: row.principalId
        description: row.reason
      },
      empty(row.principalType) ? {} : { principalType: row.principalType }
    )
  }
]

resource onStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'storage'): {
    name: guid(storage.id, row.principalId, row.roleDefinitionId)
    scope: storage
    properties: union(
      {
        roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
        principalId: row.principalId
        description: row.reason
      },
      empty(row.principalType) ? {} : { principalType: row.principalType }
    )
  }
]

resource onApplicationInsights 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'applicationInsights'): {
    name: guid(appInsights.id, row.principalId, row.roleDefinitionId)
    scope: appInsights
    properties: union(
      {
        roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
        principalId: row.principalId
        description: row.reason
      },
      empty(row.principalType) ? {} : { principalType: row.principalType }
    )
  }
]

@description('Number of role assignments this call made.')
output count int = length(activeRoles)

// Azure reports when each assignment was created (an existing one keeps its time). A new one takes minutes to
// apply, and the first deployment of the code needs the storage ones (Flex Consumption reads its package with
// the detector identity): the azd postprovision hook waits out that time (Azure/azure-dev#8026).
@description('When each of this call\'s storage assignments was created, in Unix seconds.')
output storageCreatedOnEpochs int[] = [
  for (row, i) in filter(activeRoles, r => r.scope == 'storage'): dateTimeToEpoch(onStorage[i].properties.createdOn)
]
