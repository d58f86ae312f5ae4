metadata name = 'Operator alerts'
metadata description = 'Azure Monitor scheduled query rules that tell the operators when the detector hurts (alerts dead-lettered, batches failed, a partition retrying one batch, malformed input) from its Application Insights logs, and when Activity Log stops arriving or arrives late (silence and lag) from its health rows; an action group with the given receivers.'

@description('Required. Region of the alert rules.')
param location string

@description('Required. Prefix of the rule and action group names (the deployment\'s name prefix and token).')
param namePrefix string

@description('Required. Name of the detector\'s Application Insights component (the operator rules query its traces and exceptions).')
param applicationInsightsName string

@description('Required. Resource id of the workspace holding the health table (the silence and lag rules query it).')
param workspaceResourceId string

@description('Required. Name of the health table; passed so that the health rules are created after it.')
param healthTableName string

@description('Required. Email addresses the action group notifies. Empty: no action group; the alerts still fire in Azure Monitor > Alerts.')
param emailReceivers string[]

@description('Required. Create the rules enabled.')
param enabled bool

@description('Required. Minutes a partition may retry the same batch before the retrying rule alerts.')
@minValue(15)
@maxValue(1440)
param retryingBatchMinutes int

@description('Required. Percentage of malformed messages (of all messages in 15 minutes) above which the malformed-input rule alerts.')
@minValue(0)
@maxValue(100)
param malformedPercent int

@description('Required. Fewest malformed messages in 15 minutes that can raise the malformed-input rule.')
@minValue(1)
param malformedMinimum int

@description('Required. Minutes without records from a subscription that sent within the baseline before the silence rule alerts.')
@minValue(15)
@maxValue(2880)
param silenceMinutes int

@description('Required. How far back (hours, at most 48: the longest a log search alert queries) a subscription must have sent to be expected.')
@minValue(2)
@maxValue(48)
param silenceBaselineHours int

@description('Required. Minutes between a record\'s time and its processing above which the lag rule alerts.')
@minValue(5)
@maxValue(1440)
param lagMinutes int

@description('Required. Tags.')
param tags object

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(emailReceivers)) {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'pcd-ops'
    enabled: true
    emailReceivers: [
      for (address, i) in emailReceivers: {
        name: 'operator-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

// The log messages the operator rules match, generated from the constants the code logs them with.
var logMessages = loadTextContent('../generated/log-messages.kql')

// One table of rules: what each watches, where, how often, and its query (thresholds prepended as `let`s).
var rules = [
  {
    name: 'alerts-dead-lettered'
    displayName: 'Packet capture detector: alerts dead-lettered'
    description: 'Alerts could not be delivered to the alert table within the delivery budget and were written to the dead-letter container. Runbook: README > Operator alerts > Alerts dead-lettered.'
    severity: 1
    scope: appInsights.id
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    overrideQueryTimeRange: ''
    dimensions: ['PartitionId']
    query: '${logMessages}${loadTextContent('../queries/operator-alerts-dead-lettered.kql')}'
  }
  {
    name: 'message-set-aside'
    displayName: 'Packet capture detector: a message was set aside'
    description: 'A batch failed three times the same way and one of its messages failed on its own too: it was kept in the dead-letter container (malformed/) so that the partition moves on, and alerts it holds may not have been delivered. Runbook: README > Operator alerts > A message was set aside.'
    severity: 1
    scope: appInsights.id
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    overrideQueryTimeRange: ''
    dimensions: ['PartitionId']
    query: '${logMessages}${loadTextContent('../queries/operator-message-set-aside.kql')}'
  }
  {
    name: 'batches-failed'
    displayName: 'Packet capture detector: batches failed'
    description: 'A batch could neither deliver nor dead-letter its alerts, or an invocation threw: the partition retries it and its checkpoint does not move. Runbook: README > Operator alerts > Batches failed.'
    severity: 1
    scope: appInsights.id
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    overrideQueryTimeRange: ''
    dimensions: ['Kind']
    query: '${logMessages}${loadTextContent('../queries/operator-batches-failed.kql')}'
  }
  {
    name: 'partition-retrying-batch'
    displayName: 'Packet capture detector: a partition retries the same batch'
    description: 'A partition has retried the same batch for more than ${retryingBatchMinutes} minutes and still fails: its newer events wait. Runbook: README > Operator alerts > A partition retries the same batch.'
    severity: 0
    scope: appInsights.id
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
    overrideQueryTimeRange: 'P2D'
    dimensions: ['PartitionId']
    query: '${logMessages}let RetryingFor = ${retryingBatchMinutes}m;\nlet StillFailingWithin = 20m;\n${loadTextContent('../queries/operator-retrying-batch.kql')}'
  }
  {
    name: 'malformed-input'
    displayName: 'Packet capture detector: malformed input above ${malformedPercent} %'
    description: 'More than ${malformedPercent} % of the messages of the last 15 minutes (at least ${malformedMinimum}) were malformed. Runbook: README > Operator alerts > Malformed input.'
    severity: 2
    scope: appInsights.id
    windowSize: 'PT15M'
    evaluationFrequency: 'PT15M'
    overrideQueryTimeRange: ''
    dimensions: []
    query: '${logMessages}let MalformedPercent = ${malformedPercent};\nlet MalformedMinimum = ${malformedMinimum};\n${loadTextContent('../queries/operator-malformed-input.kql')}'
  }
  {
    name: 'subscription-silent'
    displayName: 'Packet capture detector: a subscription stopped sending Activity Log'
    description: 'A subscription that sent Activity Log records in the last ${silenceBaselineHours} hours has sent none for ${silenceMinutes} minutes (health rows in ${healthTableName}). Runbook: README > Operator alerts > A subscription went silent.'
    severity: 1
    scope: workspaceResourceId
    windowSize: 'PT1H'
    evaluationFrequency: 'PT15M'
    overrideQueryTimeRange: 'PT${silenceBaselineHours}H'
    dimensions: ['SubscriptionId']
    query: 'let SilentFor = ${silenceMinutes}m;\n${loadTextContent('../queries/health-silence.kql')}'
  }
  {
    name: 'ingestion-lag'
    displayName: 'Packet capture detector: Activity Log arrives late'
    description: 'The freshest record processed for a subscription was older than ${lagMinutes} minutes when the detector processed it. Runbook: README > Operator alerts > Ingestion lag.'
    severity: 2
    scope: workspaceResourceId
    windowSize: 'PT30M'
    evaluationFrequency: 'PT15M'
    overrideQueryTimeRange: ''
    dimensions: ['SubscriptionId']
    query: 'let LagThreshold = ${lagMinutes}m;\n${loadTextContent('../queries/health-lag.kql')}'
  }
]

resource rule 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for r in rules: {
    name: '${namePrefix}-${r.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: r.displayName
      description: r.description
      severity: r.severity
      enabled: enabled
      scopes: [
        r.scope
      ]
      evaluationFrequency: r.evaluationFrequency
      windowSize: r.windowSize
      overrideQueryTimeRange: empty(r.overrideQueryTimeRange) ? null : r.overrideQueryTimeRange
      criteria: {
        allOf: [
          {
            query: r.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            dimensions: [
              for d in r.dimensions: {
                name: d
                operator: 'Include'
                values: [
                  '*'
                ]
              }
            ]
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(emailReceivers) ? [] : [actionGroup.id]
      }
    }
  }
]

@description('Names of the alert rules.')
output ruleNames string[] = [for (r, i) in rules: rule[i].name]

@description('Resource id of the action group (empty when no receiver was given).')
output actionGroupId string = empty(emailReceivers) ? '' : actionGroup.id
