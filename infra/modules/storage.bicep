metadata name = 'Function host storage'
metadata description = 'The storage account of the Function host (leases, Event Hubs checkpoints, deployment package, dead letters), reachable only with Entra ID.'

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string

@description('Blob container the deployment package is uploaded to.')
param deploymentContainerName string

@description('Blob container the detector keeps undeliverable alerts and malformed messages in.')
param deadLetterContainerName string

@description('Table the detector keeps the state of capture operations in (the lifecycle join).')
param operationStateTableName string

@description('Table the detector keeps each caller\'s capture history of the last 90 days in.')
param captureHistoryTableName string

@description('Tags.')
param tags object

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    // No account keys, no SAS: every client (host, deployment, detector) signs in with the managed identity.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: account
  name: 'default'
}

// Created here rather than by the detector, so that its role never needs to create tables.
resource operationStateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = {
  parent: tableService
  name: operationStateTableName
}

resource captureHistoryTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = {
  parent: tableService
  name: captureHistoryTableName
}

@description('Storage account name.')
output name string = account.name

@description('Resource id of the storage account.')
output resourceId string = account.id

@description('Blob endpoint (https://<name>.blob.core.windows.net/).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Table endpoint (host diagnostic events, the operation state table).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Deployment container name.')
output deploymentContainerName string = deploymentContainer.name

@description('Dead-letter container name.')
output deadLetterContainerName string = deadLetterContainer.name

@description('Operation state table name (OPERATION_STATE_TABLE).')
output operationStateTableName string = operationStateTable.name

@description('Caller history table name (CAPTURE_HISTORY_TABLE).')
output captureHistoryTableName string = captureHistoryTable.name
