metadata name = 'packet-capture-detector'
metadata description = 'Activity Log -> Event Hubs -> Function (packet capture / traffic mirror detector, MITRE T1040) -> Logs Ingestion -> custom table -> Microsoft Sentinel incidents.'

targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------------------
// General
// ---------------------------------------------------------------------------------------------------------------

@description('Environment name (azd: AZURE_ENV_NAME). Part of the unique name suffix and of the default resource group name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of every resource (the workspace may live elsewhere when existingWorkspaceResourceId is set).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Short prefix of generated names: 2-8 lowercase letters or digits (hyphens are dropped from the storage account name).')
@minLength(2)
@maxLength(8)
param namePrefix string = 'pcd'

@description('Resource group to create or reuse. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Tags added to every resource.')
param tags object = {}

// ---------------------------------------------------------------------------------------------------------------
// Event Hubs and the Activity Log export
// ---------------------------------------------------------------------------------------------------------------

@description('Event Hubs namespace name. Empty: generated.')
param eventHubNamespaceName string = ''

@description('Throughput units of the Standard namespace.')
@minValue(1)
@maxValue(40)
param eventHubCapacity int = 1

@description('Hub that receives the Activity Log.')
param eventHubName string = 'insights-activity-logs'

@description('Partitions of the hub (upper bound of parallel detector instances; fixed after creation).')
@minValue(1)
@maxValue(32)
param eventHubPartitionCount int = 4

@description('Days events stay in the hub: how long the detector may be stopped without losing records.')
@minValue(1)
@maxValue(7)
param eventHubMessageRetentionDays int = 7

@description('Consumer group the detector reads with.')
param consumerGroupName string = 'packet-capture-detector'

@description('Namespace-level SAS rule the Activity Log export authenticates with.')
param exportRuleName string = 'activity-log-export'

@description('Give the export rule Listen and Manage besides Send. Default false: Send only, enough because the diagnostic setting names the hub. Set true only if your tenant refuses a send-only rule.')
param exportRuleManage bool = false

@description('Name of the subscription diagnostic setting (a subscription holds at most five). The default includes the environment name, so that a second environment in the subscription adds its own setting instead of repointing this one.')
param diagnosticSettingName string = 'packet-capture-detector-${environmentName}'

@description('Activity Log categories exported. Administrative carries the operations the detector looks for.')
@allowed([
  'Administrative'
  'Security'
  'ServiceHealth'
  'Alert'
  'Recommendation'
  'Policy'
  'Autoscale'
  'ResourceHealth'
])
param activityLogCategories string[] = ['Administrative']

@description('Also send the Activity Log to the workspace (AzureActivity table, free of charge; the hunting queries use it). Default: only with a new workspace, because a workspace that already receives the Activity Log refuses a second setting for the same categories.')
param activityLogToWorkspace bool = empty(existingWorkspaceResourceId)

// ---------------------------------------------------------------------------------------------------------------
// Log Analytics, alert table, data collection rule
// ---------------------------------------------------------------------------------------------------------------

@description('Resource id of an existing Log Analytics workspace. Empty: create one in the resource group.')
param existingWorkspaceResourceId string = ''

@description('Name of the new workspace. Empty: generated. Ignored with existingWorkspaceResourceId.')
param workspaceName string = ''

@description('Interactive retention of a new workspace, in days.')
@minValue(30)
@maxValue(730)
param workspaceRetentionDays int = 90

@description('Interactive retention of the alert table, in days (the hunting queries look back 90 days).')
@minValue(4)
@maxValue(730)
param alertTableRetentionDays int = 90

@description('Total retention of the alert table (interactive plus long-term), in days.')
@minValue(4)
@maxValue(4383)
param alertTableTotalRetentionDays int = 365

@description('Data collection rule name. Empty: generated.')
param dataCollectionRuleName string = ''

@description('Interactive retention of the health table (records seen per subscription and window), in days.')
@minValue(4)
@maxValue(730)
param healthTableRetentionDays int = 30

// ---------------------------------------------------------------------------------------------------------------
// Function App
// ---------------------------------------------------------------------------------------------------------------

@description('Function App name. Empty: generated.')
param functionAppName string = ''

@description('Flex Consumption plan name. Empty: generated.')
param functionPlanName string = ''

@description('Host storage account name (3-24 lowercase letters and digits). Empty: generated.')
param storageAccountName string = ''

@description('Replication of the host storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Name of the detector\'s user-assigned managed identity. Empty: generated.')
param identityName string = ''

@description('Application Insights name. Empty: generated.')
param applicationInsightsName string = ''

@description('Blob container for undeliverable alerts and malformed messages (DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string = 'packet-capture-dead-letters'

@description('Table of the host storage that keeps what the Start and Accept records of a capture operation revealed (the lifecycle join).')
@minLength(3)
@maxLength(63)
param operationStateTableName string = 'packetcaptureoperations'

@description('Table of the host storage that keeps each caller\'s and caller IP\'s capture starts of the last 90 days (runbook step 3 in every alert; CAPTURE_HISTORY_TABLE).')
@minLength(3)
@maxLength(63)
param captureHistoryTableName string = 'packetcapturehistory'

@description('Upper bound of Function instances.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Memory per Function instance, in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Object id of the deploying user or pipeline (azd: AZURE_PRINCIPAL_ID). Used only with grantDeployerEventHubsDataSender.')
param deployerPrincipalId string = ''

@description('Kind of principal deployerPrincipalId is (azd: AZURE_PRINCIPAL_TYPE). Empty: Resource Manager looks it up, so a user and a CI service principal both work.')
@allowed([
  ''
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = ''

@description('Give deployerPrincipalId Azure Event Hubs Data Sender on the hub, for the smoke test (`send --smoke-test`). Whoever holds it can write forged Activity Log records into the hub: off by default, and to be removed after the smoke test.')
param grantDeployerEventHubsDataSender bool = false

// ---------------------------------------------------------------------------------------------------------------
// Microsoft Sentinel
// ---------------------------------------------------------------------------------------------------------------

@description('Deploy the Sentinel content (analytics rule, hunting queries).')
param deploySentinel bool = true

@description('Onboard the workspace to Sentinel. Set false if it is onboarded already.')
param sentinelOnboard bool = true

@description('Create the analytics rule enabled.')
param alertRuleEnabled bool = true

@description('Query period of the analytics rule (ISO 8601, PT10M to P14D): how late a redelivered copy of an alert row may arrive and still raise nothing, and how long a row that a skipped run missed is still caught up.')
param alertRuleQueryPeriod string = 'P14D'

@description('Alerts with the same title within this duration go into one incident (Panther\'s dedup window: 60 minutes).')
param incidentGroupingLookback string = 'PT1H'

// ---------------------------------------------------------------------------------------------------------------
// Operator alerts (Azure Monitor) and the silence and lag rules
// ---------------------------------------------------------------------------------------------------------------

@description('Email addresses the operator action group notifies (dead letters, failed batches, silence, lag, ...). Empty: no action group; the alerts still show in Azure Monitor > Alerts.')
param operatorAlertEmails string[] = []

@description('Create the operator, silence and lag alert rules enabled.')
param operatorAlertsEnabled bool = true

@description('Minutes a partition may retry the same batch before an operator alert.')
@minValue(15)
@maxValue(1440)
param retryingBatchAlertMinutes int = 30

@description('Percentage of malformed messages in 15 minutes above which an operator alert is raised.')
@minValue(0)
@maxValue(100)
param malformedInputAlertPercent int = 5

@description('Fewest malformed messages in 15 minutes that can raise that alert.')
@minValue(1)
param malformedInputAlertMinimum int = 10

@description('Minutes without Activity Log from a subscription that sent within the baseline before the silence alert.')
@minValue(15)
@maxValue(2880)
param silenceAlertMinutes int = 60

@description('Hours back a subscription must have sent to be expected by the silence alert (at most 48).')
@minValue(2)
@maxValue(48)
param silenceBaselineHours int = 24

@description('Minutes between a record\'s time and its processing above which the lag alert is raised.')
@minValue(5)
@maxValue(1440)
param lagAlertMinutes int = 30

// ---------------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
// Deployment names are per scope: the subscription-scope ones (and those in a shared workspace's resource group)
// would collide between environments, or fail with InvalidDeploymentLocation in another region, if they were
// fixed. The token is the environment's (subscription, environment name, location).
var deploymentPrefix = '${namePrefix}-${resourceToken}'
var allTags = union(tags, { 'azd-env-name': environmentName, application: 'packet-capture-detector' })
var useExistingWorkspace = !empty(existingWorkspaceResourceId)
var workspaceIdSegments = split(existingWorkspaceResourceId, '/')
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName

var names = {
  eventHubNamespace: empty(eventHubNamespaceName) ? 'evhns-${namePrefix}-${resourceToken}' : eventHubNamespaceName
  workspace: useExistingWorkspace
    ? last(workspaceIdSegments)
    : (empty(workspaceName) ? 'log-${namePrefix}-${resourceToken}' : workspaceName)
  dataCollectionRule: empty(dataCollectionRuleName) ? 'dcr-${namePrefix}-${resourceToken}' : dataCollectionRuleName
  functionApp: empty(functionAppName) ? 'func-${namePrefix}-${resourceToken}' : functionAppName
  functionPlan: empty(functionPlanName) ? 'asp-${namePrefix}-${resourceToken}' : functionPlanName
  storageAccount: empty(storageAccountName)
    ? take(toLower('st${replace(namePrefix, '-', '')}${resourceToken}'), 24)
    : storageAccountName
  identity: empty(identityName) ? 'id-${namePrefix}-${resourceToken}' : identityName
  applicationInsights: empty(applicationInsightsName) ? 'appi-${namePrefix}-${resourceToken}' : applicationInsightsName
}
// Flex Consumption deploys from a blob container named after the app.
var deploymentContainerName = toLower('app-package-${take(names.functionApp, 32)}-${take(resourceToken, 7)}')
// Generated from src/alert/columns.ts; the table name is needed here before the table exists.
var alertSchema = loadJsonContent('generated/alert-columns.json')
var workspaceSubscriptionId = useExistingWorkspace ? workspaceIdSegments[2] : subscription().subscriptionId
var workspaceResourceGroupName = useExistingWorkspace ? workspaceIdSegments[4] : rgName

// ---------------------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: rgName
  location: location
  tags: allTags
}

module workspace 'modules/log-analytics.bicep' = {
  name: '${deploymentPrefix}-workspace'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  // Explicit: the scope is built from names, so Bicep cannot see that a new workspace needs the group first.
  dependsOn: [
    rg
  ]
  params: {
    name: names.workspace
    location: location
    create: !useExistingWorkspace
    retentionInDays: workspaceRetentionDays
    tags: allTags
  }
}

// Names are passed as deploy-time values (not module outputs) so What-If can predict every resource; the
// order comes from dependsOn instead.
module alertTable 'modules/alert-table.bicep' = {
  name: '${deploymentPrefix}-alert-table'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  dependsOn: [
    workspace
  ]
  params: {
    workspaceName: names.workspace
    retentionInDays: alertTableRetentionDays
    totalRetentionInDays: alertTableTotalRetentionDays
  }
}

module healthTable 'modules/health-table.bicep' = {
  name: '${deploymentPrefix}-health-table'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  dependsOn: [
    workspace
  ]
  params: {
    workspaceName: names.workspace
    retentionInDays: healthTableRetentionDays
  }
}

module dataCollectionRule 'modules/data-collection-rule.bicep' = {
  name: '${deploymentPrefix}-data-collection-rule'
  scope: rg
  params: {
    name: names.dataCollectionRule
    // A DCR must be in its destination workspace's region.
    location: workspace.outputs.location
    workspaceResourceId: workspace.outputs.resourceId
    tableName: alertTable.outputs.tableName
    healthTableName: healthTable.outputs.tableName
    tags: allTags
  }
}

module eventHubs 'modules/event-hubs.bicep' = {
  name: '${deploymentPrefix}-event-hubs'
  scope: rg
  params: {
    namespaceName: names.eventHubNamespace
    location: location
    capacity: eventHubCapacity
    eventHubName: eventHubName
    partitionCount: eventHubPartitionCount
    messageRetentionInDays: eventHubMessageRetentionDays
    consumerGroupName: consumerGroupName
    exportRuleName: exportRuleName
    exportRuleManage: exportRuleManage
    tags: allTags
  }
}

module activityLogExport 'modules/activity-log-export.bicep' = {
  name: '${deploymentPrefix}-activity-log-export'
  params: {
    name: diagnosticSettingName
    categories: activityLogCategories
    eventHubAuthorizationRuleId: eventHubs.outputs.exportRuleResourceId
    eventHubName: eventHubs.outputs.eventHubName
    workspaceResourceId: activityLogToWorkspace ? workspace.outputs.resourceId : ''
  }
}

module identity 'modules/identity.bicep' = {
  name: '${deploymentPrefix}-identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${deploymentPrefix}-storage'
  scope: rg
  params: {
    name: names.storageAccount
    location: location
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    operationStateTableName: operationStateTableName
    captureHistoryTableName: captureHistoryTableName
    tags: allTags
  }
}

module applicationInsights 'modules/application-insights.bicep' = {
  name: '${deploymentPrefix}-application-insights'
  scope: rg
  params: {
    name: names.applicationInsights
    location: location
    workspaceResourceId: workspace.outputs.resourceId
    tags: allTags
  }
}

// The storage roles first, as soon as the account and the identity exist: the first code deployment (Flex
// Consumption reads the package with the detector identity) needs them applied, and a new role assignment takes
// minutes to apply (Azure/azure-dev#8026). The rest of the provisioning runs meanwhile.
module storageRoles 'modules/role-assignments.bicep' = {
  name: '${deploymentPrefix}-roles-storage'
  scope: rg
  dependsOn: [
    storage
  ]
  params: {
    scopes: ['storage']
    detectorPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
    grantDeployerEventHubsDataSender: grantDeployerEventHubsDataSender
    eventHubNamespaceName: names.eventHubNamespace
    eventHubName: eventHubName
    dataCollectionRuleName: names.dataCollectionRule
    storageAccountName: names.storageAccount
    applicationInsightsName: names.applicationInsights
  }
}

module roles 'modules/role-assignments.bicep' = {
  name: '${deploymentPrefix}-roles'
  scope: rg
  dependsOn: [
    eventHubs
    dataCollectionRule
    applicationInsights
  ]
  params: {
    scopes: ['eventHub', 'dataCollectionRule', 'applicationInsights']
    detectorPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
    grantDeployerEventHubsDataSender: grantDeployerEventHubsDataSender
    eventHubNamespaceName: names.eventHubNamespace
    eventHubName: eventHubName
    dataCollectionRuleName: names.dataCollectionRule
    storageAccountName: names.storageAccount
    applicationInsightsName: names.applicationInsights
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: '${deploymentPrefix}-function-app'
  scope: rg
  // The identity's roles first: the host starts reading the hub and storage as soon as the app exists.
  dependsOn: [
    roles
    storageRoles
    applicationInsights
  ]
  params: {
    name: names.functionApp
    planName: names.functionPlan
    location: location
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: names.storageAccount
    deploymentContainerName: storage.outputs.deploymentContainerName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    operationStateTableName: storage.outputs.operationStateTableName
    captureHistoryTableName: storage.outputs.captureHistoryTableName
    applicationInsightsName: names.applicationInsights
    eventHubFullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
    eventHubName: eventHubs.outputs.eventHubName
    consumerGroupName: eventHubs.outputs.consumerGroupName
    logsIngestionEndpoint: dataCollectionRule.outputs.logsIngestionEndpoint
    dataCollectionRuleImmutableId: dataCollectionRule.outputs.immutableId
    logsIngestionStreamName: dataCollectionRule.outputs.streamName
    healthStreamName: dataCollectionRule.outputs.healthStreamName
    // The integrity rules watch the deployment's own resource group and workspace.
    protectedResourceIds: '${rg.id},${workspace.outputs.resourceId}'
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    tags: allTags
  }
}

module sentinel 'modules/sentinel.bicep' = if (deploySentinel) {
  name: '${deploymentPrefix}-sentinel'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  dependsOn: [
    alertTable
  ]
  params: {
    workspaceName: names.workspace
    onboard: sentinelOnboard
    tableName: alertSchema.tableName
    alertRuleEnabled: alertRuleEnabled
    alertRuleQueryPeriod: alertRuleQueryPeriod
    incidentGroupingLookback: incidentGroupingLookback
  }
}

module integrityRules 'modules/integrity-rules.bicep' = if (deploySentinel) {
  name: '${deploymentPrefix}-integrity-rules'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  // After the capture rule's module: it onboards the workspace to Sentinel.
  dependsOn: [
    sentinel
  ]
  params: {
    workspaceName: names.workspace
    tableName: alertSchema.tableName
    alertRuleEnabled: alertRuleEnabled
    alertRuleQueryPeriod: alertRuleQueryPeriod
    incidentGroupingLookback: incidentGroupingLookback
  }
}

module operatorAlerts 'modules/operator-alerts.bicep' = {
  name: '${deploymentPrefix}-operator-alerts'
  scope: rg
  dependsOn: [
    applicationInsights
  ]
  params: {
    location: location
    namePrefix: deploymentPrefix
    applicationInsightsName: names.applicationInsights
    workspaceResourceId: workspace.outputs.resourceId
    healthTableName: healthTable.outputs.tableName
    emailReceivers: operatorAlertEmails
    enabled: operatorAlertsEnabled
    retryingBatchMinutes: retryingBatchAlertMinutes
    malformedPercent: malformedInputAlertPercent
    malformedMinimum: malformedInputAlertMinimum
    silenceMinutes: silenceAlertMinutes
    silenceBaselineHours: silenceBaselineHours
    lagMinutes: lagAlertMinutes
    tags: allTags
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment). Names and ids only: no key, SAS or connection string.
// ---------------------------------------------------------------------------------------------------------------

@description('Region.')
output AZURE_LOCATION string = location

@description('Resource group of the detector.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Function App name.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Event Hubs namespace host name, for `packet-capture-detector send --namespace`.')
output EVENTHUB_FULLY_QUALIFIED_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace

@description('Hub that receives the Activity Log.')
output EVENTHUB_NAME string = eventHubs.outputs.eventHubName

@description('Consumer group of the detector.')
output EVENTHUB_CONSUMER_GROUP string = eventHubs.outputs.consumerGroupName

@description('Logs ingestion endpoint of the data collection rule.')
output LOGS_INGESTION_ENDPOINT string = dataCollectionRule.outputs.logsIngestionEndpoint

@description('Immutable id of the data collection rule.')
output LOGS_INGESTION_RULE_ID string = dataCollectionRule.outputs.immutableId

@description('Stream of the data collection rule.')
output LOGS_INGESTION_STREAM_NAME string = dataCollectionRule.outputs.streamName

@description('Resource id of the Log Analytics workspace.')
output LOG_ANALYTICS_WORKSPACE_RESOURCE_ID string = workspace.outputs.resourceId

@description('Workspace (customer) id, for `az monitor log-analytics query --workspace`.')
output LOG_ANALYTICS_WORKSPACE_ID string = workspace.outputs.customerId

@description('Client id of the detector identity.')
output AZURE_CLIENT_ID string = identity.outputs.clientId

@description('Event Hubs namespace name (the management-group template takes it).')
output EVENTHUB_NAMESPACE_NAME string = eventHubs.outputs.namespaceName

@description('Number of role assignments made.')
output ROLE_ASSIGNMENT_COUNT int = storageRoles.outputs.count + roles.outputs.count

@description('When the detector identity\'s storage roles were created, in Unix seconds: the azd postprovision hook waits until they can have applied before the first code deployment.')
output DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT int = max(concat([0], storageRoles.outputs.storageCreatedOnEpochs))
