import { chooseCredential, describeCredential, lazyCredential } from '../../src/deliver/credential';
import {
  parseFakeToken,
  startManagedIdentityFake,
  type ManagedIdentityFake,
} from '../support/managedIdentityFake';

describe('chooseCredential', () => {
  const clientId = '0f0e0d0c-0b0a-0908-0706-050403020100';
  it('uses the managed identity in Azure (App Service / Functions environment)', () => {
    expect(chooseCredential({ IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token' }, undefined)).toEqual({
      kind: 'managedIdentity',
    });
    expect(chooseCredential({ WEBSITE_INSTANCE_ID: 'abc' }, clientId)).toEqual({
      kind: 'managedIdentity',
      clientId,
    });
  });
  it('uses DefaultAzureCredential elsewhere (developer or operator sign-in)', () => {
    expect(chooseCredential({}, undefined)).toEqual({ kind: 'default' });
    expect(chooseCredential({ IDENTITY_ENDPOINT: '' }, clientId)).toEqual({
      kind: 'default',
      managedIdentityClientId: clientId,
    });
  });
  it('describes the choice without secrets', () => {
    expect(describeCredential({ kind: 'managedIdentity', clientId })).toBe(
      `managed identity (user-assigned ${clientId})`,
    );
    expect(describeCredential({ kind: 'default' })).toMatch(/DefaultAzureCredential/);
  });
});

describe('lazyCredential with the managed identity endpoint', () => {
  const clientId = '0f0e0d0c-0b0a-0908-0706-050403020100';
  let mi: ManagedIdentityFake;
  const saved = { ...process.env };
  beforeAll(async () => {
    mi = await startManagedIdentityFake({ clientId });
    Object.assign(process.env, mi.env());
  });
  afterAll(async () => {
    process.env = saved;
    await mi.stop();
  });

  it('asks for the user-assigned identity by client id and gets a token for the requested audience', async () => {
    const credential = await lazyCredential({ kind: 'managedIdentity', clientId })();
    const token = await credential.getToken('https://monitor.azure.com/.default');
    expect(parseFakeToken(token?.token ?? '')?.aud).toBe('https://monitor.azure.com');
    expect(mi.requests.at(-1)).toMatchObject({
      clientId,
      resource: 'https://monitor.azure.com',
      status: 200,
    });
  });

  it('is made once and shared', async () => {
    const get = lazyCredential({ kind: 'managedIdentity', clientId });
    expect(await get()).toBe(await get());
  });
});
