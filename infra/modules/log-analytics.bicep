metadata name = 'Log Analytics workspace'
metadata description = 'Creates the workspace the alert table, Sentinel and Application Insights use, or resolves an existing one.'

@description('Workspace name.')
param name string

@description('Azure region of a new workspace.')
param location string

@description('True: create the workspace. False: it exists already in this resource group (it is only read).')
param create bool

@description('Interactive retention of a new workspace, in days.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Tags for a new workspace.')
param tags object

resource newWorkspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' = if (create) {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // Readers need a role on the workspace or its resources; nothing here uses the shared keys.
      enableLogAccessUsingOnlyResourcePermissions: true
      disableLocalAuth: true
    }
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource existingWorkspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = if (!create) {
  name: name
}

@description('Resource id of the workspace.')
output resourceId string = create ? newWorkspace.id : existingWorkspace.id

@description('Workspace name.')
output name string = create ? newWorkspace.name : existingWorkspace.name

@description('Region of the workspace: the data collection rule must be in the same one.')
output location string = create ? newWorkspace!.location : existingWorkspace!.location

@description('Workspace (customer) id, used when querying through the API.')
output customerId string = create ? newWorkspace!.properties.customerId : existingWorkspace!.properties.customerId
