import { normalizeRecord } from '../../src/normalize/normalize';
import { parseResourceId, SMOKE_TEST_FIELD } from '../../src/normalize/activityEvent';

const UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const OID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';

function ok(record: unknown) {
  const r = normalizeRecord(record);
  if (!r.ok) throw r.error;
  return r.event;
}

describe('normalizeRecord', () => {
  const base = { operationName: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE', resultType: 'Success' };

  it('takes the caller from the UPN, then the app id, then the object id', () => {
    expect(
      ok({ ...base, identity: { claims: { [UPN]: 'a@b.example', appid: 'app', [OID]: 'oid' } } }).caller,
    ).toBe('a@b.example');
    expect(ok({ ...base, identity: { claims: { appid: 'app', [OID]: 'oid' } } }).caller).toBe('app');
    const byOid = ok({ ...base, identity: { claims: { [OID]: 'oid' } } });
    expect([byOid.caller, byOid.callerObjectId]).toEqual(['oid', 'oid']);
    expect(ok(base).caller).toBe('');
  });

  it('accepts the REST shape of operationName and numbers where text is expected', () => {
    const e = ok({
      operationName: { value: 'X/WRITE', localizedValue: 'x' },
      resultType: 'Success',
      durationMs: 5,
      level: 4,
    });
    expect(e.operationName).toBe('X/WRITE');
    expect(e.level).toBe('4');
  });

  it('normalizes AzureActivity rows', () => {
    const e = ok({
      OperationNameValue: 'MICROSOFT.NETWORK/CONNECTIONS/STARTPACKETCAPTURE/ACTION',
      ActivityStatusValue: 'Succeeded',
      CallerIpAddress: '192.0.2.1',
      Caller: 'someone@contoso.example',
      CorrelationId: 'c1',
      _ResourceId: '/subscriptions/s/resourcegroups/rg/providers/microsoft.network/connections/cn',
      TimeGenerated: '2025-12-22T13:10:31Z',
      CategoryValue: 'Administrative',
      Properties: '{"message":"x","location":"westus"}',
      Claims_d: { appid: 'app-1' },
    });
    expect(e).toMatchObject({
      sourceFormat: 'AzureActivity',
      operationName: 'MICROSOFT.NETWORK/CONNECTIONS/STARTPACKETCAPTURE/ACTION',
      resultType: 'Succeeded',
      callerIpAddress: '192.0.2.1',
      caller: 'app-1',
      correlationId: 'c1',
      category: 'Administrative',
      location: 'westus',
    });
  });

  it.each([
    ['null', null, 'RECORD_NOT_OBJECT'],
    ['an array', [1], 'RECORD_NOT_OBJECT'],
    ['a string', 'x', 'RECORD_NOT_OBJECT'],
    ['no operationName', { resultType: 'Success' }, 'RECORD_INVALID'],
    ['operationName of the wrong type', { operationName: ['x'], resultType: 'Success' }, 'RECORD_INVALID'],
    ['resultType of the wrong type', { operationName: 'x', resultType: { a: 1 } }, 'RECORD_INVALID'],
  ])('rejects %s with a clear error', (_name, record, code) => {
    const r = normalizeRecord(record);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.message).toMatch(/Expected|expected/);
  });

  it('names the field and what arrived', () => {
    const r = normalizeRecord({ operationName: 'x', resultType: 42n as unknown });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toMatch(/resultType/);
  });

  it('keeps huge strings without throwing', () => {
    const big = 'A'.repeat(5_000_000);
    expect(ok({ ...base, callerIpAddress: big }).callerIpAddress).toHaveLength(5_000_000);
  });
});

describe('parseResourceId', () => {
  it('splits a resource id case-insensitively', () => {
    expect(
      parseResourceId(
        '/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NW/PACKETCAPTURES/PC',
      ),
    ).toEqual({
      subscriptionId: 'S1',
      resourceGroup: 'RG1',
      provider: 'MICROSOFT.NETWORK',
      resourceName: 'PC',
    });
    expect(parseResourceId('')).toEqual({
      subscriptionId: '',
      resourceGroup: '',
      provider: '',
      resourceName: '',
    });
  });
});

describe('the smoke test marker', () => {
  const base = { operationName: 'MICROSOFT.NETWORK/VIRTUALNETWORKTAPS/WRITE', resultType: 'Success' };

  it("reads the smoke test's top-level marker from both shapes, and only from the top level", () => {
    expect(SMOKE_TEST_FIELD).toBe('packetCaptureDetectorSmokeTest');
    expect(ok({ ...base, packetCaptureDetectorSmokeTest: 'smoke-1' }).smokeTestId).toBe('smoke-1');
    expect(
      ok({
        OperationNameValue: base.operationName,
        ActivityStatusValue: 'Success',
        [SMOKE_TEST_FIELD]: 'smoke-2',
      }).smokeTestId,
    ).toBe('smoke-2');
    // A real record has no such field: nothing is added to the event.
    expect('smokeTestId' in ok(base)).toBe(false);
    // What a user controls in a real record (request body, resource name, correlation id, claims) never marks it.
    const injected = ok({
      ...base,
      resourceId:
        '/subscriptions/s/resourceGroups/packetCaptureDetectorSmokeTest/providers/x/y/packetCaptureDetectorSmokeTest',
      correlationId: 'packetCaptureDetectorSmokeTest',
      identity: { claims: { [SMOKE_TEST_FIELD]: 'claims' } },
      properties: {
        [SMOKE_TEST_FIELD]: 'properties',
        requestbody: JSON.stringify({
          [SMOKE_TEST_FIELD]: 'body',
          properties: { [SMOKE_TEST_FIELD]: 'nested' },
        }),
      },
    });
    expect(injected.smokeTestId).toBeUndefined();
  });

  it('drops a marker that is not text, like any other minor field of the wrong type (the record stays real)', () => {
    const e = ok({ ...base, [SMOKE_TEST_FIELD]: { id: 'x' } });
    expect(e.smokeTestId).toBeUndefined();
    expect(e.droppedFields).toContain(SMOKE_TEST_FIELD);
  });
});
