/*
 * What the bodies of a capture operation's records say about the capture, per kind: what is captured,
 * where it is written, the filters and limits, and (Azure Firewall) which operation was asked for. Shapes
 * follow the REST API of each operation (Network Watcher Packet Captures - Create, the gateways' and VPN
 * connections' Start Packet Capture, Azure Firewall packet capture, Virtual Network Taps and Network
 * Interface Tap Configurations - Create Or Update). Keys are compared without regard to case; URLs lose
 * their query (where SAS tokens live) and every value is redacted and bounded.
 */
import { redactText, stripQuery } from '../../lib/redact';
import type { ActivityEvent } from '../../normalize/activityEvent';
import { getCI, objectCI, operationBodies, resourceProperties, textCI } from '../../normalize/bodies';
import { MAX_DETAIL_CHARS } from '../details';
import type { DetailSource, OperationDetails } from '../types';

export type CaptureKind =
  | 'NetworkWatcher'
  | 'VirtualNetworkGateway'
  | 'GatewayConnection'
  | 'VpnGateway'
  | 'VpnConnection'
  | 'AzureFirewall'
  | 'VirtualNetworkTap'
  | 'NetworkInterfaceTap';

/** The detail keys this rule collects (operation details are plain strings). */
export type CaptureDetailKey =
  | 'target'
  | 'targetType'
  | 'destination'
  | 'storagePath'
  | 'localPath'
  | 'destinationPort'
  | 'fileName'
  | 'filters'
  | 'bytesToCapturePerPacket'
  | 'totalBytesPerSession'
  | 'timeLimitInSeconds'
  | 'durationInSeconds'
  | 'numberOfPacketsToCapture'
  | 'requestedOperation'
  | 'linkConnectionNames'
  | 'location';

type Body = Readonly<Record<string, unknown>>;

function clean(text: string): string {
  const trimmed = text.trim();
  return redactText(trimmed.length > MAX_DETAIL_CHARS ? trimmed.slice(0, MAX_DETAIL_CHARS) : trimmed);
}

function idOf(body: Body | undefined, key: string): string {
  return textCI(objectCI(body, key), 'id');
}

/** A list of strings or objects, as compact text (filters, link names). */
function listText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  return value
    .slice(0, 20)
    .map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    .join(', ');
}

function fromBody(kind: CaptureKind, body: Body): Partial<Record<CaptureDetailKey, string>> {
  const props = resourceProperties(body);
  const out: Partial<Record<CaptureDetailKey, string>> = {
    location: textCI(body, 'location'),
    filters: listText(getCI(props, 'filters')) || textCI(props, 'filterData'),
    requestedOperation: textCI(props, 'operation'),
    linkConnectionNames: listText(getCI(props, 'linkConnectionNames')),
    fileName: textCI(props, 'fileName'),
    durationInSeconds: textCI(props, 'durationInSeconds'),
    numberOfPacketsToCapture: textCI(props, 'numberOfPacketsToCapture'),
  };
  switch (kind) {
    case 'NetworkWatcher': {
      const storage = objectCI(props, 'storageLocation');
      const storagePath = stripQuery(textCI(storage, 'storagePath'));
      const localPath = textCI(storage, 'localPath') || textCI(storage, 'filePath');
      return {
        ...out,
        target: textCI(props, 'target'),
        targetType: textCI(props, 'targetType'),
        destination: textCI(storage, 'storageId') || storagePath || localPath,
        storagePath,
        localPath,
        bytesToCapturePerPacket: textCI(props, 'bytesToCapturePerPacket'),
        totalBytesPerSession: textCI(props, 'totalBytesPerSession'),
        timeLimitInSeconds: textCI(props, 'timeLimitInSeconds'),
      };
    }
    case 'VirtualNetworkTap':
      return {
        ...out,
        destination:
          idOf(props, 'destinationNetworkInterfaceIPConfiguration') ||
          idOf(props, 'destinationLoadBalancerFrontEndIPConfiguration'),
        destinationPort: textCI(props, 'destinationPort'),
      };
    case 'NetworkInterfaceTap':
      return { ...out, destination: idOf(props, 'virtualNetworkTap') };
    default:
      // Gateways, connections and firewalls write to a SAS URL (documented for stops; some starts carry it).
      return { ...out, destination: stripQuery(textCI(props, 'sasUrl')) };
  }
}

/** The details one record's request and response bodies reveal, tagged with the body they came from. */
export function collectCaptureDetails(kind: CaptureKind, event: ActivityEvent): OperationDetails | undefined {
  const { request, response } = operationBodies(event.properties);
  const out: Record<string, { value: string; from: DetailSource }> = {};
  const add = (body: Body | undefined, from: DetailSource): void => {
    if (!body) return;
    for (const [key, value] of Object.entries(fromBody(kind, body))) {
      if (value.trim() === '' || out[key] !== undefined) continue;
      out[key] = { value: clean(value), from };
    }
  };
  add(request, 'requestBody');
  add(response, 'responseBody');
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * A Network Watcher's region from its default name (`NetworkWatcher_<region>`), for records that carry no
 * location of their own.
 */
export function regionFromResourceId(resourceId: string): string {
  const m = /\/networkWatchers\/NetworkWatcher_([a-z0-9]+)(?:\/|$)/i.exec(resourceId);
  return m?.[1]?.toLowerCase() ?? '';
}
