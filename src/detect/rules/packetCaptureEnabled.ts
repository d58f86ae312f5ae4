/*
 * Azure Network Packet Capture Enabled: Panther's `Azure.MonitorActivity.Network.PacketCaptureEnabled`,
 * extended from Network Watcher to every documented operation that starts a packet capture or a traffic
 * mirror. Matching keeps the seed's semantics: case-insensitive containment of an operation pattern in
 * `operationName`, and a successful result. Only `operationName` is tested, never `resourceId` or
 * `properties`, so a read of a capture resource or a property mentioning captures does not fire.
 */
import { alertContext } from '../context';
import { parseResourceId, type ActivityEvent } from '../../normalize/activityEvent';
import { detailSources, detailValues, mergeDetails } from '../details';
import type { DetectionRule, Finding, OperationDetails, OperationPattern } from '../types';
import { collectCaptureDetails, regionFromResourceId, type CaptureKind } from './packetCaptureDetails';
import { assessCapture, CAPTURE_SEVERITY_RATIONALE } from './packetCaptureSeverity';

export type { CaptureKind } from './packetCaptureDetails';

interface CapturePattern extends OperationPattern {
  readonly kind: CaptureKind;
}

/** The alert columns this rule fills (declared in alert/columns.ts). */
const ATTRIBUTE_COLUMNS = ['CaptureKind', 'CaptureTarget', 'CaptureStorage'] as const;
type CaptureAttributes = Record<(typeof ATTRIBUTE_COLUMNS)[number], string>;

const PATTERNS: readonly CapturePattern[] = [
  {
    pattern: 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE',
    kind: 'NetworkWatcher',
    documented: true,
    description: 'Create and start a Network Watcher packet capture on a VM or scale set',
  },
  {
    pattern: 'MICROSOFT.NETWORK/NETWORKWATCHERS/STARTPACKETCAPTURE/ACTION',
    kind: 'NetworkWatcher',
    documented: false,
    description: "Seed pattern (Panther); not a documented Azure operation, kept for the seed's tests",
  },
  {
    pattern: 'MICROSOFT.NETWORK/NETWORKWATCHERS/VPNCONNECTIONS/STARTPACKETCAPTURE/ACTION',
    kind: 'VpnConnection',
    documented: false,
    description: "Seed pattern (Panther); not a documented Azure operation, kept for the seed's tests",
  },
  {
    pattern: 'MICROSOFT.NETWORK/VIRTUALNETWORKGATEWAYS/STARTPACKETCAPTURE/ACTION',
    kind: 'VirtualNetworkGateway',
    documented: true,
    description: 'Start a packet capture on a VPN or ExpressRoute virtual network gateway',
  },
  {
    pattern: 'MICROSOFT.NETWORK/CONNECTIONS/STARTPACKETCAPTURE/ACTION',
    kind: 'GatewayConnection',
    documented: true,
    description: 'Start a packet capture on a virtual network gateway connection',
  },
  {
    pattern: 'MICROSOFT.NETWORK/VPNGATEWAYS/STARTPACKETCAPTURE/ACTION',
    kind: 'VpnGateway',
    documented: true,
    description: 'Start a packet capture on a Virtual WAN VPN gateway',
  },
  {
    pattern: 'MICROSOFT.NETWORK/VPNGATEWAYS/VPNCONNECTIONS/STARTPACKETCAPTURE/ACTION',
    kind: 'VpnConnection',
    documented: true,
    description: 'Start a packet capture on a Virtual WAN VPN connection',
  },
  {
    pattern: 'MICROSOFT.NETWORK/AZUREFIREWALLS/PACKETCAPTURE/ACTION',
    kind: 'AzureFirewall',
    documented: true,
    description: 'Run an Azure Firewall packet capture',
  },
  {
    pattern: 'MICROSOFT.NETWORK/AZUREFIREWALLS/PACKETCAPTUREOPERATION/ACTION',
    kind: 'AzureFirewall',
    documented: false,
    description:
      'Newer Azure Firewall capture API (log name unconfirmed); fires unless the request body says Status or Stop',
  },
  {
    pattern: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE',
    kind: 'VirtualNetworkTap',
    documented: true,
    description: 'Create or update a virtual network TAP (traffic mirroring destination)',
  },
  {
    pattern: 'MICROSOFT.NETWORK/NETWORKINTERFACES/TAPCONFIGURATIONS/WRITE',
    kind: 'NetworkInterfaceTap',
    documented: true,
    description: "Attach a network interface to a virtual network TAP (mirror the NIC's traffic)",
  },
];

/** What each kind captures, for the one-line summary (the incident's name). */
const CAPTURED: Readonly<Record<CaptureKind, string>> = {
  NetworkWatcher: 'Network Watcher packet capture of',
  VirtualNetworkGateway: 'Packet capture on virtual network gateway',
  GatewayConnection: 'Packet capture on gateway connection',
  VpnGateway: 'Packet capture on Virtual WAN VPN gateway',
  VpnConnection: 'Packet capture on VPN connection',
  AzureFirewall: 'Packet capture on Azure Firewall',
  VirtualNetworkTap: 'Traffic mirror through virtual network TAP',
  NetworkInterfaceTap: 'Traffic mirror of network interface',
};

const MAX_SUMMARY_CHARS = 300;

/** `Network Watcher packet capture of vm-web01 to storage account st in another subscription (…)`. */
function summarize(
  kind: CaptureKind,
  event: ActivityEvent,
  target: string,
  where: string | undefined,
): string {
  const named =
    target === ''
      ? ''
      : (target
          .split('/')
          .filter((s) => s !== '')
          .pop() ?? '');
  const resource = parseResourceId(event.resourceId).resourceName || event.resourceId;
  // A Network Watcher capture's Success record names only the capture; its Start record names the VM.
  const what =
    kind === 'NetworkWatcher' && named === ''
      ? `Network Watcher packet capture ${resource}`
      : `${CAPTURED[kind]} ${named || resource}`;
  const text = `${what}${where === undefined ? ' (destination not in the records)' : ` to ${where}`}`;
  return text.length > MAX_SUMMARY_CHARS ? `${text.slice(0, MAX_SUMMARY_CHARS - 1)}…` : text;
}

/** The firewall's capture API multiplexes start, status and stop; only a start is a finding. */
const NON_START_FIREWALL_OPERATIONS: ReadonlySet<string> = new Set(['status', 'stop']);

function patternOf(event: ActivityEvent): CapturePattern | undefined {
  const operation = event.operationName.toUpperCase();
  return PATTERNS.find((p) => operation.includes(p.pattern));
}

/** The firewall operation a start was not, from the details ('' when it may be a start). */
function firewallNonStart(kind: CaptureKind, details: OperationDetails): string {
  if (kind !== 'AzureFirewall') return '';
  const requested = details.requestedOperation?.value.trim().toLowerCase() ?? '';
  return NON_START_FIREWALL_OPERATIONS.has(requested) ? requested : '';
}

/** What is captured when no body names it: the resource itself (a gateway, a TAP, a NIC's parent). */
function resourceTarget(kind: CaptureKind, resourceId: string): string {
  if (kind === 'NetworkInterfaceTap') return resourceId.replace(/\/tapConfigurations\/[^/]*$/i, '');
  if (kind === 'NetworkWatcher') return '';
  return resourceId;
}

/**
 * Where the operation ran: the record's own region, else a body's, else the resource's (a Network
 * Watcher's default name carries it), else the record's `global`; undefined when nothing says.
 */
function locate(event: ActivityEvent, details: OperationDetails): Finding['location'] {
  const own = event.location.trim();
  if (own !== '' && own.toLowerCase() !== 'global') return { value: own, source: 'record' };
  const fromBody = details.location;
  if (fromBody) return { value: fromBody.value, source: fromBody.from };
  const fromResource = regionFromResourceId(event.resourceId);
  if (fromResource !== '') return { value: fromResource, source: 'resource' };
  if (own !== '') return { value: own, source: 'record' };
  return undefined;
}

export const packetCaptureEnabled: DetectionRule = {
  id: 'Azure.MonitorActivity.Network.PacketCaptureEnabled',
  version: '2.1.0',
  displayName: 'Azure Network Packet Capture Enabled',
  description:
    'Detects when an Azure packet capture or traffic mirror is started: Network Watcher packet captures, virtual network gateway, connection and Virtual WAN VPN captures, Azure Firewall captures, and virtual network TAPs. Packet capture could let a threat actor inspect unencrypted network traffic and extract credentials or data. While packet capture is a legitimate diagnostics tool, adversaries may abuse it to sniff credentials or intercept sensitive data in transit.',
  severity: 'Medium',
  severityRationale: CAPTURE_SEVERITY_RATIONALE,
  tactics: [{ id: 'TA0006', name: 'Credential Access', sentinelName: 'CredentialAccess' }],
  techniques: [{ id: 'T1040', name: 'Network Sniffing' }],
  tags: ['Credential Access', 'Network Sniffing'],
  runbook: [
    '1. Query Azure Monitor Activity logs for all network diagnostic operations (packet capture start/stop, network watcher operations) by the callerIpAddress in the 24 hours before and after the alert',
    '2. Find all packet capture sessions started in the past 6 hours to identify the scope of potential credential sniffing activity',
    '3. Check if the callerIpAddress has enabled packet capture in the past 90 days to determine if this is typical network troubleshooting behavior',
  ].join('\n'),
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/azure/credential_access_network_full_network_packet_capture_detected.toml',
    'https://learn.microsoft.com/azure/role-based-access-control/permissions/networking',
    'https://learn.microsoft.com/azure/network-watcher/packet-capture-overview',
    'https://learn.microsoft.com/azure/virtual-network/virtual-network-tap-overview',
    'https://attack.mitre.org/techniques/T1040/',
  ],
  summaryAttributes: ['resourceId', 'location', 'callerIpAddress', 'correlationId'],
  falsePositives: [
    'Network engineers troubleshooting connectivity with Network Watcher, VPN gateway or firewall captures: confirm a change or incident ticket with the caller.',
    'Network security monitoring appliances that legitimately receive mirrored traffic through a virtual network TAP.',
    'Automation (Azure Policy remediation, connection troubleshooting runbooks) that starts captures on a schedule: the caller is then a service principal seen before.',
  ],
  operationPatterns: PATTERNS,
  attributeColumns: ATTRIBUTE_COLUMNS,

  collect(event) {
    const pattern = patternOf(event);
    return pattern ? collectCaptureDetails(pattern.kind, event) : undefined;
  },

  evaluate(event, others) {
    const match = patternOf(event);
    if (!match || event.phase !== 'success') return undefined;
    const details = mergeDetails(collectCaptureDetails(match.kind, event), others);
    if (firewallNonStart(match.kind, details) !== '') return undefined;
    const firewallUnknown = match.kind === 'AzureFirewall' && details.requestedOperation === undefined;
    const attributes: CaptureAttributes = {
      CaptureKind: match.kind,
      CaptureTarget: details.target?.value ?? resourceTarget(match.kind, event.resourceId),
      CaptureStorage: details.destination?.value ?? '',
    };
    const assessed = assessCapture(event, match.kind, details);
    return {
      kind: match.kind,
      pattern: match.pattern,
      attributes,
      location: locate(event, details),
      detailSources: [
        'success record',
        ...detailSources(details).map((d) => (d === 'requestBody' ? 'request body' : 'response body')),
      ],
      details: {
        ...detailValues(details),
        // No body anywhere: a start cannot be ruled out, so it alerts and says so.
        ...(firewallUnknown
          ? { requestedOperation: 'unknown (no record of the operation carried its request body)' }
          : {}),
      },
      severity: assessed.severity,
      summary: summarize(match.kind, event, attributes.CaptureTarget, assessed.where),
    };
  },

  whyNot(event, others) {
    const match = patternOf(event);
    if (!match) return undefined;
    const nonStart = firewallNonStart(
      match.kind,
      mergeDetails(collectCaptureDetails(match.kind, event), others),
    );
    return nonStart === ''
      ? undefined
      : `the firewall operation's request body asks for ${nonStart === 'status' ? 'Status (a poll)' : 'Stop'}, not a capture start`;
  },

  title(event, finding) {
    const location = (finding ? finding.location : locate(event, {}))?.value;
    if (location !== undefined) return `Azure Network Packet Capture Enabled in [${location}]`;
    // Incidents group by title: an unknown region must not put unrelated captures into one incident.
    const name = parseResourceId(event.resourceId).resourceName || event.resourceId || event.correlationId;
    return `Azure Network Packet Capture Enabled in [<UNKNOWN_LOCATION>] on ${name}`;
  },

  alertContext(event, finding) {
    const captureTarget = finding.attributes.CaptureTarget ?? '';
    const captureStorage = finding.attributes.CaptureStorage ?? '';
    const parts = parseResourceId(event.resourceId);
    const storageAccount = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)/i.exec(
      `${event.resourceId} ${captureStorage}`,
    );
    return alertContext(
      event,
      {
        resource_group: parts.resourceGroup || event.resourceGroup,
        storage_account_name: storageAccount?.[1] ?? '',
      },
      {
        capture_kind: finding.kind,
        matched_pattern: finding.pattern,
        capture_target: captureTarget,
        capture_storage: captureStorage,
        capture_details: finding.details ?? {},
        detail_sources: finding.detailSources ?? [],
      },
    );
  },
};
