metadata name = 'Microsoft Sentinel content'
metadata description = 'Sentinel on the workspace, the scheduled analytics rule that turns alert rows into incidents, and the runbook\'s hunting queries.'

@description('Name of the existing workspace.')
param workspaceName string

@description('Onboard the workspace to Sentinel. Set false when it is onboarded already.')
param onboard bool

@description('Name of the alert table; passed so that the rule is created after the table exists.')
param tableName string

@description('Create the analytics rule enabled.')
param alertRuleEnabled bool

@description('How far back (ISO 8601 duration, TimeGenerated) each run looks: how late a redelivered copy may come and still raise nothing, and how long a row a skipped run missed is still caught up. At least PT10M, at most P14D (Sentinel\'s maximum).')
param alertRuleQueryPeriod string

@description('Incidents group alerts with the same name (the alert title) created within this duration (Panther: 60 minutes).')
param incidentGroupingLookback string

// Fixed, because analytics-rule.kql's runWindow (6m) is this plus one minute; test/infra checks they agree.
var alertRuleQueryFrequency = 'PT5M'

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-02-01' existing = {
  name: workspaceName
}

resource onboarding 'Microsoft.SecurityInsights/onboardingStates@2025-09-01' = if (onboard) {
  scope: workspace
  name: 'default'
  properties: {}
}

// The detection rule's operations (generated from it), defined ahead of the queries that read AzureActivity.
var captureOperations = loadTextContent('../generated/capture-operations.kql')

// The repository's allowlist (allowlist.csv): the function ships the same file (ALLOWLIST_PATH) and applies it; the
// watchlist shows it to analysts where they work. test/infra checks the deployed content is that file.
var allowlistCsv = loadTextContent('../../allowlist.csv')
// A watchlist needs items: deployed once the file has a row below its header.
var allowlistHasRows = contains(trim(allowlistCsv), '\n')

resource allowlistWatchlist 'Microsoft.SecurityInsights/watchlists@2025-09-01' = if (allowlistHasRows) {
  scope: workspace
  name: 'PacketCaptureAllowlist'
  dependsOn: [
    onboarding
  ]
  properties: {
    displayName: 'Packet capture detector allowlist'
    description: 'Captures packet-capture-detector writes as Suppressed (no incident), from allowlist.csv in the detector\'s repository, deployed with the function. The repository file is the source of truth: edit it there and redeploy (azd up). A change made here is not applied by the detector, and a deployment may overwrite it.'
    provider: 'packet-capture-detector'
    source: 'allowlist.csv'
    sourceType: 'Local file'
    // Reason is the one column every row has (a row may leave Caller empty).
    itemsSearchKey: 'Reason'
    contentType: 'text/csv'
    numberOfLinesToSkip: 0
    rawContent: allowlistCsv
  }
}

resource alertRule 'Microsoft.SecurityInsights/alertRules@2025-09-01' = {
  scope: workspace
  // A stable id: redeploying updates the same rule.
  name: guid(workspace.id, 'packet-capture-detector', tableName)
  kind: 'Scheduled'
  dependsOn: [
    onboarding
  ]
  properties: {
    displayName: 'Azure Network Packet Capture Enabled'
    description: 'A network packet capture or traffic mirror was started in Azure (Network Watcher, VPN or ExpressRoute gateway, Azure Firewall, virtual network TAP). Captures can expose unencrypted credentials and data in transit (MITRE ATT&CK T1040, Network Sniffing). Raised from the rows packet-capture-detector writes to ${tableName}.'
    enabled: alertRuleEnabled
    severity: 'Medium'
    // Sentinel takes at most 10,000 characters of query; test/infra checks the length.
    query: '${captureOperations}${loadTextContent('../queries/analytics-rule.kql')}'
    queryFrequency: alertRuleQueryFrequency
    queryPeriod: alertRuleQueryPeriod
    triggerOperator: 'GreaterThan'
    triggerThreshold: 0
    suppressionEnabled: false
    suppressionDuration: 'PT5H'
    tactics: [
      'CredentialAccess'
    ]
    techniques: [
      'T1040'
    ]
    eventGroupingSettings: {
      aggregationKind: 'AlertPerResult'
    }
    // Name and description say what is captured and where it goes; the severity is the detector's, raised one step
    // for a caller's first capture in 90 days (IncidentSeverityReason says so, in the description and a detail).
    alertDetailsOverride: {
      alertDisplayNameFormat: '{{AlertName}}'
      alertDescriptionFormat: '{{AlertDescription}}'
      alertSeverityColumnName: 'IncidentSeverity'
    }
    // At most 20 (Sentinel's limit; test/infra checks it).
    customDetails: {
      // analytics-rule.kql finds the AlertIds (and severities) Sentinel already alerted by these keys in SecurityAlert.
      DetectorAlertId: 'AlertId'
      DetectorSeverity: 'Severity'
      SeverityReason: 'IncidentSeverityReason'
      Operation: 'OperationName'
      CaptureKind: 'CaptureKind'
      CaptureTarget: 'CaptureTarget'
      CaptureStorage: 'CaptureStorage'
      DestinationSubscription: 'DestinationSubscription'
      Location: 'Location'
      CallerKind: 'CallerKind'
      // Runbook step 3: the caller's and its IP's earlier captures (90 days), and step 2: the 6 hours up to it.
      CallerHistory: 'CallerHistory'
      CallerPriorCaptures: 'PriorByCaller'
      CallerIpPriorCaptures: 'PriorByIp'
      CallerLastCapture: 'LastByCaller'
      CapturesLast6h: 'CapturesLast6h'
      CallersLast6h: 'CallersLast6h'
      CorrelationId: 'CorrelationId'
      // The seed's title (Panther's dedup key): incidents group by it.
      GroupingTitle: 'AlertTitle'
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
        // The resource the operation acted on (a packet capture, gateway, firewall, TAP, NIC TAP configuration).
        entityType: 'AzureResource'
        fieldMappings: [
          {
            identifier: 'ResourceId'
            columnName: 'ResourceId'
          }
        ]
      }
      {
        // What is captured, when it is another resource (a Network Watcher capture's VM or scale set, a TAP's NIC).
        entityType: 'AzureResource'
        fieldMappings: [
          {
            identifier: 'ResourceId'
            columnName: 'CapturedResourceId'
          }
        ]
      }
      {
        // Where the traffic goes, when the records name it by id (storage account, load balancer, NIC, TAP).
        entityType: 'AzureResource'
        fieldMappings: [
          {
            identifier: 'ResourceId'
            columnName: 'DestinationResourceId'
          }
        ]
      }
      {
        // A user: its UPN, as name and suffix (the strong Name+UPNSuffix identifier), and its Entra object id.
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
        // A service principal or managed identity: its Entra object id (AadUserId) and its application id.
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
        // Panther's default dedup: alerts with the same title (the seed's, by location) within 60 minutes form
        // one incident. The alert name says more than the title, so group by the title's custom detail.
        enabled: true
        reopenClosedIncident: false
        lookbackDuration: incidentGroupingLookback
        matchingMethod: 'Selected'
        groupByEntities: []
        groupByAlertDetails: []
        groupByCustomDetails: [
          'GroupingTitle'
        ]
      }
    }
  }
}

var huntingQueries = [
  {
    name: 'packet-capture-caller-network-operations'
    displayName: 'Packet capture: network diagnostic operations by the caller IP, 24 h around the alert'
    description: 'Runbook step 1. All packet capture, Network Watcher and TAP operations from a caller IP in the 24 hours before and after the alert (set CallerIp, and AroundTime to the alert time; empty: the callers of the last 7 days\' alerts).'
    query: loadTextContent('../queries/hunting-caller-network-operations.kql')
  }
  {
    name: 'packet-capture-recent-captures'
    displayName: 'Packet capture: captures and traffic mirrors started in the last 6 hours'
    description: 'Runbook step 2. Every capture or mirror started in the last 6 hours, from the detector\'s alerts and from AzureActivity (captures the detector missed show InDetector false), to scope the possible credential sniffing.'
    query: '${captureOperations}${loadTextContent('../queries/hunting-recent-captures.kql')}'
  }
  {
    name: 'packet-capture-caller-history'
    displayName: 'Packet capture: captures by the caller IP in the last 90 days'
    description: 'Runbook step 3. Whether the caller IP started captures in the 90 days before the alert (the alert itself not counted): on several days suggests troubleshooting, never suggests a first-time use (set CallerIp).'
    query: '${captureOperations}${loadTextContent('../queries/hunting-caller-history.kql')}'
  }
]

resource hunting 'Microsoft.OperationalInsights/workspaces/savedSearches@2025-02-01' = [
  for q in huntingQueries: {
    parent: workspace
    name: q.name
    properties: {
      // '*' overwrites the saved search when it exists already; without it a redeployment fails with 409
      // Conflict (MicrosoftDocs/azure-docs#49275). Resource Manager accepts it here, inside properties (as the
      // AVM saved-search module sets it; Azure/azure-rest-api-specs#24585), while the Bicep types declare it
      // only at the top level (Azure/bicep#5256), hence this one suppressed type warning.
      #disable-next-line BCP037
      etag: '*'
      category: 'Hunting Queries'
      displayName: q.displayName
      query: q.query
      version: 2
      tags: [
        {
          name: 'description'
          value: q.description
        }
        {
          name: 'tactics'
          value: 'CredentialAccess'
        }
        {
          name: 'techniques'
          value: 'T1040'
        }
      ]
    }
  }
]

@description('Resource id of the analytics rule.')
output alertRuleResourceId string = alertRule.id

@description('Alias of the allowlist watchlist (empty while allowlist.csv has no row).')
output allowlistWatchlistAlias string = allowlistHasRows ? allowlistWatchlist.name : ''

@description('Names of the hunting queries.')
output huntingQueryNames string[] = [for (q, i) in huntingQueries: hunting[i].name]
