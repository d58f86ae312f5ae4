using 'main.bicep'

// azd sets these from its environment; with `az deployment sub create` export them (or edit the defaults).
param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'pcd-dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param deployerPrincipalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param deployerPrincipalType = readEnvironmentVariable('AZURE_PRINCIPAL_TYPE', '')
param grantDeployerEventHubsDataSender = toLower(readEnvironmentVariable('GRANT_DEPLOYER_EVENTHUBS_DATA_SENDER', 'false')) == 'true'
param existingWorkspaceResourceId = readEnvironmentVariable('EXISTING_WORKSPACE_RESOURCE_ID', '')
param sentinelOnboard = toLower(readEnvironmentVariable('SENTINEL_ONBOARD', 'true')) == 'true'
param deploySentinel = toLower(readEnvironmentVariable('DEPLOY_SENTINEL', 'true')) == 'true'
