metadata name = 'Role assignments'
metadata description = 'Every role this deployment grants, from one table: what the detector needs and nothing broader.'

@description('Principal id of the detector\'s user-assigned managed identity.')
param detectorPrincipalId string

@description('Resource id of that identity: with the scope and the role, it names each assignment, so the names are known before deployment (What-If) and stable across redeployments.')
param detectorIdentityResourceId string

@description('Principal id of the deploying user or pipeline; when set, it may send test events to the hub (smoke test). Empty: no role for it.')
param deployerPrincipalId string

@description('Principal type of the deployer.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string

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
    reason: 'Optional (deployerPrincipalId): lets the deploying user send the smoke test\'s sample events.'
  }
]

// The deployer's row only when a deployer is given; each row gets its principal, and the seed of its name: the
// detector identity's resource id, known before deployment (unlike its principal id), so What-If can predict
// the assignment names and redeployments keep them.
var activeRoles = map(
  filter(roleTable, row => row.principal == 'detector' || !empty(deployerPrincipalId)),
  row =>
    union(row, {
      principalId: row.principal == 'detector' ? detectorPrincipalId : deployerPrincipalId
      principalType: row.principal == 'detector' ? 'ServicePrincipal' : deployerPrincipalType
      nameSeed: row.principal == 'detector' ? detectorIdentityResourceId : deployerPrincipalId
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
    name: guid(hub.id, row.nameSeed, row.roleDefinitionId)
    scope: hub
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
      principalId: row.principalId
      principalType: row.principalType
      description: row.reason
    }
  }
]

resource onDataCollectionRule 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'dataCollectionRule'): {
    name: guid(dcr.id, row.nameSeed, row.roleDefinitionId)
    scope: dcr
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
      principalId: row.principalId
      principalType: row.principalType
      description: row.reason
    }
  }
]

resource onStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'storage'): {
    name: guid(storage.id, row.nameSeed, row.roleDefinitionId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
      principalId: row.principalId
      principalType: row.principalType
      description: row.reason
    }
  }
]

resource onApplicationInsights 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for row in filter(activeRoles, r => r.scope == 'applicationInsights'): {
    name: guid(appInsights.id, row.nameSeed, row.roleDefinitionId)
    scope: appInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', row.roleDefinitionId)
      principalId: row.principalId
      principalType: row.principalType
      description: row.reason
    }
  }
]

@description('Number of role assignments made.')
output count int = length(activeRoles)
