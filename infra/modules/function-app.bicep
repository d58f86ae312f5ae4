metadata name = 'Detector Function App'
metadata description = 'The detector on Flex Consumption (Node.js 22), running as its user-assigned identity, with identity-based connections only.'

@description('Function App name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Resource id of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Client id of that identity.')
param identityClientId string

@description('Host storage account name.')
param storageAccountName string

@description('Container the deployment package goes to.')
param deploymentContainerName string

@description('Container for dead letters (DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string

@description('Table of the lifecycle join (OPERATION_STATE_TABLE).')
param operationStateTableName string

@description('Table of the callers\' capture history (CAPTURE_HISTORY_TABLE).')
param captureHistoryTableName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Event Hubs namespace host name.')
param eventHubFullyQualifiedNamespace string

@description('Hub name.')
param eventHubName string

@description('Consumer group name.')
param consumerGroupName string

@description('Logs ingestion endpoint of the data collection rule.')
param logsIngestionEndpoint string

@description('Immutable id of the data collection rule.')
param dataCollectionRuleImmutableId string

@description('Stream name in the data collection rule.')
param logsIngestionStreamName string

@description('Required. Stream of the health rows in the data collection rule (HEALTH_STREAM_NAME).')
param healthStreamName string

@description('Required. Resource and resource-group ids the integrity rules watch (PROTECTED_RESOURCE_IDS), comma-separated.')
param protectedResourceIds string

@description('Upper bound of instances (the hub\'s partition count bounds useful parallelism anyway).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Tags; the app also gets azd-service-name so that `azd deploy` finds it.')
param tags object

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

// Names match SETTINGS in src/config/settings.ts; test/infra checks they agree. Every connection is
// identity-based: no key, SAS or connection string with a secret appears here.
var appSettings = [
  { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'EventHubConnection__fullyQualifiedNamespace', value: eventHubFullyQualifiedNamespace }
  { name: 'EventHubConnection__credential', value: 'managedidentity' }
  { name: 'EventHubConnection__clientId', value: identityClientId }
  { name: 'EVENTHUB_NAME', value: eventHubName }
  { name: 'EVENTHUB_CONSUMER_GROUP', value: consumerGroupName }
  { name: 'LOGS_INGESTION_ENDPOINT', value: logsIngestionEndpoint }
  { name: 'LOGS_INGESTION_RULE_ID', value: dataCollectionRuleImmutableId }
  { name: 'LOGS_INGESTION_STREAM_NAME', value: logsIngestionStreamName }
  { name: 'HEALTH_STREAM_NAME', value: healthStreamName }
  { name: 'PROTECTED_RESOURCE_IDS', value: protectedResourceIds }
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'DEAD_LETTER_CONTAINER', value: deadLetterContainerName }
  { name: 'OPERATION_STATE_TABLE', value: operationStateTableName }
  { name: 'CAPTURE_HISTORY_TABLE', value: captureHistoryTableName }
  // The repository's allowlist, shipped in the package (npm run package); the Sentinel watchlist is the same file.
  { name: 'ALLOWLIST_PATH', value: 'allowlist.csv' }
  // Not a secret: with local auth disabled on the component, ingestion also needs the Entra token below.
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
]

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'detector' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      appSettings: appSettings
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Publishing with basic (user name and password) credentials is off; azd and the az CLI deploy with Entra ID.
// Flex Consumption has no FTP endpoint, so neither ftpsState nor the ftp policy applies to it.
resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Function App name.')
output name string = app.name

@description('Resource id of the Function App.')
output resourceId string = app.id

@description('Default host name.')
output defaultHostName string = app.properties.defaultHostName
