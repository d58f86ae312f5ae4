metadata name = 'Detector identity'
metadata description = 'The user-assigned managed identity the Function App runs as. Created first, so its roles exist before the app starts.'

@description('Identity name.')
param name string

@description('Azure region.')
param location string

@description('Tags.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity.')
output resourceId string = identity.id

@description('Client id: AZURE_CLIENT_ID and the __clientId of every identity-based connection.')
output clientId string = identity.properties.clientId

@description('Principal (object) id: what the role assignments grant to.')
output principalId string = identity.properties.principalId

@description('Identity name.')
output name string = identity.name
