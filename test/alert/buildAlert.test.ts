import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALERT_COLUMNS, RESERVED_COLUMN_NAMES } from '../../src/alert/columns';
import { alertIdFor, buildAlert, toIsoUtc } from '../../src/alert/buildAlert';
import { redactSecrets, redactText } from '../../src/lib/redact';
import { packetCaptureEnabled as rule } from '../../src/detect/rules/packetCaptureEnabled';
import { normalizeRecord } from '../../src/normalize/normalize';

function event(record: unknown) {
  const r = normalizeRecord(record);
  if (!r.ok) throw r.error;
  return r.event;
}

const seedWrite = JSON.parse(
  readFileSync(join(__dirname, '../fixtures/seed/03-packet-capture-write-operation.log.json'), 'utf8'),
) as Record<string, unknown>;

describe('alert columns', () => {
  it('avoid the names Log Analytics reserves and are unique', () => {
    const names = ALERT_COLUMNS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names)
      expect(RESERVED_COLUMN_NAMES.map((r) => r.toLowerCase())).not.toContain(n.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['TimeGenerated', 'AlertTitle', 'AadTenantId', 'Context']));
  });
});

describe('buildAlert', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('fills every column from the seed record', () => {
    const e = event(seedWrite);
    const finding = rule.evaluate(e)!;
    const row = buildAlert(rule, e, finding, now);
    expect(Object.keys(row).sort()).toEqual(ALERT_COLUMNS.map((c) => c.name).sort());
    expect(row).toMatchObject({
      TimeGenerated: '2026-01-01T00:00:00.000Z',
      EventTime: '2025-12-22T12:00:00.000Z',
      RuleId: 'Azure.MonitorActivity.Network.PacketCaptureEnabled',
      AlertTitle: 'Azure Network Packet Capture Enabled in [centralus]',
      Severity: 'Medium',
      Tactics: 'CredentialAccess',
      Techniques: 'T1040',
      OperationName: 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE',
      ResultType: 'Success',
      CaptureKind: 'NetworkWatcher',
      SubscriptionId: '33333333-3333-3333-3333-333333333333',
      ResourceGroup: 'NetworkWatcherRG',
      ResourceName: 'capture-01',
      Location: 'centralus',
      CallerIpAddress: '3.3.3.3',
      CorrelationId: 'c3d4e5f6-a7b8-9012-cdef-333333333333',
      AadTenantId: '33333333-3333-3333-3333-333333333333',
      SourceFormat: 'DiagnosticExport',
    });
    expect(row.Runbook).toContain('1. Query Azure Monitor Activity logs');
    expect(row.Context).toMatchObject({
      resource_id: seedWrite.resourceId,
      caller_ip: '3.3.3.3',
      operation_name: 'MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE',
      result_type: 'Success',
      correlation_id: 'c3d4e5f6-a7b8-9012-cdef-333333333333',
      location: 'centralus',
      tenant_id: '33333333-3333-3333-3333-333333333333',
      resource_group: 'NetworkWatcherRG',
    });
  });

  it('gives the same record the same AlertId and different operations different ones', () => {
    const e = event(seedWrite);
    expect(alertIdFor(rule, e)).toBe(alertIdFor(rule, event(JSON.parse(JSON.stringify(seedWrite)))));
    expect(alertIdFor(rule, e)).toMatch(/^[0-9a-f]{32}$/);
    const ids = new Set([
      alertIdFor(rule, e),
      alertIdFor(rule, event({ ...seedWrite, correlationId: 'other' })),
      alertIdFor(rule, event({ ...seedWrite, time: '2025-12-22T12:00:01Z' })),
      alertIdFor(rule, event({ ...seedWrite, resultType: 'Succeeded' })),
      alertIdFor(rule, event({ ...seedWrite, resourceId: `${String(seedWrite.resourceId)}-2` })),
    ]);
    expect(ids.size).toBe(5);
    // Letter case and time precision do not split one record into two ids.
    expect(
      alertIdFor(
        rule,
        event({
          ...seedWrite,
          operationName: 'Microsoft.Network/networkWatchers/packetCaptures/write',
          time: '2025-12-22T12:00:00Z',
        }),
      ),
    ).toBe(alertIdFor(rule, e));
  });

  it('reports an unknown location as Panther does, naming the resource so unrelated alerts never group', () => {
    const e = event({
      ...seedWrite,
      location: undefined,
      resourceId:
        '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkWatchers/nw-custom/packetCaptures/pc-9',
    });
    expect(rule.title(e)).toBe('Azure Network Packet Capture Enabled in [<UNKNOWN_LOCATION>] on pc-9');
    const row = buildAlert(rule, e, rule.evaluate(e)!, now);
    expect([row.Location, row.LocationSource]).toEqual(['', 'unknown']);
  });

  it("takes a missing location from a Network Watcher's default name", () => {
    const e = event({ ...seedWrite, location: undefined });
    expect(rule.title(e)).toBe('Azure Network Packet Capture Enabled in [centralus]');
    const row = buildAlert(rule, e, rule.evaluate(e)!, now);
    expect([row.Location, row.LocationSource]).toEqual(['centralus', 'resource']);
  });

  it('describes the capture target and storage without SAS tokens', () => {
    const e = event({
      ...seedWrite,
      properties: {
        requestbody: JSON.stringify({
          properties: {
            target: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
            storageLocation: {
              storagePath: 'https://st1.blob.core.windows.net/c/x.cap?sv=2022&sig=SECRETSIG',
            },
          },
        }),
      },
    });
    const row = buildAlert(rule, e, rule.evaluate(e)!, now);
    expect(row.CaptureTarget).toBe(
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
    );
    expect(row.CaptureStorage).toBe('https://st1.blob.core.windows.net/c/x.cap');
    expect(JSON.stringify(row)).not.toContain('SECRETSIG');
  });
});

describe('toIsoUtc', () => {
  it.each([
    ['2025-12-22T10:30:00.0000000Z', '2025-12-22T10:30:00.000Z'],
    ['2025-12-22T10:30:00.1234567Z', '2025-12-22T10:30:00.123Z'],
    ['2025-12-22T10:30:00', '2025-12-22T10:30:00.000Z'],
    ['2025-12-22T12:30:00+02:00', '2025-12-22T10:30:00.000Z'],
    ['not a time', ''],
    ['', ''],
  ])('%s → %s', (input, expected) => {
    expect(toIsoUtc(input)).toBe(expected);
  });
});

describe('redaction', () => {
  it('removes SAS signatures, account keys and bearer tokens', () => {
    expect(redactText('https://a.blob.core.windows.net/c?sv=1&sig=abc%3D&se=2')).toBe(
      'https://a.blob.core.windows.net/c?sv=REDACTED&sig=REDACTED&se=REDACTED',
    );
    expect(redactText('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k3y==;')).toBe(
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;',
    );
    expect(redactText('Authorization: Bearer eyJ0eXAi.abc.def')).toBe('Authorization: Bearer REDACTED');
  });

  it('copies nested values and keeps __proto__ as data', () => {
    const input = JSON.parse('{"__proto__":{"x":"?sig=1"},"a":[{"b":"SharedAccessKey=zz"}]}') as unknown;
    const out = redactSecrets(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe(
      '{"__proto__":{"x":"?sig=REDACTED"},"a":[{"b":"SharedAccessKey=REDACTED"}]}',
    );
  });
});

describe('smoke test rows', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('keep the run id in SmokeTestId; real rows have it empty', () => {
    const real = event(seedWrite);
    const marked = event({ ...seedWrite, packetCaptureDetectorSmokeTest: 'smoke-20260101T000000Z-abc123' });
    expect(buildAlert(rule, real, rule.evaluate(real)!, now).SmokeTestId).toBe('');
    expect(buildAlert(rule, marked, rule.evaluate(marked)!, now).SmokeTestId).toBe(
      'smoke-20260101T000000Z-abc123',
    );
  });

  it('never share an AlertId with the real record they copy, and leave real AlertIds as they were', () => {
    const real = event(seedWrite);
    const marked = event({ ...seedWrite, packetCaptureDetectorSmokeTest: 'smoke-1' });
    expect(alertIdFor(rule, marked)).not.toBe(alertIdFor(rule, real));
    expect(alertIdFor(rule, event({ ...seedWrite, packetCaptureDetectorSmokeTest: 'smoke-2' }))).not.toBe(
      alertIdFor(rule, marked),
    );
    // The identity of a real record is unchanged by the marker's existence (ids stay stable across versions).
    const { smokeTestId: _none, ...withoutField } = { ...real, smokeTestId: undefined };
    expect(alertIdFor(rule, withoutField)).toBe(alertIdFor(rule, real));
  });
});
