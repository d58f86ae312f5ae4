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
