/*
 * How severe a capture is, from where its traffic goes. A capture inside the captured resource's own
 * subscription stays within reach of that subscription's owners (its role assignments, locks, policies and
 * logs); one written elsewhere does not, which is the exfiltration path an attacker who can start captures
 * wants. So a destination outside the subscription is High, anything else keeps the seed's Medium.
 *
 * What "outside" means, from the operation's records alone (the detector reads nothing else):
 * - A destination given as a resource id (a storage account, a TAP's destination NIC IP configuration or
 *   load balancer frontend, the TAP a NIC is attached to) is inside when its subscription is the captured
 *   resource's.
 * - A destination given as a URL (a Network Watcher storagePath, a gateway or firewall `sasUrl`) names only a
 *   host. The operation owns it only when the same records also place that storage account in the captured
 *   resource's subscription by its resource id (Network Watcher's storageId). A SAS URL is a write token: it
 *   can point at an account in any subscription or tenant, and the subscription need hold nothing for it, so
 *   an account the records do not place is treated as outside. Azure Firewall captures always name one.
 * - A path on the captured VM (localPath), or no destination at all (gateway starts log none), is not outside.
 */
import { parseResourceId, type ActivityEvent } from '../../normalize/activityEvent';
import type { FindingSeverity, OperationDetails, SeverityRationale } from '../types';
import type { CaptureKind } from './packetCaptureDetails';

export const CAPTURE_SEVERITY_RATIONALE: readonly SeverityRationale[] = [
  {
    severity: 'High',
    when: "The capture or mirror is written outside the captured resource's subscription: a destination resource id (storage account, a TAP's destination network interface or load balancer, the TAP a NIC is attached to) in another subscription, or a SAS URL to a storage account that no resource id in the operation's records places in the resource's own subscription (a SAS URL is a write token that can name an account in any subscription or tenant; Azure Firewall captures always use one). Traffic copied out of the subscription is out of reach of its owners' controls: the exfiltration path of credential sniffing.",
  },
  {
    severity: 'Medium',
    when: "Otherwise, as the seed: the destination is in the captured resource's own subscription, on the captured VM (local path), or not in the records at all (gateway and connection starts name none; the SAS URL of their stop says where the file goes).",
  },
];

/** Blob, Data Lake and file endpoints of an account, public and sovereign clouds, private link included. */
const STORAGE_HOST =
  /^([a-z0-9]{3,24})\.(?:privatelink\.)?(?:blob|dfs|file)\.core\.(?:windows\.net|usgovcloudapi\.net|chinacloudapi\.cn)$/;
/** Accounts in an Azure DNS zone endpoint (`<account>.z<nn>.blob.storage.azure.net`). */
const STORAGE_DNS_ZONE_HOST = /^([a-z0-9]{3,24})\.z\d+\.(?:blob|dfs)\.storage\.azure\.net$/;

const MAX_SHOWN_CHARS = 200;

interface PlacedDestination {
  readonly id: string;
  readonly subscription: string;
  /** `storage account x`, `load balancer lb frontend fe`, ... */
  readonly what: string;
  /** The storage account's name (lower case), when the id is one. */
  readonly storageAccount: string | undefined;
}

function shown(text: string): string {
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
}

/** What a destination resource id is, for the reason (type and names from its segments). */
function describeId(id: string): PlacedDestination | undefined {
  if (!/^\/subscriptions\//i.test(id)) return undefined;
  const { subscriptionId } = parseResourceId(id);
  const named = (type: string): string | undefined =>
    new RegExp(`/${type}/([^/]+)`, 'i').exec(id)?.[1] ?? undefined;
  const account = named('storageAccounts');
  const lb = named('loadBalancers');
  const nic = named('networkInterfaces');
  const tap = named('virtualNetworkTaps');
  const what =
    account !== undefined
      ? `storage account ${account}`
      : lb !== undefined
        ? `load balancer ${lb}${named('frontendIPConfigurations') ? ` (frontend ${named('frontendIPConfigurations') ?? ''})` : ''}`
        : nic !== undefined
          ? `network interface ${nic}${named('ipConfigurations') ? ` (${named('ipConfigurations') ?? ''})` : ''}`
          : tap !== undefined
            ? `virtual network TAP ${tap}`
            : `resource ${parseResourceId(id).resourceName || shown(id)}`;
  return { id, subscription: subscriptionId, what, storageAccount: account?.toLowerCase() };
}

/** The storage account an http(s) URL writes to, '' for a host that is not an Azure Storage endpoint. */
function accountOfUrl(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) return undefined;
  const host = new URL(url).hostname.toLowerCase();
  return STORAGE_HOST.exec(host)?.[1] ?? STORAGE_DNS_ZONE_HOST.exec(host)?.[1] ?? '';
}

const sameSubscription = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export interface CaptureAssessment {
  readonly severity: FindingSeverity;
  /** Where the traffic goes, as a short phrase for the alert's summary; undefined when the records do not say. */
  readonly where: string | undefined;
}

/** The severity of a capture with these details (the firing record's own bodies merged with its operation's). */
export function assessCapture(
  event: ActivityEvent,
  kind: CaptureKind,
  details: OperationDetails,
): CaptureAssessment {
  const { level, reason, where } = assess(event, kind, details);
  return { severity: { level, reason: `${reason.charAt(0).toUpperCase()}${reason.slice(1)}` }, where };
}

function assess(
  event: ActivityEvent,
  kind: CaptureKind,
  details: OperationDetails,
): FindingSeverity & { where: string | undefined } {
  const mirror = kind === 'VirtualNetworkTap' || kind === 'NetworkInterfaceTap';
  const goes = mirror ? 'the traffic is mirrored to' : 'the capture is written to';
  const own = parseResourceId(event.resourceId).subscriptionId || event.subscriptionId;
  const values = [
    ...new Set([details.destination?.value, details.storagePath?.value].filter((v) => v !== undefined)),
  ].filter((v) => v.trim() !== '');
  const placed = values.map(describeId).filter((p) => p !== undefined);
  const urls = values.filter((v) => accountOfUrl(v) !== undefined);
  const local = details.localPath?.value.trim() ?? '';
  const other = values.find(
    (v) => describeId(v) === undefined && accountOfUrl(v) === undefined && v.trim() !== local,
  );

  if (own === '' && (placed.length > 0 || urls.length > 0)) {
    return {
      level: 'Medium',
      reason: `${goes} ${shown(placed[0]?.id ?? urls[0] ?? '')}, but the record names no subscription for the captured resource to compare it with.`,
      where: placed[0]?.what ?? shown(urls[0] ?? ''),
    };
  }
  const outside = placed.find((p) => p.subscription !== '' && !sameSubscription(p.subscription, own));
  if (outside) {
    return {
      level: 'High',
      reason: `${goes} ${outside.what} in subscription ${outside.subscription}, outside the captured resource's subscription ${own}.`,
      where: `${outside.what} in another subscription (${outside.subscription})`,
    };
  }
  const ownedAccounts = new Set(
    placed.filter((p) => sameSubscription(p.subscription, own)).map((p) => p.storageAccount),
  );
  for (const url of urls) {
    const account = accountOfUrl(url) ?? '';
    if (account === '') {
      return {
        level: 'High',
        reason: `${goes} ${shown(url)}, which is not an Azure Storage endpoint: nothing places it in the captured resource's subscription ${own}.`,
        where: `${shown(url)}, not an Azure Storage endpoint`,
      };
    }
    if (!ownedAccounts.has(account)) {
      return {
        level: 'High',
        reason: `${goes} storage account ${account} through a SAS URL (${shown(url)}), and no resource id in the operation's records places that account in the captured resource's subscription ${own}: a SAS URL can name an account in any subscription or tenant.`,
        where: `storage account ${account} by SAS URL, not shown to be in its subscription`,
      };
    }
  }
  const inside = placed[0];
  if (inside) {
    return {
      level: 'Medium',
      reason: `${goes} ${inside.what} in the captured resource's own subscription ${own}.`,
      where: `${inside.what} in its own subscription`,
    };
  }
  if (other !== undefined) {
    return {
      level: 'Medium',
      reason: `${goes} ${shown(other)}, which is neither a resource id nor a URL: the detector cannot place it.`,
      where: shown(other),
    };
  }
  if (local !== '') {
    return {
      level: 'Medium',
      reason: `the capture is kept on the captured machine (${shown(local)}).`,
      where: `the captured machine (${shown(local)})`,
    };
  }
  return {
    level: 'Medium',
    reason: mirror
      ? "the operation's records do not say where the traffic is mirrored."
      : "the operation's records do not say where the capture is written (gateway and connection starts name no destination).",
    where: undefined,
  };
}
