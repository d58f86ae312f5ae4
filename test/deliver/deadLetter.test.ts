import { BlobServiceClient } from '@azure/storage-blob';
import { DetectorError } from '../../src/lib/errors';
import {
  ALERT_DEAD_LETTER_SCHEMA,
  ALERTS_PREFIX,
  alertDeadLetterSchema,
  BlobDeadLetterStore,
  MALFORMED_PREFIX,
  checkConnectionString,
  deadLetterBlobName,
} from '../../src/deliver/deadLetter';
import type { BatchInfo } from '../../src/pipeline/ports';
import { sampleAlerts } from '../support/alerts';
import { startAzurite, type AzuriteInstance } from '../support/azurite';

const batch: BatchInfo = {
  source: 'eventhub',
  partitionId: '7',
  firstSequenceNumber: 5,
  lastSequenceNumber: 9,
  invocationId: 'i-1',
};

describe('deadLetterBlobName', () => {
  it('sorts by time and is unique', () => {
    const t = Date.parse('2025-01-31T23:59:58.999Z');
    const names = [0, 1, 2_000, 86_400_000].map((d) =>
      deadLetterBlobName(ALERTS_PREFIX, new Date(t + d), batch),
    );
    expect([...names].sort()).toEqual(names);
    expect(names[0]).toMatch(/^alerts\/2025-01-31\/23-59-58\.999Z_p7_s5-9_[0-9a-f-]{36}\.json$/);
    expect(deadLetterBlobName(ALERTS_PREFIX, new Date(t), batch)).not.toBe(
      deadLetterBlobName(ALERTS_PREFIX, new Date(t), batch),
    );
  });
  it('keeps only safe characters from the batch coordinates', () => {
    const name = deadLetterBlobName(
      MALFORMED_PREFIX,
      new Date(0),
      { source: 'file', partitionId: '../x?sig=abc' },
      'u',
    );
    expect(name).toBe('malformed/1970-01-01/00-00-00.000Z_p---x-sig-abc_sx_u.json');
  });
});

describe('alert dead letters written before a column existed', () => {
  it('still validate, the new column read as its default (SmokeTestId: empty, a real alert)', () => {
    const [current] = sampleAlerts(1);
    const { SmokeTestId: _added, ...older } = current!;
    const document = {
      schema: ALERT_DEAD_LETTER_SCHEMA,
      kind: 'alerts',
      writtenAt: '2026-01-01T00:00:00.000Z',
      reason: 'Logs Ingestion unavailable',
      batch,
      failures: [{ reason: 'HTTP 503', alertIds: [older.AlertId] }],
      replayAttempts: 0,
      alerts: [older],
    };
    const parsed = alertDeadLetterSchema.safeParse(document);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.alerts[0]).toEqual({ ...older, SmokeTestId: '' });
    // A column without a default is still required.
    const { AlertId: _id, ...broken } = older;
    expect(alertDeadLetterSchema.safeParse({ ...document, alerts: [broken] }).success).toBe(false);
  });
});

describe('checkConnectionString', () => {
  it('refuses plain http except to a loopback emulator', () => {
    expect(() => {
      checkConnectionString(
        'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net',
      );
    }).toThrow(/must use https/);
    expect(() => {
      checkConnectionString('AccountName=a;AccountKey=k;BlobEndpoint=http://storage.example.com/a;');
    }).toThrow(DetectorError);
    checkConnectionString(
      'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net',
    );
    checkConnectionString(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
    );
    checkConnectionString('UseDevelopmentStorage=true');
  });
});

describe('BlobDeadLetterStore on Azurite', () => {
  let azurite: AzuriteInstance;
  let store: BlobDeadLetterStore;
  beforeAll(async () => {
    azurite = await startAzurite();
    store = new BlobDeadLetterStore({
      storage: { kind: 'connectionString', connectionString: azurite.connectionString },
      container: 'dl-unit',
    });
  }, 30_000);
  afterAll(async () => {
    await azurite.stop();
  });

  const names = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const b of store.list(prefix)) out.push(b.name);
    return out;
  };

  it('creates the container on first use and keeps malformed messages raw with their coordinates', async () => {
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await store.keep(
      [
        {
          code: 'MESSAGE_NOT_JSON',
          reason: 'Expected JSON',
          index: 0,
          partitionId: '7',
          offset: '4096',
          sequenceNumber: 5,
          enqueuedTimeUtc: '2025-01-31T00:00:00Z',
          raw: binary,
        },
        {
          code: 'RECORD_INVALID',
          reason: 'bad',
          index: 1,
          partitionId: '7',
          offset: '5000',
          sequenceNumber: 6,
          raw: '{"uri":"https://a.blob.core.windows.net/c?sv=2022&sig=TOPSECRET"}',
        },
      ],
      batch,
    );
    const [name] = await names(MALFORMED_PREFIX);
    const doc = JSON.parse(await store.readText(name!)) as {
      messages: Record<string, unknown>[];
      batch: BatchInfo;
    };
    expect(doc.batch).toEqual(batch);
    expect(doc.messages[0]).toMatchObject({
      rawEncoding: 'base64',
      raw: binary.toString('base64'),
      rawBytes: 4,
      offset: '4096',
      sequenceNumber: 5,
    });
    expect(doc.messages[1]).toMatchObject({ rawEncoding: 'utf8', redacted: true, offset: '5000' });
    expect(JSON.stringify(doc)).not.toContain('TOPSECRET');
  });

  it('writes undeliverable alerts with reasons; a replay claim is exclusive and deletes only under its lease', async () => {
    const alerts = sampleAlerts(3);
    const name = await store.writeAlerts(
      alerts,
      [{ reason: 'HTTP 503', alertIds: alerts.map((a) => a.AlertId) }],
      batch,
    );
    const first = await store.claim(name, 15);
    expect(first?.document.alerts).toEqual(alerts);
    expect(await store.claim(name, 15)).toBeUndefined();
    await first!.keepRemaining(alerts.slice(1), 'HTTP 500 again');
    const second = await store.claim(name, 15);
    expect(second?.document).toMatchObject({ replayAttempts: 1, lastReplayError: 'HTTP 500 again' });
    expect(second?.document.alerts).toHaveLength(2);
    await second!.complete();
    expect(await names(name)).toEqual([]);
    expect(await store.claim(name, 15)).toBeUndefined();
  });

  it('refuses to replay a blob that is not a dead-letter document, and releases it', async () => {
    const name = await store.writeAlerts(sampleAlerts(1), [], batch);
    // Corrupt it as a person editing the blob by hand might.
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient('dl-unit')
      .getBlockBlobClient(name);
    await blob.upload('{"kind":"alerts"}', 17);
    await expect(store.claim(name, 15)).rejects.toMatchObject({ code: 'DELIVERY_FAILED' });
    const again = await store.claim(name, 15).catch((e: unknown) => e);
    expect((again as DetectorError).code).toBe('DELIVERY_FAILED'); // not "held": the lease was released
  });

  it('fails with DEAD_LETTER_FAILED (not silently) when the storage is unreachable', async () => {
    const down = new BlobDeadLetterStore({
      storage: {
        kind: 'connectionString',
        connectionString: azurite.connectionString.replace(/:\d+\//, ':9/'),
      },
      container: 'dl-unit',
      clientOptions: { retryOptions: { maxTries: 1, tryTimeoutInMs: 2_000 } },
    });
    await expect(down.writeAlerts(sampleAlerts(1), [], batch)).rejects.toMatchObject({
      code: 'DEAD_LETTER_FAILED',
    });
    await expect(
      down.keep([{ code: 'MESSAGE_NOT_JSON', reason: 'x', index: 0, raw: 'x' }], batch),
    ).rejects.toMatchObject({
      code: 'DEAD_LETTER_FAILED',
    });
  });
});
