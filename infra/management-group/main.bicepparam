using 'main.bicep'

// After `azd up` (or `az deployment sub create`), from the detector environment's values:
//   eval "$(azd env get-values)" && az deployment mg create --management-group-id <mg> --location "$AZURE_LOCATION" \
//     --template-file infra/management-group/main.bicep --parameters infra/management-group/main.bicepparam
param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'pcd-dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param eventHubSubscriptionId = readEnvironmentVariable('AZURE_SUBSCRIPTION_ID', '00000000-0000-0000-0000-000000000000')
param eventHubResourceGroupName = readEnvironmentVariable('AZURE_RESOURCE_GROUP', 'rg-pcd-dev')
param eventHubNamespaceName = readEnvironmentVariable('EVENTHUB_NAMESPACE_NAME', 'evhns-pcd-dev')
param eventHubName = readEnvironmentVariable('EVENTHUB_NAME', 'insights-activity-logs')
