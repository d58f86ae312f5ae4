import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { DetectorError } from '../../src/lib/errors';
import {
  ALERT_DEAD_LETTER_SCHEMA,
  ALERTS_PREFIX,
  alertDeadLetterSchema,
  BlobDeadLetterStore,
  MALFORMED_PREFIX,
  checkConnectionString,
  deadLetterBlobName,
  MAX_DOCUMENT_BYTES,
  type MalformedDeadLetter,
} from '../../src/deliver/deadLetter';
import { detectBatch } from '../../src/pipeline/detectBatch';
import type { BatchInfo, MalformedMessage } from '../../src/pipeline/ports';
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
          problems: [{ code: 'MESSAGE_NOT_JSON', reason: 'Expected JSON' }],
          problemCount: 1,
          raw: binary,
        },
        {
          code: 'RECORD_INVALID',
          reason: 'bad',
          index: 1,
          partitionId: '7',
          offset: '5000',
          sequenceNumber: 6,
          problems: [{ code: 'RECORD_INVALID', reason: 'bad', record: 0 }],
          problemCount: 1,
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
      redaction: ['utf16le', 'utf16be', 'latin1'],
    });
    expect(doc).toMatchObject({ part: 1, lastPart: true });
    expect(doc.messages[1]).toMatchObject({ rawEncoding: 'utf8', redacted: true, offset: '5000' });
    expect(JSON.stringify(doc)).not.toContain('TOPSECRET');
  });

  it('writes undeliverable alerts with reasons; a replay claim is exclusive and deletes only under its lease', async () => {
    const alerts = sampleAlerts(3);
    const [name] = await store.writeAlerts(
      alerts,
      [{ reason: 'HTTP 503', alertIds: alerts.map((a) => a.AlertId) }],
      batch,
    );
    if (name === undefined) throw new Error('no dead letter written');
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
    const [name] = await store.writeAlerts(sampleAlerts(1), [], batch);
    if (name === undefined) throw new Error('no dead letter written');
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
      down.keep(
        [{ code: 'MESSAGE_NOT_JSON', reason: 'x', index: 0, problems: [], problemCount: 1, raw: 'x' }],
        batch,
      ),
    ).rejects.toMatchObject({
      code: 'DEAD_LETTER_FAILED',
    });
  });
});

describe('dead-letter documents are bounded and redacted', () => {
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  const storeFor = (name: string, maxDocumentBytes?: number): BlobDeadLetterStore =>
    new BlobDeadLetterStore({
      storage: { kind: 'connectionString', connectionString: azurite.connectionString },
      container: name,
      ...(maxDocumentBytes === undefined ? {} : { maxDocumentBytes }),
    });
  const documents = async (
    name: string,
    prefix: string,
  ): Promise<{ name: string; bytes: number; doc: MalformedDeadLetter }[]> => {
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
    const out = [];
    for await (const b of container.listBlobsFlat({ prefix })) {
      const buf = await container.getBlockBlobClient(b.name).downloadToBuffer();
      out.push({
        name: b.name,
        bytes: buf.length,
        doc: JSON.parse(buf.toString('utf8')) as MalformedDeadLetter,
      });
    }
    return out;
  };
  const message = (
    index: number,
    raw: Buffer | string,
    extra: Partial<MalformedMessage> = {},
  ): MalformedMessage => ({
    code: 'MESSAGE_NOT_JSON',
    reason: 'Expected JSON',
    index,
    sequenceNumber: 100 + index,
    problems: [{ code: 'MESSAGE_NOT_JSON', reason: 'Expected JSON' }],
    problemCount: 1,
    raw,
    ...extra,
  });

  beforeAll(async () => {
    azurite = await startAzurite();
  }, 30_000);
  afterAll(async () => {
    await azurite.stop();
  });

  it('splits a batch of malformed messages into documents of bounded size, each message kept once', async () => {
    const store = storeFor('dl-split', 64 * 1024);
    const messages = Array.from({ length: 10 }, (_, i) => message(i, `x${i}`.repeat(10_000)));
    await store.keep(messages, batch);
    const docs = await documents('dl-split', MALFORMED_PREFIX);
    expect(docs.length).toBeGreaterThanOrEqual(3);
    for (const d of docs) expect(d.bytes).toBeLessThanOrEqual(64 * 1024);
    const kept = docs.flatMap((d) => d.doc.messages.map((m) => m.index));
    expect(kept.sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    const parts = docs.map((d) => [d.doc.part, d.doc.lastPart] as const).sort((a, b) => a[0] - b[0]);
    expect(parts.at(-1)).toEqual([docs.length, true]);
    expect(parts.slice(0, -1).every(([, last]) => !last)).toBe(true);
    expect(new Set(docs.map((d) => d.name.replace(/-\d+\.json$/, ''))).size).toBe(1);
  });

  it('keeps six 1 MB messages of [0,0,…] from one batch once each (the write that failed with Invalid string length)', async () => {
    const store = storeFor('dl-zeros');
    const zeros = Array.from({ length: 6 }, () => Buffer.from(`[${new Array(500_000).fill('0').join(',')}]`));
    const result = detectBatch(zeros, (i) => ({ partitionId: '7', sequenceNumber: 100 + i }));
    expect(result.malformed).toHaveLength(6);
    await store.keep(result.malformed, batch);
    const docs = await documents('dl-zeros', MALFORMED_PREFIX);
    const entries = docs.flatMap((d) => d.doc.messages);
    expect(entries.map((e) => e.sequenceNumber)).toEqual([100, 101, 102, 103, 104, 105]);
    for (const e of entries) {
      expect(e).toMatchObject({ code: 'RECORD_NOT_OBJECT', problemCount: 500_000, rawEncoding: 'utf8' });
      expect(e.problems).toHaveLength(20);
      expect(e.raw).toBe(zeros[0]?.toString('utf8'));
    }
    for (const d of docs) expect(d.bytes).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);
  });

  it('redacts raw messages in every encoding, and stores text that would be mostly escapes as base64', async () => {
    const store = storeFor('dl-raw');
    const secret = 'RAWSECRET0123456789';
    const raws = [
      Buffer.concat([
        Buffer.from([0xff, 0xfe, 0x80]),
        Buffer.from(`{"password":"${secret}"} ?sig=${secret}&`),
      ]),
      Buffer.from(`{"clientSecret":"${secret}"}`, 'utf16le'),
      Buffer.from(`\u0001\u0002\u0003\u0004 sig=${secret}`.repeat(50)),
      `{"records":[{"storageAccountKey":"${secret}"`,
    ];
    await store.keep(
      raws.map((r, i) => message(i, r)),
      batch,
    );
    const [d] = await documents('dl-raw', MALFORMED_PREFIX);
    const entries = d?.doc.messages ?? [];
    expect(entries.map((e) => [e.rawEncoding, e.redacted])).toEqual([
      ['base64', true],
      ['base64', true],
      ['base64', true],
      ['utf8', true],
    ]);
    for (const e of entries) {
      const bytes = e.rawEncoding === 'base64' ? Buffer.from(e.raw, 'base64') : Buffer.from(e.raw);
      for (const view of ['utf8', 'latin1', 'utf16le'] as const)
        expect(bytes.toString(view)).not.toContain(secret);
    }
    expect(entries[0]?.redaction).toEqual(['latin1']);
    expect(entries[1]?.redaction).toEqual(['utf16le', 'utf16be', 'utf8']);
    expect(JSON.stringify(d?.doc)).not.toContain(secret);
  });

  it('keeps a message set aside without its content as coordinates and size only', async () => {
    const store = storeFor('dl-omitted');
    await store.keep([message(0, '', { code: 'MESSAGE_SET_ASIDE', rawOmitted: { bytes: 1234 } })], batch);
    const [d] = await documents('dl-omitted', MALFORMED_PREFIX);
    expect(d?.doc.messages[0]).toMatchObject({
      code: 'MESSAGE_SET_ASIDE',
      rawEncoding: 'omitted',
      raw: '',
      rawBytes: 1234,
      sequenceNumber: 100,
    });
  });

  it('splits undelivered alerts into parts that each replay on their own', async () => {
    const store = storeFor('dl-alert-parts', 64 * 1024);
    const alerts = sampleAlerts(30).map((a) => ({ ...a, Runbook: 'r'.repeat(10_000) }));
    const names = await store.writeAlerts(
      alerts,
      [{ reason: 'HTTP 503', alertIds: alerts.map((a) => a.AlertId) }],
      batch,
    );
    expect(names.length).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    for (const name of names) {
      const claim = await store.claim(name, 15);
      expect(claim?.document.failures.flatMap((f) => f.alertIds)).toEqual(
        claim?.document.alerts.map((a) => a.AlertId),
      );
      seen.push(...(claim?.document.alerts.map((a) => a.AlertId) ?? []));
      await claim?.complete();
    }
    expect(seen).toEqual(alerts.map((a) => a.AlertId));
  });
});
