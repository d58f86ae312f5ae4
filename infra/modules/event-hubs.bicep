metadata name = 'Event Hubs'
metadata description = 'The namespace and hub that receive the Activity Log export, the detector\'s consumer group, and the send-only rule the export authenticates with.'

@description('Namespace name.')
param namespaceName string

@description('Azure region.')
param location string

@description('Throughput units of the Standard namespace.')
@minValue(1)
@maxValue(40)
param capacity int

@description('Hub that receives the Activity Log export.')
param eventHubName string

@description('Partitions of the hub: the upper bound of parallel Function instances. Fixed once created on Standard.')
@minValue(1)
@maxValue(32)
param partitionCount int

@description('Days events stay in the hub, i.e. how long the detector may be down without losing data.')
@minValue(1)
@maxValue(7)
param messageRetentionInDays int

@description('Consumer group the detector reads with.')
param consumerGroupName string

@description('Name of the namespace-level SAS rule used by the Activity Log diagnostic setting.')
param exportRuleName string

@description('Give that rule Listen and Manage besides Send. Send suffices when the diagnostic setting names the hub (it does); Azure asks for Manage+Listen+Send only when it must pick or create the hub itself.')
param exportRuleManage bool

@description('Tags.')
param tags object

resource namespace 'Microsoft.EventHub/namespaces@2026-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: capacity
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    // The Activity Log diagnostic setting can only authenticate with a namespace SAS rule, so local auth stays
    // on. The detector never uses it: it reads with its managed identity (Azure Event Hubs Data Receiver).
    disableLocalAuth: false
    isAutoInflateEnabled: false
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2026-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    messageRetentionInDays: messageRetentionInDays
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2026-01-01' = {
  parent: hub
  name: consumerGroupName
  properties: {
    userMetadata: 'packet-capture-detector: its own group, so other readers of the hub keep their own checkpoints.'
  }
}

// Its keys are never read by this template nor exposed as outputs: Azure Monitor fetches them itself, with the
// deploying user's listKeys permission, when the diagnostic setting is created.
resource exportRule 'Microsoft.EventHub/namespaces/authorizationRules@2026-01-01' = {
  parent: namespace
  name: exportRuleName
  properties: {
    rights: exportRuleManage ? ['Listen', 'Manage', 'Send'] : ['Send']
  }
}

@description('Namespace name.')
output namespaceName string = namespace.name

@description('Namespace host name (`<ns>.servicebus.windows.net`): EventHubConnection__fullyQualifiedNamespace.')
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '//')[1], ':')[0]

@description('Hub name.')
output eventHubName string = hub.name

@description('Resource id of the hub.')
output eventHubResourceId string = hub.id

@description('Consumer group name.')
output consumerGroupName string = consumerGroup.name

@description('Resource id of the export rule (an id, not a key).')
output exportRuleResourceId string = exportRule.id
