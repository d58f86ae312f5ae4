metadata name = 'Management group role assignment'
metadata description = 'Gives the policy assignment\'s identity Monitoring Contributor on the management group: writing subscription diagnostic settings and running the deployments that create them.'

targetScope = 'managementGroup'

@description('Required. Resource id of the policy assignment: with the scope and the role, it names the assignment.')
param policyAssignmentId string

@description('Required. Principal id of the policy assignment\'s managed identity.')
param principalId string

@description('Required. Id (GUID) of the built-in role.')
param roleDefinitionGuid string

@description('Required. Why the role is assigned.')
param reason string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, policyAssignmentId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: reason
  }
}

@description('Resource id of the role assignment.')
output resourceId string = assignment.id
