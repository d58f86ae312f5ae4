metadata name = 'Detector integrity analytics rule'
metadata description = 'A Sentinel scheduled analytics rule that turns the detector-integrity rules\' rows (Activity Log export changed, export hub keys read or hub deleted, detector resources stopped, deleted or reconfigured) into incidents, with the same deduplication as the capture rule.'

@description('Required. Name of the existing workspace, onboarded to Sentinel.')
param workspaceName string

@description('Required. Name of the alert table; passed so that the rule is created after the table exists.')
param tableName string

@description('Required. Create the analytics rule enabled.')
param alertRuleEnabled bool

@description('Required. How far back (ISO 8601 duration) each run looks; as the capture rule (alertRuleQueryPeriod).')
param alertRuleQueryPeriod string

@description('Required. Incidents group alerts with the same name (the alert title) created within this duration.')
param incidentGroupingLookback string

// The capture rule's query (one source: deduplication by AlertId, completing rows, smoke tests, entities) with
// its rule filter turned around: this rule raises exactly the rows the capture rule leaves out.
var captureFilter = '| where RuleId !startswith "Azure.MonitorActivity.DetectorIntegrity."'
var integrityFilter = '| where RuleId startswith "Azure.MonitorActivity.DetectorIntegrity."'
var captureQuery = '${loadTextContent('../generated/capture-operations.kql')}${loadTextContent('../queries/analytics-rule.kql')}'
var query = replace(captureQuery, captureFilter, integrityFilter)

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = {
  name: workspaceName
}

resource integrityRule 'Microsoft.SecurityInsights/alertRules@2025-09-01' = {
  scope: workspace
  name: guid(workspace.id, 'packet-capture-detector-integrity', tableName)
  kind: 'Scheduled'
  properties: {
    displayName: 'Packet Capture Detector Integrity'
    description: 'The Activity Log export was changed, the export hub\'s keys were read or the hub deleted, or one of the detector\'s own resources was stopped, deleted or reconfigured: the detector may be blind (MITRE ATT&CK T1562, Impair Defenses). Raised from the integrity rules\' rows in ${tableName}.'
    enabled: alertRuleEnabled
    severity: 'High'
    query: query
    // As the capture rule: analytics-rule.kql's runWindow (6m) is this plus one minute.
    queryFrequency: 'PT5M'
    queryPeriod: alertRuleQueryPeriod
    triggerOperator: 'GreaterThan'
    triggerThreshold: 0
    suppressionEnabled: false
    suppressionDuration: 'PT5H'
    tactics: [
      'DefenseEvasion'
      'CredentialAccess'
    ]
    techniques: [
      'T1562'
      'T1552'
    ]
    eventGroupingSettings: {
      aggregationKind: 'AlertPerResult'
    }
    alertDetailsOverride: {
      alertDisplayNameFormat: '{{AlertTitle}}'
      alertDescriptionFormat: '{{Caller}} ran {{OperationName}} on {{ResourceId}} from {{CallerIpAddress}}. Triage with the Runbook column of the alert row.'
      alertSeverityColumnName: 'Severity'
    }
    customDetails: {
      Operation: 'OperationName'
      RuleId: 'RuleId'
      IntegrityTarget: 'IntegrityTarget'
      IntegrityChange: 'IntegrityChange'
      ProtectedScope: 'ProtectedScope'
      CorrelationId: 'CorrelationId'
      // analytics-rule.kql finds the AlertIds Sentinel already alerted by this key in SecurityAlert.
      DetectorAlertId: 'AlertId'
    }
    entityMappings: [
      {
        entityType: 'IP'
        fieldMappings: [
          {
            identifier: 'Address'
            columnName: 'CallerIpAddress'
          }
        ]
      }
      {
        entityType: 'AzureResource'
        fieldMappings: [
          {
            identifier: 'ResourceId'
            columnName: 'ResourceId'
          }
        ]
      }
      {
        entityType: 'Account'
        fieldMappings: [
          {
            identifier: 'Name'
            columnName: 'AccountName'
          }
          {
            identifier: 'UPNSuffix'
            columnName: 'AccountUPNSuffix'
          }
          {
            identifier: 'AadUserId'
            columnName: 'AccountObjectId'
          }
        ]
      }
      {
        entityType: 'Account'
        fieldMappings: [
          {
            identifier: 'AadUserId'
            columnName: 'ApplicationObjectId'
          }
          {
            identifier: 'Name'
            columnName: 'ApplicationId'
          }
        ]
      }
    ]
    incidentConfiguration: {
      createIncident: true
      groupingConfiguration: {
        enabled: true
        reopenClosedIncident: false
        lookbackDuration: incidentGroupingLookback
        matchingMethod: 'Selected'
        groupByEntities: []
        groupByAlertDetails: [
          'DisplayName'
        ]
        groupByCustomDetails: []
      }
    }
  }
}

@description('Resource id of the integrity analytics rule.')
output alertRuleResourceId string = integrityRule.id
