import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { AlertRow } from '../../src/alert/columns';
import type { CliIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';
import { ALLOWLIST_COLUMNS } from '../../src/triage/allowlist';

/** `scan --allowlist FILE` and ALLOWLIST_PATH: the same allowlist the function applies, from the command line. */
const samples = join(__dirname, '../../samples');
const example = join(samples, 'allowlist.example.csv');

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  const io: CliIo = { stdout, stderr, stdin: Readable.from(['']), env };
  const code = await main(args, io);
  const rows = Buffer.concat(chunks.out)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AlertRow);
  return { code, rows, stderr: Buffer.concat(chunks.err).toString('utf8') };
}

function tempCsv(...rows: string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pcd-allowlist-')), 'allowlist.csv');
  writeFileSync(file, [ALLOWLIST_COLUMNS.join(','), ...rows].join('\n'));
  return file;
}

describe('scan --allowlist', () => {
  it('writes every alert and marks the allowlisted one with the row reason and line; an expired row never applies', async () => {
    const { code, rows } = await run(['scan', '--format', 'jsonl', '--allowlist', example, samples]);
    expect(code).toBe(0);
    expect(rows).toHaveLength(13);
    const suppressed = rows.filter((r) => r.Suppressed);
    expect(
      suppressed.map((r) => [r.CaptureKind, r.ResourceGroup.toLowerCase(), r.SuppressionReason]),
    ).toEqual([
      [
        'VpnGateway',
        'rg-vwan',
        "Allowlisted by allowlist.example.csv line 2: Example: Virtual WAN VPN gateway troubleshooting from the network team's jump hosts (change CHG-1234) (until 2099-12-31)",
      ],
    ]);
    // Line 3 matches the Network Watcher captures of the samples too, but it expired in 2020.
    const expiredMatch = rows.filter(
      (r) => r.CaptureKind === 'NetworkWatcher' && r.CallerIpAddress === '203.0.113.24',
    );
    expect(expiredMatch).toHaveLength(1);
    expect(expiredMatch[0]!.Suppressed).toBe(false);
  });

  it('applies ALLOWLIST_PATH when no --allowlist is given, and --allowlist instead of it when both are', async () => {
    const everyNetworkWatcher = tempCsv(',,,,NetworkWatcher,All Network Watcher captures (test),');
    const fromSetting = await run(['scan', '--format', 'jsonl', samples], {
      ALLOWLIST_PATH: everyNetworkWatcher,
    });
    expect(fromSetting.rows.filter((r) => r.Suppressed).map((r) => r.CaptureKind)).toEqual(
      fromSetting.rows.filter((r) => r.CaptureKind === 'NetworkWatcher').map(() => 'NetworkWatcher'),
    );
    expect(fromSetting.rows.filter((r) => r.Suppressed).length).toBeGreaterThan(1);
    const overridden = await run(['scan', '--format', 'jsonl', '--allowlist', example, samples], {
      ALLOWLIST_PATH: everyNetworkWatcher,
    });
    expect(overridden.rows.filter((r) => r.Suppressed).map((r) => r.CaptureKind)).toEqual(['VpnGateway']);
  });

  it('refuses a malformed allowlist before reading any input, naming the line (exit 2)', async () => {
    const bad = tempCsv('alice@contoso.example,,,,,Probe,', 'bob@contoso.example,10.0.0.0/33,,,,Probe,');
    const { code, rows, stderr } = await run(['scan', '--allowlist', bad, samples]);
    expect(code).toBe(2);
    expect(rows).toEqual([]);
    expect(stderr).toMatch(
      /^scan: Invalid allowlist allowlist\.csv \(1 problem\): - line 3: CallerIpRange "10\.0\.0\.0\/33": the prefix length must be a whole number from 0 to 32/,
    );
  });

  it('refuses a bad ALLOWLIST_PATH the same way, as a configuration problem', async () => {
    const { code, stderr } = await run(['scan', samples], {
      ALLOWLIST_PATH: tempCsv(',,,,,No field at all,'),
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /ALLOWLIST_PATH: Invalid allowlist allowlist\.csv \(1 problem\): - line 2: the row names none of/,
    );
  });
});
