metadata name = 'Data collection rule'
metadata description = 'A Direct data collection rule: the Logs Ingestion API endpoint the detector posts alert rows and health rows to, each stream routed into its table.'

@description('Name of the data collection rule.')
param name string

@description('Region: must be the workspace region.')
param location string

@description('Resource id of the destination workspace.')
param workspaceResourceId string

@description('Name of the destination table; passed so that the rule is created after the table.')
param tableName string

@description('Name of the health table; passed so that the rule is created after it.')
param healthTableName string

@description('Tags.')
param tags object

var schema = loadJsonContent('../generated/alert-columns.json')
var healthSchema = loadJsonContent('../generated/health-columns.json')

resource dcr 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: name
  location: location
  tags: tags
  // Direct: the rule carries its own logs ingestion endpoint, no data collection endpoint needed.
  kind: 'Direct'
  properties: {
    description: 'Alert rows from packet-capture-detector into ${tableName}, health rows into ${healthTableName}.'
    streamDeclarations: {
      '${schema.streamName}': {
        columns: schema.streamColumns
      }
      '${healthSchema.streamName}': {
        columns: healthSchema.streamColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          name: 'alertWorkspace'
          workspaceResourceId: workspaceResourceId
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          schema.streamName
        ]
        destinations: [
          'alertWorkspace'
        ]
        transformKql: loadTextContent('../queries/dcr-transform.kql')
        outputStream: 'Custom-${tableName}'
      }
      {
        streams: [
          healthSchema.streamName
        ]
        destinations: [
          'alertWorkspace'
        ]
        transformKql: loadTextContent('../queries/health-dcr-transform.kql')
        outputStream: 'Custom-${healthTableName}'
      }
    ]
  }
}

@description('Resource id of the rule (role assignments are scoped to it).')
output resourceId string = dcr.id

@description('Rule name.')
output name string = dcr.name

@description('Immutable id (`dcr-...`): LOGS_INGESTION_RULE_ID.')
output immutableId string = dcr.properties.immutableId

@description('Logs ingestion endpoint of the rule: LOGS_INGESTION_ENDPOINT.')
output logsIngestionEndpoint string = dcr.properties.endpoints.logsIngestion

@description('Stream the detector posts to: LOGS_INGESTION_STREAM_NAME.')
output streamName string = schema.streamName

@description('Stream the detector posts health rows to: HEALTH_STREAM_NAME.')
output healthStreamName string = healthSchema.streamName
