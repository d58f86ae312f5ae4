import { ManagedIdentityCredential } from '@azure/identity';
import { LogsIngestionClient, isAggregateLogsUploadError } from '@azure/monitor-ingestion';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from './azurite';
import { startLogsIngestionFake, type LogsIngestionFake } from './logsIngestionFake';
import {
  FAKE_MI_TOKEN_MARKER,
  startManagedIdentityFake,
  type ManagedIdentityFake,
} from './managedIdentityFake';

// The fakes are only worth something if the real SDK clients accept them: these tests pin that down.
const RULE = 'dcr-00000000000000000000000000000001';
const STREAM = 'Custom-PacketCaptureAlerts_CL';

describe('test support fakes with the real SDK clients', () => {
  let mi: ManagedIdentityFake;
  let fake: LogsIngestionFake;
  const saved = { ...process.env };

  beforeAll(async () => {
    mi = await startManagedIdentityFake();
    Object.assign(process.env, mi.env());
    fake = await startLogsIngestionFake({ ruleId: RULE, streamName: STREAM });
  });
  afterAll(async () => {
    process.env = saved;
    await fake.stop();
    await mi.stop();
  });

  it('ManagedIdentityCredential reads the App Service endpoint and LogsIngestionClient uploads over trusted TLS', async () => {
    const credential = new ManagedIdentityCredential();
    const token = await credential.getToken('https://monitor.azure.com/.default');
    expect(token.token).toContain(FAKE_MI_TOKEN_MARKER);
    const client = new LogsIngestionClient(fake.endpoint, credential, { tlsOptions: { ca: fake.ca } });
    await client.upload(RULE, STREAM, [{ AlertId: 'a1' }, { AlertId: 'a2' }]);
    expect(fake.rows.map((r) => r.AlertId)).toEqual(['a1', 'a2']);
    expect(fake.violations).toEqual([]);
    expect(fake.requests.at(-1)).toMatchObject({ status: 204, gzip: true, rows: 2 });
    expect(mi.requests.every((r) => r.resource === 'https://monitor.azure.com')).toBe(true);
  });

  it('without the CA the client refuses the self-signed certificate', async () => {
    const client = new LogsIngestionClient(fake.endpoint, new ManagedIdentityCredential(), {
      retryOptions: { maxRetries: 0 },
    });
    const error: unknown = await client.upload(RULE, STREAM, [{ AlertId: 'x' }]).catch((e: unknown) => e);
    expect(isAggregateLogsUploadError(error)).toBe(true);
    expect(fake.rows.some((r) => r.AlertId === 'x')).toBe(false);
  });

  it('answers scripted faults and counts them', async () => {
    fake.setFaults({ script: ['throttle', 'bad-request'] });
    const client = new LogsIngestionClient(fake.endpoint, new ManagedIdentityCredential(), {
      tlsOptions: { ca: fake.ca },
      retryOptions: { maxRetries: 0 },
    });
    const first: unknown = await client.upload(RULE, STREAM, [{ AlertId: 'f1' }]).catch((e: unknown) => e);
    const second: unknown = await client.upload(RULE, STREAM, [{ AlertId: 'f2' }]).catch((e: unknown) => e);
    const status = (e: unknown): unknown =>
      isAggregateLogsUploadError(e) ? (e.errors[0]?.cause as { statusCode?: number }).statusCode : undefined;
    expect([status(first), status(second)]).toEqual([429, 400]);
    expect(fake.faultsInjected).toMatchObject({ throttle: 1, 'bad-request': 1 });
    fake.setFaults(undefined);
  });
});

describe('startAzurite', () => {
  it('starts a blob service that the real BlobServiceClient can use, and stops it', async () => {
    const azurite = await startAzurite();
    try {
      const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
      const container = service.getContainerClient('probe');
      await container.createIfNotExists();
      await container.getBlockBlobClient('a.json').upload('{}', 2);
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      expect(names).toEqual(['a.json']);
      expect(azurite.blobEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
    } finally {
      await azurite.stop();
    }
  }, 30_000);
});
