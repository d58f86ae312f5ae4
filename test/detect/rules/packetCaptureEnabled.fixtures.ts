import type { CaptureKind } from '../../../src/detect/rules/packetCaptureEnabled';
import type { RuleFixture } from '../../../src/detect/types';

/**
 * Positive, negative and near-miss cases for every documented capture-starting operation (the Microsoft.Network permissions list),
 * written out independently of the rule's own pattern table so that a pattern typo fails a test.
 */
interface OperationCase {
  readonly operation: string;
  readonly kind: CaptureKind;
  readonly resourceId: string;
  /** Sibling operations on the same resource that must never alert. */
  readonly siblings: readonly string[];
}

const SUB = '/subscriptions/00000000-0000-0000-0000-0000000000aa';
const NET = `${SUB}/resourceGroups/rg-net/providers/Microsoft.Network`;

export const OPERATION_CASES: readonly OperationCase[] = [
  {
    operation: 'Microsoft.Network/networkWatchers/packetCaptures/write',
    kind: 'NetworkWatcher',
    resourceId: `${NET}/networkWatchers/NetworkWatcher_eastus/packetCaptures/pc1`,
    siblings: [
      'Microsoft.Network/networkWatchers/packetCaptures/stop/action',
      'Microsoft.Network/networkWatchers/packetCaptures/queryStatus/action',
      'Microsoft.Network/networkWatchers/packetCaptures/read',
      'Microsoft.Network/networkWatchers/packetCaptures/delete',
      'Microsoft.Network/networkWatchers/write',
    ],
  },
  {
    operation: 'microsoft.network/virtualnetworkgateways/startpacketcapture/action',
    kind: 'VirtualNetworkGateway',
    resourceId: `${NET}/virtualNetworkGateways/vgw1`,
    siblings: [
      'microsoft.network/virtualnetworkgateways/stoppacketcapture/action',
      'Microsoft.Network/virtualNetworkGateways/read',
      'Microsoft.Network/virtualNetworkGateways/delete',
    ],
  },
  {
    operation: 'Microsoft.Network/connections/startpacketcapture/action',
    kind: 'GatewayConnection',
    resourceId: `${NET}/connections/cn1`,
    siblings: [
      'Microsoft.Network/connections/stoppacketcapture/action',
      'Microsoft.Network/connections/read',
      'Microsoft.Network/connections/delete',
    ],
  },
  {
    operation: 'microsoft.network/vpngateways/startpacketcapture/action',
    kind: 'VpnGateway',
    resourceId: `${NET}/vpnGateways/vpngw1`,
    siblings: [
      'microsoft.network/vpngateways/stoppacketcapture/action',
      'Microsoft.Network/vpnGateways/read',
      'Microsoft.Network/vpnGateways/delete',
    ],
  },
  {
    operation: 'microsoft.network/vpnGateways/vpnConnections/startpacketcapture/action',
    kind: 'VpnConnection',
    resourceId: `${NET}/vpnGateways/vpngw1/vpnConnections/conn1`,
    siblings: [
      'microsoft.network/vpnGateways/vpnConnections/stoppacketcapture/action',
      'Microsoft.Network/vpnGateways/vpnConnections/read',
      'Microsoft.Network/vpnGateways/vpnConnections/delete',
    ],
  },
  {
    operation: 'Microsoft.Network/azurefirewalls/packetCapture/action',
    kind: 'AzureFirewall',
    resourceId: `${NET}/azureFirewalls/afw1`,
    siblings: ['Microsoft.Network/azureFirewalls/read', 'Microsoft.Network/azureFirewalls/delete'],
  },
  {
    operation: 'Microsoft.Network/virtualNetworkTaps/write',
    kind: 'VirtualNetworkTap',
    resourceId: `${NET}/virtualNetworkTaps/tap1`,
    siblings: ['Microsoft.Network/virtualNetworkTaps/read', 'Microsoft.Network/virtualNetworkTaps/delete'],
  },
  {
    operation: 'Microsoft.Network/networkInterfaces/tapConfigurations/write',
    kind: 'NetworkInterfaceTap',
    resourceId: `${NET}/networkInterfaces/nic1/tapConfigurations/tc1`,
    siblings: [
      'Microsoft.Network/networkInterfaces/tapConfigurations/read',
      'Microsoft.Network/networkInterfaces/tapConfigurations/delete',
    ],
  },
];

function log(
  operationName: string,
  resultType: string,
  resourceId: string,
  extra: Record<string, unknown> = {},
) {
  return {
    time: '2025-12-22T10:30:00.0000000Z',
    resourceId: resourceId.toUpperCase(),
    operationName,
    category: 'Administrative',
    resultType,
    callerIpAddress: '203.0.113.5',
    correlationId: '11111111-2222-3333-4444-555555555555',
    location: 'eastus',
    tenantId: '87654321-4321-4321-4321-111111111111',
    ...extra,
  };
}

function casesFor(c: OperationCase): RuleFixture[] {
  const fixtures: RuleFixture[] = [];
  for (const [variant, op] of [
    ['documented case', c.operation],
    ['upper case', c.operation.toUpperCase()],
    ['lower case', c.operation.toLowerCase()],
  ] as const) {
    for (const result of ['Success', 'Succeeded', 'success', 'SUCCEEDED']) {
      fixtures.push({
        name: `${c.kind}: ${op} ${result} (${variant})`,
        expected: true,
        kind: 'positive',
        expectedKind: c.kind,
        // No body: the destination is unknown, so the seed's Medium.
        expectedSeverity: 'Medium',
        log: log(op, result, c.resourceId),
      });
    }
  }
  for (const result of ['Start', 'Accept', 'Failure', 'Failed', 'Canceled', '']) {
    fixtures.push({
      name: `${c.kind}: ${c.operation} with result "${result}"`,
      expected: false,
      kind: 'negative',
      log: log(c.operation.toUpperCase(), result, c.resourceId),
    });
  }
  for (const sibling of c.siblings) {
    fixtures.push({
      name: `${c.kind}: sibling ${sibling} Success`,
      expected: false,
      kind: 'nearMiss',
      log: log(sibling.toUpperCase(), 'Success', c.resourceId),
    });
  }
  fixtures.push({
    name: `${c.kind}: capture operation only in properties`,
    expected: false,
    kind: 'nearMiss',
    log: log(
      'MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE',
      'Success',
      `${SUB}/resourceGroups/rg-net/providers/Microsoft.Resources/deployments/d1`,
      {
        properties: { message: c.operation, requestbody: JSON.stringify({ operationName: c.operation }) },
      },
    ),
  });
  fixtures.push({
    name: `${c.kind}: capture operation only in resourceId`,
    expected: false,
    kind: 'nearMiss',
    log: log(
      'MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE',
      'Success',
      `${c.resourceId}/providers/${c.operation}`,
    ),
  });
  return fixtures;
}

const OTHER_SUB = '/subscriptions/00000000-0000-0000-0000-0000000000bb';
const storageId = (sub: string, account: string) =>
  `${sub}/resourceGroups/rg-diag/providers/Microsoft.Storage/storageAccounts/${account}`;

/** A success record carrying its operation's request body (as the REST shape and some exports do). */
function withBody(c: OperationCase, requestBody: Record<string, unknown>) {
  return log(c.operation.toUpperCase(), 'Success', c.resourceId, {
    properties: { requestbody: JSON.stringify(requestBody) },
  });
}

const byKind = (kind: CaptureKind) => OPERATION_CASES.find((c) => c.kind === kind)!;

/** Severity from where the traffic goes (src/detect/rules/packetCaptureSeverity.ts). */
const SEVERITY_FIXTURES: readonly RuleFixture[] = [
  {
    name: 'severity: Network Watcher capture to a storage account in another subscription is High',
    expected: true,
    kind: 'positive',
    expectedKind: 'NetworkWatcher',
    expectedSeverity: 'High',
    log: withBody(byKind('NetworkWatcher'), {
      properties: {
        target: `${SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1`,
        storageLocation: {
          storageId: storageId(OTHER_SUB, 'stsink'),
          storagePath: 'https://stsink.blob.core.windows.net/pcap/c.cap?sv=2022&sig=FAKEsig',
        },
      },
    }),
  },
  {
    name: "severity: Network Watcher capture to its own subscription's storage account (storagePath of that account) is Medium",
    expected: true,
    kind: 'positive',
    expectedKind: 'NetworkWatcher',
    expectedSeverity: 'Medium',
    log: withBody(byKind('NetworkWatcher'), {
      properties: {
        storageLocation: {
          storageId: storageId(SUB, 'stdiag'),
          storagePath: 'https://stdiag.blob.core.windows.net/pcap/c.cap',
        },
      },
    }),
  },
  {
    name: 'severity: a storagePath naming another account than the storageId is High (the account is not placed)',
    expected: true,
    kind: 'positive',
    expectedKind: 'NetworkWatcher',
    expectedSeverity: 'High',
    log: withBody(byKind('NetworkWatcher'), {
      properties: {
        storageLocation: {
          storageId: storageId(SUB, 'stdiag'),
          storagePath: 'https://stelsewhere.blob.core.windows.net/pcap/c.cap',
        },
      },
    }),
  },
  {
    name: 'severity: a capture kept on the VM (localPath only) is Medium',
    expected: true,
    kind: 'positive',
    expectedKind: 'NetworkWatcher',
    expectedSeverity: 'Medium',
    log: withBody(byKind('NetworkWatcher'), {
      properties: { storageLocation: { filePath: 'D:\\captures\\c.cap' } },
    }),
  },
  {
    name: 'severity: a TAP mirroring to a load balancer in another subscription is High',
    expected: true,
    kind: 'positive',
    expectedKind: 'VirtualNetworkTap',
    expectedSeverity: 'High',
    log: withBody(byKind('VirtualNetworkTap'), {
      properties: {
        destinationLoadBalancerFrontEndIPConfiguration: {
          id: `${OTHER_SUB}/resourceGroups/rg-c/providers/Microsoft.Network/loadBalancers/lb1/frontendIPConfigurations/fe1`,
        },
        destinationPort: 4789,
      },
    }),
  },
  {
    name: 'severity: a TAP mirroring to a NIC of its own subscription is Medium',
    expected: true,
    kind: 'positive',
    expectedKind: 'VirtualNetworkTap',
    expectedSeverity: 'Medium',
    log: withBody(byKind('VirtualNetworkTap'), {
      properties: {
        destinationNetworkInterfaceIPConfiguration: {
          id: `${SUB}/resourceGroups/rg-c/providers/Microsoft.Network/networkInterfaces/nic1/ipConfigurations/ip1`,
        },
      },
    }),
  },
  {
    name: 'severity: a NIC attached to a TAP of another subscription is High',
    expected: true,
    kind: 'positive',
    expectedKind: 'NetworkInterfaceTap',
    expectedSeverity: 'High',
    log: withBody(byKind('NetworkInterfaceTap'), {
      properties: {
        virtualNetworkTap: {
          id: `${OTHER_SUB}/resourceGroups/rg-c/providers/Microsoft.Network/virtualNetworkTaps/tap9`,
        },
      },
    }),
  },
  {
    name: 'severity: a firewall capture to a SAS URL no record places in the subscription is High',
    expected: true,
    kind: 'positive',
    expectedKind: 'AzureFirewall',
    expectedSeverity: 'High',
    log: withBody(byKind('AzureFirewall'), {
      properties: { sasUrl: 'https://stafw.blob.core.windows.net/c?sv=2022&sig=FAKEsig', fileName: 'f' },
    }),
  },
  {
    name: 'severity: a gateway capture to a URL that is not an Azure Storage endpoint is High',
    expected: true,
    kind: 'positive',
    expectedKind: 'VpnGateway',
    expectedSeverity: 'High',
    log: withBody(byKind('VpnGateway'), {
      properties: { sasUrl: 'https://203.0.113.99/upload' },
    }),
  },
];

export const PACKET_CAPTURE_FIXTURES: readonly RuleFixture[] = [
  ...OPERATION_CASES.flatMap(casesFor),
  ...SEVERITY_FIXTURES,
  {
    name: 'Firewall packetCaptureOperation with operation Start in the request body',
    expected: true,
    kind: 'positive',
    expectedKind: 'AzureFirewall',
    log: log(
      'MICROSOFT.NETWORK/AZUREFIREWALLS/PACKETCAPTUREOPERATION/ACTION',
      'Succeeded',
      `${NET}/azureFirewalls/afw1`,
      {
        properties: {
          requestbody: JSON.stringify({ properties: { operation: 'Start', durationInSeconds: 60 } }),
        },
      },
    ),
  },
  {
    name: 'Firewall packetCaptureOperation asking for Status',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'MICROSOFT.NETWORK/AZUREFIREWALLS/PACKETCAPTUREOPERATION/ACTION',
      'Succeeded',
      `${NET}/azureFirewalls/afw1`,
      {
        properties: { requestbody: JSON.stringify({ properties: { operation: 'Status' } }) },
      },
    ),
  },
  {
    name: 'Firewall packetCaptureOperation asking to Stop',
    expected: false,
    kind: 'nearMiss',
    log: log(
      'MICROSOFT.NETWORK/AZUREFIREWALLS/PACKETCAPTUREOPERATION/ACTION',
      'Succeeded',
      `${NET}/azureFirewalls/afw1`,
      {
        properties: { requestbody: JSON.stringify({ operation: 'stop' }) },
      },
    ),
  },
  {
    name: 'Unrelated operation',
    expected: false,
    kind: 'negative',
    log: log(
      'MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE',
      'Success',
      `${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1`,
    ),
  },
];
