metadata name = 'packet-capture-detector: every subscription of a management group'
metadata description = 'Optional, deployed after infra/main.bicep: an Azure Policy (DeployIfNotExists) that gives every subscription under the management group, including the ones created or moved there later, an Activity Log diagnostic setting to the detector\'s hub; its assignment with a managed identity holding the least roles the remediation needs; and a remediation task for the subscriptions that exist already.'

targetScope = 'managementGroup'

// ---------------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------------

@description('Required. Environment name of the detector deployment (azd: AZURE_ENV_NAME): part of every name here, so that two detector environments can each cover a management group.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Required. Region of the policy assignment\'s managed identity and of the deployments the policy runs.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Required. Subscription of the detector\'s Event Hubs namespace (azd: AZURE_SUBSCRIPTION_ID).')
param eventHubSubscriptionId string

@description('Required. Resource group of the detector\'s Event Hubs namespace (output AZURE_RESOURCE_GROUP).')
param eventHubResourceGroupName string

@description('Required. The detector\'s Event Hubs namespace (output EVENTHUB_NAMESPACE_NAME).')
param eventHubNamespaceName string

@description('Optional. Namespace-level SAS rule the Activity Log export authenticates with (main.bicep exportRuleName).')
param exportRuleName string = 'activity-log-export'

@description('Optional. Hub that receives the Activity Log (output EVENTHUB_NAME).')
param eventHubName string = 'insights-activity-logs'

@description('Optional. Name of the diagnostic setting the policy creates in each subscription (a subscription holds at most five). The detector\'s own subscription already has one to the hub, which satisfies the policy.')
param diagnosticSettingName string = 'packet-capture-detector-${environmentName}'

@description('Optional. Activity Log categories the setting must export. Administrative carries the operations the detector looks for.')
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

@description('Optional. DeployIfNotExists creates missing settings; AuditIfNotExists only reports subscriptions without one; Disabled turns the policy off.')
@allowed([
  'DeployIfNotExists'
  'AuditIfNotExists'
  'Disabled'
])
param policyEffect string = 'DeployIfNotExists'

@description('Optional. Resource ids of subscriptions or management groups below this one to leave out (policy notScopes).')
param excludedScopes string[] = []

@description('Optional. Create a remediation task for the subscriptions already known to be non-compliant. Right after the first assignment the compliance scan has not run yet: deploy again (a new task each time) once it has.')
param createRemediationTask bool = true

@description('Optional. Names this deployment\'s remediation task: give a new value (a date, a counter) to run a new task, e.g. once the first compliance scan has finished.')
@minLength(1)
@maxLength(20)
param remediationRunId string = '1'

// ---------------------------------------------------------------------------------------------------------------
// Names and roles
// ---------------------------------------------------------------------------------------------------------------

var token = toLower(uniqueString(managementGroup().id, environmentName))
var exportRuleId = resourceId(
  eventHubSubscriptionId,
  eventHubResourceGroupName,
  'Microsoft.EventHub/namespaces/authorizationRules',
  eventHubNamespaceName,
  exportRuleName
)
var names = {
  deploymentPrefix: 'pcd-al-${token}'
  policyDefinition: 'pcd-activity-log-${token}'
  // Management-group policy assignment names are at most 24 characters.
  policyAssignment: 'pcd-al-${token}'
}
var remediationName = 'pcd-al-${token}-${remediationRunId}'
// Known before deployment, so that the policy rule and the role assignment can name the role up front.
var exportKeyRoleGuid = guid(
  eventHubSubscriptionId,
  eventHubResourceGroupName,
  environmentName,
  'packet-capture-detector-export-key'
)
var exportKeyRoleId = subscriptionResourceId(
  eventHubSubscriptionId,
  'Microsoft.Authorization/roleDefinitions',
  exportKeyRoleGuid
)
// Role assignments for a policy's system-assigned identity are named from the assignment, as the AVM
// policy-assignment module names them: known before deployment (What-If), stable across redeployments.
var policyAssignmentId = extensionResourceId(
  managementGroup().id,
  'Microsoft.Authorization/policyAssignments',
  names.policyAssignment
)

// The roles of the policy's identity, each with its scope and why. DeployIfNotExists runs a subscription-scope
// deployment that creates a diagnostic setting naming the SAS rule: Monitoring Contributor covers the setting and
// the deployment (Microsoft.Insights/DiagnosticSettings/*, Microsoft.Resources/deployments/*), and creating a
// setting that names an Event Hubs rule also needs listkeys on that rule, which Monitoring Contributor lacks.
var roleTable = {
  monitoringContributor: {
    role: 'Monitoring Contributor'
    roleDefinitionGuid: '749f88d5-cbae-40b8-bcfc-e573ddc772fa'
    scope: 'managementGroup'
    reason: 'packet-capture-detector Activity Log policy: creates the subscription diagnostic setting and the deployment that writes it, in every subscription under the management group.'
  }
  exportKeyReader: {
    role: 'packet-capture-detector Activity Log export key reader'
    scope: 'exportRule'
    reason: 'packet-capture-detector Activity Log policy: a diagnostic setting that names the SAS rule needs its keys listed.'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------------------

module exportKeyRole 'modules/export-key-role.bicep' = {
  name: '${names.deploymentPrefix}-key-role'
  scope: subscription(eventHubSubscriptionId)
  params: {
    roleGuid: exportKeyRoleGuid
    resourceGroupName: eventHubResourceGroupName
    environmentName: environmentName
  }
}

resource policyDefinition 'Microsoft.Authorization/policyDefinitions@2025-03-01' = {
  name: names.policyDefinition
  properties: {
    policyType: 'Custom'
    mode: 'All'
    displayName: 'packet-capture-detector (${environmentName}): stream the Activity Log to the detector\'s hub'
    description: 'Deploys a subscription diagnostic setting that sends the Activity Log categories given to the packet-capture-detector Event Hub, when the subscription has none sending them to that hub.'
    metadata: {
      category: 'Monitoring'
      version: '1.0.0'
    }
    parameters: {
      effect: {
        type: 'String'
        allowedValues: [
          'DeployIfNotExists'
          'AuditIfNotExists'
          'Disabled'
        ]
        defaultValue: 'DeployIfNotExists'
        metadata: {
          displayName: 'Effect'
        }
      }
      eventHubAuthorizationRuleId: {
        type: 'String'
        metadata: {
          displayName: 'Event Hubs authorization rule'
          description: 'Namespace-level SAS rule of the detector\'s namespace.'
          strongType: 'Microsoft.EventHub/Namespaces/AuthorizationRules'
        }
      }
      eventHubName: {
        type: 'String'
        metadata: {
          displayName: 'Event Hub'
        }
      }
      diagnosticSettingName: {
        type: 'String'
        metadata: {
          displayName: 'Diagnostic setting name'
        }
      }
      categories: {
        type: 'Array'
        metadata: {
          displayName: 'Activity Log categories'
        }
      }
    }
    // Strings such as '[parameters('effect')]' are the policy's own expressions: Bicep writes them escaped, so
    // that Resource Manager stores them for Azure Policy instead of evaluating them in this deployment.
    policyRule: {
      if: {
        field: 'type'
        equals: 'Microsoft.Resources/subscriptions'
      }
      then: {
        effect: '[parameters(\'effect\')]'
        details: {
          type: 'Microsoft.Insights/diagnosticSettings'
          existenceScope: 'subscription'
          deploymentScope: 'subscription'
          roleDefinitionIds: [
            tenantResourceId(
              'Microsoft.Authorization/roleDefinitions',
              roleTable.monitoringContributor.roleDefinitionGuid
            )
            exportKeyRoleId
          ]
          // Compliant: a setting (whatever its name) that sends every category asked for to this hub with this rule.
          existenceCondition: {
            allOf: [
              {
                field: 'Microsoft.Insights/diagnosticSettings/eventHubAuthorizationRuleId'
                equals: '[parameters(\'eventHubAuthorizationRuleId\')]'
              }
              {
                field: 'Microsoft.Insights/diagnosticSettings/eventHubName'
                equals: '[parameters(\'eventHubName\')]'
              }
              {
                count: {
                  field: 'Microsoft.Insights/diagnosticSettings/logs[*]'
                  where: {
                    allOf: [
                      {
                        field: 'Microsoft.Insights/diagnosticSettings/logs[*].category'
                        in: '[parameters(\'categories\')]'
                      }
                      {
                        field: 'Microsoft.Insights/diagnosticSettings/logs[*].enabled'
                        equals: 'true'
                      }
                    ]
                  }
                }
                equals: '[length(parameters(\'categories\'))]'
              }
            ]
          }
          deployment: {
            location: location
            properties: {
              mode: 'incremental'
              template: {
                '$schema': 'https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#'
                contentVersion: '1.0.0.0'
                parameters: {
                  settingName: {
                    type: 'string'
                  }
                  eventHubAuthorizationRuleId: {
                    type: 'string'
                  }
                  eventHubName: {
                    type: 'string'
                  }
                  categories: {
                    type: 'array'
                  }
                }
                resources: [
                  {
                    type: 'Microsoft.Insights/diagnosticSettings'
                    apiVersion: '2021-05-01-preview'
                    name: '[parameters(\'settingName\')]'
                    properties: {
                      eventHubAuthorizationRuleId: '[parameters(\'eventHubAuthorizationRuleId\')]'
                      eventHubName: '[parameters(\'eventHubName\')]'
                      copy: [
                        {
                          name: 'logs'
                          count: '[length(parameters(\'categories\'))]'
                          input: {
                            category: '[parameters(\'categories\')[copyIndex(\'logs\')]]'
                            enabled: true
                          }
                        }
                      ]
                    }
                  }
                ]
              }
              parameters: {
                settingName: {
                  value: '[parameters(\'diagnosticSettingName\')]'
                }
                eventHubAuthorizationRuleId: {
                  value: '[parameters(\'eventHubAuthorizationRuleId\')]'
                }
                eventHubName: {
                  value: '[parameters(\'eventHubName\')]'
                }
                categories: {
                  value: '[parameters(\'categories\')]'
                }
              }
            }
          }
        }
      }
    }
  }
}

resource policyAssignment 'Microsoft.Authorization/policyAssignments@2025-03-01' = {
  name: names.policyAssignment
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    displayName: 'packet-capture-detector (${environmentName}): Activity Log of every subscription to the detector\'s hub'
    description: 'Every subscription under this management group streams its Activity Log to the packet-capture-detector hub ${eventHubNamespaceName}/${eventHubName}.'
    policyDefinitionId: policyDefinition.id
    enforcementMode: 'Default'
    notScopes: excludedScopes
    parameters: {
      effect: {
        value: policyEffect
      }
      eventHubAuthorizationRuleId: {
        value: exportRuleId
      }
      eventHubName: {
        value: eventHubName
      }
      diagnosticSettingName: {
        value: diagnosticSettingName
      }
      categories: {
        value: activityLogCategories
      }
    }
    nonComplianceMessages: [
      {
        message: 'The Activity Log of this subscription must stream to the packet-capture-detector hub (a diagnostic setting with the categories ${join(activityLogCategories, ', ')}).'
      }
    ]
  }
}

module monitoringContributor 'modules/management-group-role-assignment.bicep' = {
  name: '${names.deploymentPrefix}-monitoring-contributor'
  params: {
    policyAssignmentId: policyAssignmentId
    principalId: policyAssignment.identity.principalId
    roleDefinitionGuid: roleTable.monitoringContributor.roleDefinitionGuid
    reason: roleTable.monitoringContributor.reason
  }
}

module exportKeyReader 'modules/export-rule-role-assignment.bicep' = {
  name: '${names.deploymentPrefix}-export-key-reader'
  scope: resourceGroup(eventHubSubscriptionId, eventHubResourceGroupName)
  // The role must exist before it is assigned.
  dependsOn: [
    exportKeyRole
  ]
  params: {
    eventHubNamespaceName: eventHubNamespaceName
    exportRuleName: exportRuleName
    policyAssignmentId: policyAssignmentId
    principalId: policyAssignment.identity.principalId
    roleDefinitionId: exportKeyRoleId
  }
}

// Remediates the subscriptions the compliance state knows to be non-compliant (at management group scope a task
// cannot re-evaluate compliance first). New subscriptions need no task: DeployIfNotExists runs on their creation.
resource remediation 'Microsoft.PolicyInsights/remediations@2024-10-01' = if (createRemediationTask && policyEffect == 'DeployIfNotExists') {
  name: remediationName
  dependsOn: [
    monitoringContributor
    exportKeyReader
  ]
  properties: {
    policyAssignmentId: policyAssignment.id
    resourceDiscoveryMode: 'ExistingNonCompliant'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------------------------

@description('Resource id of the policy definition.')
output policyDefinitionId string = policyDefinition.id

@description('Resource id of the policy assignment (for `az policy state` and `az policy remediation`).')
output policyAssignmentId string = policyAssignment.id

@description('Name of the policy assignment.')
output policyAssignmentName string = policyAssignment.name

@description('Principal id of the assignment\'s managed identity.')
output policyAssignmentPrincipalId string = policyAssignment.identity.principalId

@description('Resource id of the export key role.')
output exportKeyRoleDefinitionId string = exportKeyRole.outputs.roleDefinitionId

@description('Resource id of the SAS rule the policy\'s settings send with.')
output eventHubAuthorizationRuleId string = exportRuleId

@description('Name of the remediation task this deployment created (empty: none).')
output remediationName string = createRemediationTask && policyEffect == 'DeployIfNotExists' ? remediation.name : ''
