import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertRow } from '../../src/alert/columns';
import { DetectorError } from '../../src/lib/errors';
import {
  ALLOWLIST_COLUMNS,
  applyAllowlist,
  loadAllowlistFile,
  matchAllowlist,
  parseAllowlist,
  SHIPPED_ALLOWLIST_FILE,
  type Allowlist,
} from '../../src/triage/allowlist';
import { sampleAlert } from '../support/alerts';

const HEADER = ALLOWLIST_COLUMNS.join(',');
const SUB = '00000000-1111-4111-8111-00000000000a';
const list = (...rows: string[]) => parseAllowlist([HEADER, ...rows].join('\n'), 'allowlist.csv');

function problemsOf(text: string): string {
  try {
    parseAllowlist(text, 'allowlist.csv');
  } catch (error) {
    expect(error).toBeInstanceOf(DetectorError);
    expect((error as DetectorError).code).toBe('CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected the allowlist to be refused');
}

const row = (overrides: Partial<AlertRow> = {}): AlertRow =>
  sampleAlert(1, {
    Caller: 'Alice.Admin@contoso.example',
    CallerObjectId: '000000000000400080000000000a11ce',
    CallerAppId: '00000000-0000-4000-8000-00000000c11a',
    CallerIpAddress: '203.0.113.10',
    SubscriptionId: SUB.toUpperCase(),
    ResourceGroup: 'RG-DIAG',
    CaptureKind: 'NetworkWatcher',
    ...overrides,
  });

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseAllowlist: strict, every bad line named at once', () => {
  it('reads the header-only file the repository ships (nothing allowlisted)', () => {
    const shipped = readFileSync(join(__dirname, '../..', SHIPPED_ALLOWLIST_FILE), 'utf8');
    expect(parseAllowlist(shipped, SHIPPED_ALLOWLIST_FILE)).toEqual({
      source: SHIPPED_ALLOWLIST_FILE,
      entries: [],
    });
  });

  it('reads rows, normalizing case, and keeps each row line', () => {
    const a = list(
      'Alice.Admin@Contoso.example,10.20.0.0/16,,,NETWORKWATCHER,"Nightly probe, change CHG-1",2026-06-30',
      ',,,rg-sec-tap,VirtualNetworkTap,IDS appliance mirror,',
    );
    expect(a.entries).toEqual([
      {
        line: 2,
        caller: 'alice.admin@contoso.example',
        callerIpRange: { family: 4, value: 0x0a140000n, prefix: 16, text: '10.20.0.0/16' },
        captureKind: 'NetworkWatcher',
        reason: 'Nightly probe, change CHG-1',
        expires: { at: Date.parse('2026-07-01T00:00:00Z'), text: '2026-06-30' },
      },
      {
        line: 3,
        resourceGroup: 'rg-sec-tap',
        captureKind: 'VirtualNetworkTap',
        reason: 'IDS appliance mirror',
      },
    ]);
  });

  it('refuses a file without the exact header', () => {
    expect(problemsOf('')).toMatch(/line 1: the file is empty; its first line must be the header Caller,/);
    expect(problemsOf('Caller,Reason\nx,y')).toMatch(
      /line 1: the header must be exactly Caller,CallerIpRange,/,
    );
    expect(problemsOf(`${HEADER},Extra\n`)).toMatch(/line 1: the header must be exactly/);
  });

  it('names every bad line and what is wrong with it, in one error', () => {
    const message = problemsOf(
      [
        HEADER,
        'alice@contoso.example,,,,,,', // 2: no reason
        ',,,,,Reason only,', // 3: matches everything
        'x,10.0.0.300,,,,r,', // 4
        'x,,not-a-guid,,,r,', // 5
        `x,,,/subscriptions/${SUB}/resourceGroups/rg,,r,`, // 6: an id, not a name
        'x,,,,NetworkWatchr,r,', // 7: a typo would never match
        'x,,,,,r,2026-02-30', // 8
        'x,,,,,r,30/06/2026', // 9
        'x,,,,,r,2026-06-30T18:00:00', // 10: no zone
        'x,r', // 11: field count
        'x,"unterminated', // 12
      ].join('\n'),
    );
    expect(message).toMatch(
      /^Invalid allowlist allowlist\.csv \(1 problem\):\n- line 12: a quoted field is never closed$/,
    );
    const withoutCsvError = problemsOf(
      [
        HEADER,
        'alice@contoso.example,,,,,,',
        ',,,,,Reason only,',
        'x,10.0.0.300,,,,r,',
        'x,,not-a-guid,,,r,',
        `x,,,/subscriptions/${SUB}/resourceGroups/rg,,r,`,
        'x,,,,NetworkWatchr,r,',
        'x,,,,,r,2026-02-30',
        'x,,,,,r,30/06/2026',
        'x,,,,,r,2026-06-30T18:00:00',
        'x,r',
      ].join('\n'),
    );
    expect(withoutCsvError.split('\n')).toEqual([
      'Invalid allowlist allowlist.csv (10 problems):',
      '- line 2: Reason is required (say why these captures are legitimate)',
      '- line 3: the row names none of Caller, CallerIpRange, SubscriptionId, ResourceGroup, CaptureKind: it would match every alert',
      '- line 4: CallerIpRange "10.0.0.300" is not an IPv4 or IPv6 address or CIDR range',
      '- line 5: SubscriptionId "not-a-guid" is not a subscription id (a GUID)',
      `- line 6: ResourceGroup "/subscriptions/${SUB}/resourceGroups/rg" is not a resource group name (the name alone, not an id)`,
      expect.stringMatching(
        /^- line 7: CaptureKind "NetworkWatchr" is not one of NetworkWatcher, VpnConnection, /,
      ),
      '- line 8: Expires "2026-02-30" is not a calendar date',
      '- line 9: Expires "30/06/2026" must be an ISO date (2026-06-30) or an ISO date and time with its zone (2026-06-30T18:00:00Z)',
      '- line 10: Expires "2026-06-30T18:00:00" must be an ISO date (2026-06-30) or an ISO date and time with its zone (2026-06-30T18:00:00Z)',
      '- line 11: 2 fields, expected 7 (Caller,CallerIpRange,SubscriptionId,ResourceGroup,CaptureKind,Reason,Expires); quote a value that holds a comma',
    ]);
  });

  it('counts lines of quoted multi-line fields, so the line named is the row author’s', () => {
    expect(problemsOf(`${HEADER}\nx,,,,,"two\nlines",\ny,,,,,r,bad`)).toMatch(/- line 4: Expires "bad"/);
  });

  it('loads a file by path, naming it; an unreadable file is a configuration error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'allowlist-'));
    const path = join(dir, 'tuning.csv');
    writeFileSync(path, `${HEADER}\nx,,,,,r,\n`);
    expect(loadAllowlistFile(path).source).toBe('tuning.csv');
    expect(() => loadAllowlistFile(join(dir, 'missing.csv'))).toThrow(
      /^Cannot read the allowlist .*missing\.csv: .*ENOENT/,
    );
    try {
      loadAllowlistFile(join(dir, 'missing.csv'));
    } catch (error) {
      expect((error as DetectorError).code).toBe('CONFIG_INVALID');
    }
  });
});

describe('matchAllowlist: every non-empty field must match', () => {
  const match = (a: Allowlist, r: AlertRow = row(), now = NOW) => matchAllowlist(a, r, now)?.line;

  it('matches Caller without regard to case against the caller, its object id and its app id', () => {
    expect(match(list('ALICE.ADMIN@CONTOSO.EXAMPLE,,,,,r,'))).toBe(2);
    expect(match(list('000000000000400080000000000A11CE,,,,,r,'))).toBe(2);
    expect(match(list('00000000-0000-4000-8000-00000000C11A,,,,,r,'))).toBe(2);
    expect(match(list('bob@contoso.example,,,,,r,'))).toBeUndefined();
    // Equality, not containment.
    expect(match(list('alice,,,,,r,'))).toBeUndefined();
  });

  it('matches CallerIpRange as a range or one address, IPv4 and IPv6', () => {
    expect(match(list(',203.0.113.0/24,,,,r,'))).toBe(2);
    expect(match(list(',203.0.113.10,,,,r,'))).toBe(2);
    expect(match(list(',198.51.100.0/24,,,,r,'))).toBeUndefined();
    const v6 = row({ CallerIpAddress: '2001:db8:85a3::8a2e:370:7334' });
    expect(match(list(',2001:db8:85a3::/48,,,,r,'), v6)).toBe(2);
    expect(match(list(',203.0.113.0/24,,,,r,'), v6)).toBeUndefined();
    // A caller without an IP (a managed identity) never matches a row that names a range.
    expect(match(list(',0.0.0.0/0,,,,r,'), row({ CallerIpAddress: '' }))).toBeUndefined();
  });

  it("matches SubscriptionId, ResourceGroup and CaptureKind against the captured resource's, any case", () => {
    expect(match(list(`,,${SUB},rg-diag,NetworkWatcher,r,`))).toBe(2);
    expect(match(list(`,,${SUB.replace('a', 'b')},,,r,`))).toBeUndefined();
    expect(match(list(',,,rg-other,,r,'))).toBeUndefined();
    expect(match(list(',,,,AzureFirewall,r,'))).toBeUndefined();
  });

  it("takes the captured resource's scope from CaptureTarget when it is a resource id (a VM, not its watcher)", () => {
    const nw = row({
      ResourceGroup: 'NetworkWatcherRG',
      CaptureTarget: `/subscriptions/${SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1`,
    });
    expect(match(list(',,,rg-web,,r,'), nw)).toBe(2);
    expect(match(list(',,,NetworkWatcherRG,,r,'), nw)).toBeUndefined();
    expect(match(list(`,,${SUB},rg-web,,r,`), nw)).toBe(2);
  });

  it('needs every field of the row to match', () => {
    expect(match(list('alice.admin@contoso.example,198.51.100.0/24,,,,r,'))).toBeUndefined();
    expect(match(list('alice.admin@contoso.example,203.0.113.0/24,,,AzureFirewall,r,'))).toBeUndefined();
    expect(match(list('alice.admin@contoso.example,203.0.113.0/24,,rg-diag,NetworkWatcher,r,'))).toBe(2);
  });

  it('never applies an expired row: a date lasts through that day (UTC), a date and time until that instant', () => {
    const a = list('alice.admin@contoso.example,,,,,r,2026-03-01');
    expect(match(a, row(), Date.parse('2026-03-01T23:59:59.999Z'))).toBe(2);
    expect(match(a, row(), Date.parse('2026-03-02T00:00:00.000Z'))).toBeUndefined();
    const b = list('alice.admin@contoso.example,,,,,r,2026-03-01T12:00:00+01:00');
    expect(match(b, row(), Date.parse('2026-03-01T10:59:59Z'))).toBe(2);
    expect(match(b, row(), Date.parse('2026-03-01T11:00:00Z'))).toBeUndefined();
  });

  it('takes the first row that applies, in file order', () => {
    expect(
      match(
        list(
          'alice.admin@contoso.example,,,,,expired,2020-01-01',
          ',,,rg-diag,,second,',
          ',,,,NetworkWatcher,third,',
        ),
      ),
    ).toBe(3);
  });
});

describe('applyAllowlist: matched rows are written, suppressed with the reason and line, never dropped', () => {
  it('suppresses the matched rows only, citing file, line, reason and expiry', () => {
    const a = list(
      'bob@contoso.example,,,,,not this one,',
      'alice.admin@contoso.example,,,,,Nightly probe (CHG-1),2026-06-30',
    );
    const other = row({
      AlertId: 'b'.repeat(32),
      Caller: 'eve@contoso.example',
      CallerObjectId: '',
      CallerAppId: '',
    });
    const out = applyAllowlist([row(), other], a, new Date(NOW));
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({
      Suppressed: true,
      SuppressionReason: 'Allowlisted by allowlist.csv line 3: Nightly probe (CHG-1) (until 2026-06-30)',
    });
    expect(out[1]).toBe(other);
  });

  it('keeps the reason of a row already suppressed (a finding a later record withdrew)', () => {
    const withdrawn = row({
      Suppressed: true,
      SuppressionReason: 'Not a finding after all: a Status poll',
      AlertRevision: 10,
    });
    expect(applyAllowlist([withdrawn], list('alice.admin@contoso.example,,,,,r,'), new Date(NOW))[0]).toBe(
      withdrawn,
    );
  });
});
