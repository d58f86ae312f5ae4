import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AlertRow } from '../../src/alert/columns';
import { packetCaptureEnabled as rule } from '../../src/detect/rules/packetCaptureEnabled';
import { normalizeRecord } from '../../src/normalize/normalize';
import { detectSourceFormat, FIELD_SOURCES, SOURCE_FORMATS } from '../../src/normalize/shapes';
import { detectBatch } from '../../src/pipeline/detectBatch';

/**
 * Every export shape through the one normalizer, modelled on Microsoft's documented examples
 * (test/fixtures/activity-log/SOURCES.md): the diagnostic export, the REST API's events (single event, bare
 * array as the az CLI prints it, list page) and AzureActivity rows.
 */
const fixtures = join(__dirname, '../fixtures/activity-log');
const read = (path: string): unknown => JSON.parse(readFileSync(join(fixtures, path), 'utf8'));
const nw = {
  export: (read('export/network-watcher-vm.eventhub.json') as { records: Record<string, unknown>[] }).records,
  rest: read('rest/network-watcher-vm.az-cli.json') as Record<string, unknown>[],
  azureActivity: read('azure-activity/network-watcher-vm.rows.json') as Record<string, unknown>[],
};

function alertsOf(...messages: unknown[]): AlertRow[] {
  return detectBatch(messages, () => ({})).alerts;
}

const facts = (a: AlertRow) => ({
  AlertTitle: a.AlertTitle,
  CaptureKind: a.CaptureKind,
  CaptureTarget: a.CaptureTarget.toLowerCase(),
  CaptureStorage: a.CaptureStorage.toLowerCase(),
  Caller: a.Caller,
  CallerKind: a.CallerKind,
  CallerIpAddress: a.CallerIpAddress,
  CorrelationId: a.CorrelationId,
  AadTenantId: a.AadTenantId,
  SubscriptionId: a.SubscriptionId.toLowerCase(),
  OperationRecords: a.OperationRecords,
});

describe('shape detection', () => {
  it('reads each documented shape as itself', () => {
    expect(nw.export.map((r) => detectSourceFormat(r))).toEqual(Array(3).fill('DiagnosticExport'));
    expect(nw.rest.map((r) => detectSourceFormat(r))).toEqual(Array(3).fill('Rest'));
    expect(nw.azureActivity.map((r) => detectSourceFormat(r))).toEqual(Array(3).fill('AzureActivity'));
  });

  it('is not turned by a stray field of another shape', () => {
    const success = nw.export[2]!;
    expect(detectSourceFormat({ ...success, _ResourceId: 'x', OperationNameValue: 'x' })).toBe(
      'DiagnosticExport',
    );
    const row = nw.azureActivity[2]!;
    expect(detectSourceFormat({ ...row, time: 'x', resultType: 'x' })).toBe('AzureActivity');
    const stray = alertsOf({
      records: [...nw.export.slice(0, 2), { ...success, _ResourceId: '/x', OperationNameValue: 'Y' }],
    });
    expect(stray).toHaveLength(1);
  });

  it('maps every event field in every shape (the README table is generated from this)', () => {
    for (const [field, sources] of Object.entries(FIELD_SOURCES)) {
      for (const format of SOURCE_FORMATS)
        expect(Array.isArray((sources as Record<string, unknown>)[format])).toBe(true);
      expect(field.length).toBeGreaterThan(0);
    }
  });
});

describe('the REST shape alerts like the export shape', () => {
  const fromExport = alertsOf({ records: nw.export }).map(facts);

  it('as a bare array (az monitor activity-log list), a list page and single events', () => {
    const bare = alertsOf(nw.rest).map(facts);
    const page = alertsOf({ value: nw.rest, nextLink: null }).map(facts);
    const single = alertsOf(...nw.rest).map(facts);
    expect(fromExport).toHaveLength(1);
    for (const got of [bare, page, single]) {
      expect(got).toEqual(fromExport.map((f) => ({ ...f, AlertTitle: got[0]?.AlertTitle ?? '' })));
    }
    // The export record names its region ("global"); the REST event has none: the resource's is used.
    expect(bare[0]!.AlertTitle).toBe('Azure Network Packet Capture Enabled in [westeurope]');
  });

  it('as AzureActivity rows, with the Entra tenant from the claims (the row TenantId is the workspace)', () => {
    const got = alertsOf(nw.azureActivity).map(facts);
    expect(got).toEqual(fromExport);
  });

  it('reads the whole list page of every kind: 13 alerts, the 4 non-starts silent', () => {
    expect(alertsOf(read('rest/list-page.json'))).toHaveLength(13);
  });

  it('reports a shape it does not understand instead of reading it as zero records', () => {
    const r = detectBatch([JSON.stringify({ data: [{ op: 'x' }] })], () => ({}), { prefilter: false });
    expect(r.malformed.map((m) => m.code)).toEqual(['RECORD_INVALID']);
    expect(r.malformed[0]!.reason).toMatch(/no readable operationName|no readable operation/);
  });
});

describe('fail open on minor fields', () => {
  const BAD_VALUES: readonly [string, unknown][] = [
    ['null', null],
    ['an array', ['x']],
    ['a boolean', true],
    ['an object', { nested: { deeper: 1 } }],
  ];
  const cases: [string, Record<string, unknown>, string][] = [];
  for (const [shape, field] of [
    ['export', 'properties'],
    ['export', 'identity'],
    ['export', 'location'],
    ['export', 'tenantId'],
    ['export', 'callerIpAddress'],
    ['export', 'category'],
    ['export', 'level'],
    ['export', 'correlationId'],
    ['export', 'resourceId'],
    ['rest', 'caller'],
    ['rest', 'claims'],
    ['rest', 'httpRequest'],
    ['rest', 'properties'],
    ['rest', 'category'],
    ['rest', 'tenantId'],
    ['rest', 'subscriptionId'],
    ['rest', 'resourceGroupName'],
    ['azureActivity', 'Properties_d'],
    ['azureActivity', 'Claims_d'],
    ['azureActivity', 'Caller'],
    ['azureActivity', 'CallerIpAddress'],
    ['azureActivity', 'CategoryValue'],
    ['azureActivity', 'Level'],
  ] as const) {
    const objectField = [
      'properties',
      'identity',
      'claims',
      'httpRequest',
      'Properties_d',
      'Claims_d',
    ].includes(field);
    for (const [what, value] of BAD_VALUES) {
      // An object is the right type for an object field: only the other values are damage.
      if (objectField && what === 'an object') continue;
      const records = nw[shape];
      const success = records.find((r) =>
        ['Success', 'Succeeded'].includes(
          String(
            (r.resultType as string | undefined) ??
              (r.status as { value?: string } | undefined)?.value ??
              r.ActivityStatusValue,
          ),
        ),
      )!;
      cases.push([`${shape} ${field} as ${what}`, { ...success, [field]: value }, field]);
    }
  }

  it.each(cases)('%s: still evaluated, the field dropped and named', (_name, record, field) => {
    const r = normalizeRecord(record);
    if (!r.ok) throw r.error;
    expect(rule.evaluate(r.event)).toBeDefined();
    if (record[field] !== null || field !== 'correlationId') {
      // A present field of an unreadable type (or null) is named, never silently taken as absent.
      expect(r.event.droppedFields.some((d) => d === field || d.startsWith(`${field}.`))).toBe(true);
    }
  });

  it('counts records with dropped fields in the batch', () => {
    const success = nw.export[2]!;
    const r = detectBatch([{ records: [{ ...success, location: null, properties: [] }] }], () => ({}));
    expect(r.alerts).toHaveLength(1);
    expect(r.counts.fieldsDropped).toBe(1);
    expect([...(r.alerts[0]!.Context.dropped_fields as string[])].sort()).toEqual(['location', 'properties']);
  });

  it('still rejects what the rule cannot do without: no operation, or an unreadable result or time', () => {
    const success = nw.export[2]!;
    for (const bad of [
      { ...success, operationName: undefined },
      { ...success, operationName: null },
      { ...success, resultType: { not: 'text' } },
      { ...success, time: ['x'] },
    ]) {
      const r = normalizeRecord(bad);
      expect(r.ok).toBe(false);
    }
  });

  it('trims results and compares body keys without regard to case', () => {
    const [start, , success] = nw.export as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    const body = String((start.properties as Record<string, unknown>).requestbody)
      .replace('"target"', '"TARGET"')
      .replace('"storageLocation"', '"StorageLocation"');
    const shouted = { ...start, properties: { RequestBody: body } };
    const alerts = alertsOf({ records: [shouted, { ...success, resultType: ' Success ' }] });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.CaptureTarget).toMatch(/virtualMachines\/vm-web01$/);
    expect(alerts[0]!.CaptureStorage).toMatch(/storageAccounts\/stdiagweu01$/);
  });
});

describe('encodings', () => {
  const body = JSON.stringify({ records: nw.export });
  const expected = alertsOf(body).map(facts);

  it('reads UTF-16 with a BOM (little and big endian), as Windows PowerShell 5.1 writes it', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    expect(alertsOf(le).map(facts)).toEqual(expected);
    expect(alertsOf(be).map(facts)).toEqual(expected);
  });

  it('reads gzip, and refuses one that would inflate beyond the bound', () => {
    expect(alertsOf(gzipSync(body)).map(facts)).toEqual(expected);
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20));
    const r = detectBatch([bomb], () => ({}));
    expect(r.malformed[0]?.reason).toMatch(/inflates to at most/);
  });
});

describe('callers, as an analyst names them', () => {
  const byKind = new Map<string, AlertRow>();
  for (const file of readdirSync(join(fixtures, 'export'))) {
    for (const a of alertsOf(read(`export/${file}`))) byKind.set(file.replace('.eventhub.json', ''), a);
  }

  it('a member user by UPN', () => {
    expect(byKind.get('network-watcher-vm')).toMatchObject({
      Caller: 'alice.admin@contoso.example',
      CallerKind: 'User',
    });
  });

  it('a guest without a upn claim by the name claims, never by the client application', () => {
    const guest = byKind.get('virtual-network-gateway')!;
    expect(guest).toMatchObject({ Caller: 'bob.partner@fabrikam.example', CallerKind: 'Guest' });
    expect(guest.Caller).not.toBe(guest.CallerAppId);
    expect(byKind.get('virtual-network-tap')).toMatchObject({
      Caller: 'live.com#dana.consultant@outlook.example',
      CallerKind: 'Guest',
    });
  });

  it('a service principal and a managed identity by app id, with their kind', () => {
    const sp = byKind.get('gateway-connection')!;
    expect(sp).toMatchObject({ CallerKind: 'ServicePrincipal', Caller: sp.CallerAppId });
    const mi = byKind.get('vpn-gateway')!;
    expect(mi).toMatchObject({ CallerKind: 'ManagedIdentity', Caller: mi.CallerAppId, CallerIpAddress: '' });
    expect(String(mi.Context.caller_managed_identity)).toMatch(
      /userAssignedIdentities\/id-netops-automation$/,
    );
  });
});
