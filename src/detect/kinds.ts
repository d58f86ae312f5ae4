/*
 * Every `kind` the registered rules' operation patterns produce (the alert's `CaptureKind` column), by rule.
 * A plain list, apart from the rules, so that the allowlist can check its `CaptureKind` column at the
 * function's start without loading every rule module (their pattern tables are built when the first batch
 * arrives; BENCHMARKS.md › Cold start). test/detect/registry.test.ts keeps it equal to the registry's.
 */
export const RULE_KINDS: Readonly<Record<string, readonly string[]>> = {
  'Azure.MonitorActivity.Network.PacketCaptureEnabled': [
    'NetworkWatcher',
    'VpnConnection',
    'VirtualNetworkGateway',
    'GatewayConnection',
    'VpnGateway',
    'AzureFirewall',
    'VirtualNetworkTap',
    'NetworkInterfaceTap',
  ],
  'Azure.MonitorActivity.DetectorIntegrity.ActivityLogExportChanged': ['ActivityLogExport'],
  'Azure.MonitorActivity.DetectorIntegrity.ExportHubTampered': [
    'NamespaceAuthorizationRule',
    'EventHubAuthorizationRule',
    'EventHubsNamespace',
    'EventHub',
    'ConsumerGroup',
  ],
  'Azure.MonitorActivity.DetectorIntegrity.DetectorResourceChanged': [
    'FunctionApp',
    'FunctionPlan',
    'Identity',
    'RoleAssignment',
    'DataCollectionRule',
    'WorkspaceTable',
    'Workspace',
    'AnalyticsRule',
    'AutomationRule',
    'Sentinel',
    'Storage',
    'ApplicationInsights',
    'OperatorAlertRule',
    'ActionGroup',
  ],
};
