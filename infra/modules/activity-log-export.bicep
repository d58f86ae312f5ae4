metadata name = 'Activity Log export'
metadata description = 'The subscription diagnostic setting that streams the Activity Log to the hub (and, optionally, to the workspace as AzureActivity).'

targetScope = 'subscription'

@description('Name of the diagnostic setting (a subscription holds at most five).')
param name string

@description('Activity Log categories to export.')
param categories string[]

@description('Resource id of the namespace-level SAS rule the export authenticates with.')
param eventHubAuthorizationRuleId string

@description('Hub to write to. Naming it lets a send-only rule suffice.')
param eventHubName string

@description('Resource id of a workspace that also receives the log (AzureActivity table), or empty for none.')
param workspaceResourceId string

// The linter offers 2016-09-01, which predates subscription-scope diagnostic settings; the Activity Log export
// is only served by the preview versions, 2021-05-01-preview being the newest.
#disable-next-line use-recent-api-versions
resource exportSetting 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: name
  properties: {
    eventHubAuthorizationRuleId: eventHubAuthorizationRuleId
    eventHubName: eventHubName
    workspaceId: empty(workspaceResourceId) ? null : workspaceResourceId
    logs: [
      for category in categories: {
        category: category
        enabled: true
      }
    ]
  }
}

@description('Resource id of the diagnostic setting.')
output resourceId string = exportSetting.id
