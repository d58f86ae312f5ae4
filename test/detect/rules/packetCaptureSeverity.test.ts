import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectBatch } from '../../../src/pipeline/detectBatch';

/**
 * Severity from evidence over the issue-11 fixtures (test/fixtures/activity-log/EXPECTED.md), in all three
 * shapes: subscription A holds every captured resource, subscription B the foreign destinations. Each
 * operation's three records go through the pipeline together, so the details come from its Start and
 * Accept bodies as in production.
 */
const dir = join(__dirname, '../../fixtures/activity-log');
const A = '00000000-1111-4111-8111-00000000000a';
const B = '00000000-2222-4222-8222-00000000000b';

const EXPECTED: readonly (readonly [string, 'High' | 'Medium', RegExp])[] = [
  [
    'network-watcher-vmss-cross-sub',
    'High',
    new RegExp(
      `^The capture is written to storage account stcapturesink in subscription ${B}, outside the captured resource's subscription ${A}\\.$`,
      'i',
    ),
  ],
  [
    'virtual-network-tap-lb-cross-sub',
    'High',
    new RegExp(
      `^The traffic is mirrored to load balancer lb-collector \\(frontend fe-vxlan\\) in subscription ${B}, outside the captured resource's subscription ${A}\\.$`,
      'i',
    ),
  ],
  [
    'azure-firewall-start',
    'High',
    /^The capture is written to storage account stafwpcap01 through a SAS URL \(https:\/\/stafwpcap01\.blob\.core\.windows\.net\/afw-captures\), and no resource id in the operation's records places that account in the captured resource's subscription/i,
  ],
  ['azure-firewall-legacy-packetcapture', 'High', /through a SAS URL/],
  // The cross-subscription sink of the first case, named only by a SAS URL in a gateway start.
  ['vpn-gateway-start-with-sasurl', 'High', /storage account stcapturesink through a SAS URL/],
  [
    'network-watcher-vm',
    'Medium',
    new RegExp(
      `^The capture is written to storage account stdiagweu01 in the captured resource's own subscription ${A}\\.$`,
      'i',
    ),
  ],
  [
    'virtual-network-tap',
    'Medium',
    /^The traffic is mirrored to network interface nic-collector01 \(ipconfig1\) in the captured resource's own subscription/i,
  ],
  [
    'network-interface-tap',
    'Medium',
    /^The traffic is mirrored to virtual network TAP vtap-prod-mirror in the captured resource's own subscription/i,
  ],
  ['virtual-network-gateway', 'Medium', /do not say where the capture is written/],
  ['gateway-connection', 'Medium', /do not say where the capture is written/],
  ['vpn-gateway', 'Medium', /do not say where the capture is written/],
  ['vpn-connection', 'Medium', /do not say where the capture is written/],
  ['azure-firewall-no-body', 'Medium', /do not say where the capture is written/],
];

const SHAPES = {
  export: (name: string) => readFileSync(join(dir, 'export', `${name}.eventhub.json`), 'utf8'),
  rest: (name: string) => readFileSync(join(dir, 'rest', `${name}.az-cli.json`), 'utf8'),
  'azure-activity': (name: string) => readFileSync(join(dir, 'azure-activity', `${name}.rows.json`), 'utf8'),
} as const;

describe.each(Object.entries(SHAPES))('severity from evidence (%s shape)', (_shape, read) => {
  it.each(EXPECTED)('%s is %s, with its reason', (name, severity, reason) => {
    const { alerts } = detectBatch([read(name)], () => ({}));
    expect(alerts).toHaveLength(1);
    const row = alerts[0]!;
    expect(row.Severity).toBe(severity);
    expect(row.SeverityReason).toMatch(reason);
    // The reason quotes the destination, never its SAS token.
    expect(row.SeverityReason).not.toMatch(/sig=|FAKEsig/);
  });
});

it('covers every capture start of the fixtures', () => {
  expect(EXPECTED).toHaveLength(13);
});

describe('the one-line summary says what is captured and where it goes (the Sentinel alert name)', () => {
  it.each([
    [
      'network-watcher-vmss-cross-sub',
      `Network Watcher packet capture of vmss-api to storage account stcapturesink in another subscription (${B})`,
    ],
    [
      'network-watcher-vm',
      'Network Watcher packet capture of vm-web01 to storage account stdiagweu01 in its own subscription',
    ],
    [
      'virtual-network-tap-lb-cross-sub',
      `Traffic mirror through virtual network TAP VTAP-TO-EXTERNAL-LB to load balancer lb-collector (frontend fe-vxlan) in another subscription (${B})`,
    ],
    [
      'azure-firewall-start',
      'Packet capture on Azure Firewall AFW-HUB-WEU to storage account stafwpcap01 by SAS URL, not shown to be in its subscription',
    ],
    [
      'virtual-network-gateway',
      'Packet capture on virtual network gateway VGW-HUB-WEU (destination not in the records)',
    ],
    [
      'network-interface-tap',
      'Traffic mirror of network interface NIC-PAY-DB01 to virtual network TAP vtap-prod-mirror in its own subscription',
    ],
  ])('%s', (name, summary) => {
    const { alerts } = detectBatch([SHAPES.export(name)], () => ({}));
    expect(alerts[0]?.AlertSummary).toBe(summary);
  });

  it("names the capture itself while a Network Watcher capture's VM is not known yet (its Success record alone)", () => {
    const body = JSON.parse(SHAPES.export('network-watcher-vmss-cross-sub')) as {
      records: { resultType: string }[];
    };
    const success = JSON.stringify({ records: body.records.filter((r) => r.resultType === 'Success') });
    expect(detectBatch([success], () => ({})).alerts[0]?.AlertSummary).toMatch(
      /^Network Watcher packet capture \S+ \(destination not in the records\)$/,
    );
  });
});
