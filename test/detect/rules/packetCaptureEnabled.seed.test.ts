import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packetCaptureEnabled } from '../../../src/detect/rules/packetCaptureEnabled';
import { normalizeRecord } from '../../../src/normalize/normalize';

/** The seed's four tests, their logs copied verbatim from the Panther rule page, with its expected results. */
const dir = join(__dirname, '../../fixtures/seed');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && !f.endsWith('.log.json'))
  .sort()
  .map((f) => {
    const meta = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { name: string; expectedResult: boolean };
    const log: unknown = JSON.parse(readFileSync(join(dir, f.replace(/\.json$/, '.log.json')), 'utf8'));
    return [meta.name, meta.expectedResult, log] as const;
  });

describe('seed tests (Panther Azure.MonitorActivity.Network.PacketCaptureEnabled)', () => {
  it('has the four seed tests', () => {
    expect(cases.map((c) => c[0])).toEqual([
      'Packet Capture Started with STARTPACKETCAPTURE',
      'VPN Packet Capture Started',
      'Packet Capture Write Operation',
      'Different Operation',
    ]);
  });

  it.each(cases)('%s → %s', (_name, expected, log) => {
    const normalized = normalizeRecord(log);
    if (!normalized.ok) throw normalized.error;
    expect(packetCaptureEnabled.evaluate(normalized.event) !== undefined).toBe(expected);
  });

  it('titles the alert with the location, as Panther does', () => {
    const [, , log] = cases[0]!;
    const normalized = normalizeRecord(log);
    if (!normalized.ok) throw normalized.error;
    expect(packetCaptureEnabled.title(normalized.event)).toBe(
      'Azure Network Packet Capture Enabled in [eastus]',
    );
  });
});
