metadata name = 'Activity Log export key role'
metadata description = 'A custom role with the one permission a diagnostic setting needs on the detector\'s SAS rule: listing its keys (Azure Monitor\'s documented "Monitoring Event Hub Listener" pattern), assignable in the detector\'s resource group only.'

targetScope = 'subscription'

@description('Required. Name (a GUID) of the role definition, computed by the caller so that it is known before deployment.')
param roleGuid string

@description('Required. Resource group of the detector\'s Event Hubs namespace: the only scope the role can be assigned in.')
param resourceGroupName string

@description('Required. Environment name of the detector deployment, part of the role\'s unique name.')
param environmentName string

// Azure Monitor reads the rule's key itself when a diagnostic setting names the rule: whoever creates the
// setting needs listkeys on it (learn.microsoft.com/azure/azure-monitor/roles-permissions-security, "Limit access
// to monitoring-related event hubs"). Azure Event Hubs Data Owner would add full data-plane control of every hub.
var actions = [
  'Microsoft.EventHub/namespaces/read'
  'Microsoft.EventHub/namespaces/authorizationRules/read'
  'Microsoft.EventHub/namespaces/authorizationRules/listkeys/action'
]

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: 'packet-capture-detector Activity Log export key reader (${environmentName})'
    description: 'Lists the keys of the detector\'s Event Hubs SAS rule, so that the Activity Log policy can create diagnostic settings that send to it. Nothing else.'
    type: 'CustomRole'
    assignableScopes: [
      subscriptionResourceId(subscription().subscriptionId, 'Microsoft.Resources/resourceGroups', resourceGroupName)
    ]
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

@description('Resource id of the role definition.')
output roleDefinitionId string = role.id

@description('Name (a GUID) of the role definition.')
output name string = role.name
