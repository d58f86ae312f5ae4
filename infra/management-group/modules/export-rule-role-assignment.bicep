metadata name = 'Export rule role assignment'
metadata description = 'Gives the policy assignment\'s identity the export key role on the detector\'s SAS rule alone.'

@description('Required. Event Hubs namespace of the detector.')
param eventHubNamespaceName string

@description('Required. Namespace-level SAS rule the Activity Log export authenticates with.')
param exportRuleName string

@description('Required. Resource id of the policy assignment: with the scope and the role, it names the assignment.')
param policyAssignmentId string

@description('Required. Principal id of the policy assignment\'s managed identity.')
param principalId string

@description('Required. Resource id of the export key role.')
param roleDefinitionId string

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' existing = {
  name: eventHubNamespaceName
}

resource exportRule 'Microsoft.EventHub/namespaces/authorizationRules@2026-01-01' existing = {
  parent: namespace
  name: exportRuleName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(exportRule.id, policyAssignmentId, roleDefinitionId)
  scope: exportRule
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    // A policy assignment's identity is new: without the type, Resource Manager may not find it in Entra ID yet.
    principalType: 'ServicePrincipal'
    description: 'packet-capture-detector: the Activity Log policy\'s remediation creates diagnostic settings that send with this rule.'
  }
}

@description('Resource id of the role assignment.')
output resourceId string = assignment.id
