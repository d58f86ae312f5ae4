metadata name = 'Application Insights'
metadata description = 'Workspace-based Application Insights that only accepts Entra ID-authenticated telemetry.'

@description('Component name.')
param name string

@description('Azure region.')
param location string

@description('Resource id of the Log Analytics workspace that stores the telemetry.')
param workspaceResourceId string

@description('Tags.')
param tags object

resource component 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceResourceId
    IngestionMode: 'LogAnalytics'
    // Telemetry must carry an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING); the instrumentation key
    // in the connection string alone is refused, so the connection string is not a secret.
    DisableLocalAuth: true
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

@description('Component name.')
output name string = component.name

@description('Resource id of the component.')
output resourceId string = component.id
