import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { main } from '../../src/cli/main';
import { DEFAULT_CHECKPOINT_CONTAINER, runConsume, type ConsumeOptions } from '../../src/cli/consume';
import { alertsOf, captureIo, waitFor, waitForAsync, type CapturedIo } from './cliHarness';
import { startEventHubsServer, type EventHubsServer } from '../support/eventHubsServer';
import { startHarness, type Harness } from '../support/deliveryHarness';

/**
 * The whole local loop with the real clients on both sides of every wire: `send` (real
 * EventHubProducerClient) → the in-process AMQP Event Hubs server → `consume` (real EventHubConsumerClient,
 * BlobCheckpointStore on Azurite) → the function's pipeline and delivery (real LogsIngestionClient with the
 * managed-identity credential) → the local Logs Ingestion fake. Expected alerts come from `scan`.
 */
const samples = join(__dirname, '../../samples');
const CONSUMER_GROUP = 'packet-capture-detector';
const FAST: ConsumeOptions = { loadBalancingIntervalMs: 500, retryDelayMs: { min: 100, max: 400 } };

async function scanAlertIds(paths: string[]): Promise<string[]> {
  const run = captureIo();
  const code = await main(['scan', '--format', 'jsonl', ...paths], run.io);
  expect(code).toBe(0);
  return alertsOf(run.stdout()).map((a) => a.AlertId);
}

interface RunningConsumer {
  readonly io: CapturedIo;
  /** Same path as SIGTERM: stop receiving, finish in-flight batches, checkpoint, close. */
  stop(): Promise<number>;
  readonly exited: Promise<number>;
}

function startConsumer(args: string[], env: NodeJS.ProcessEnv, options: ConsumeOptions): RunningConsumer {
  const controller = new AbortController();
  const io = captureIo({ env });
  const exited = runConsume(args, io.io, { ...FAST, ...options, signal: controller.signal });
  return {
    io,
    exited,
    stop: () => {
      controller.abort();
      return exited;
    },
  };
}

describe('end to end: send → Event Hubs (AMQP) → consume → Logs Ingestion', () => {
  let h: Harness;
  let hub: EventHubsServer;
  let consumerEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    h = await startHarness({ li: { retryAfterSeconds: 0 } });
  }, 60_000);

  afterAll(async () => {
    await h.stop();
  });

  beforeEach(async () => {
    hub = await startEventHubsServer({ partitionCount: 4, consumerGroups: [CONSUMER_GROUP] });
    consumerEnv = { ...h.env, EVENTHUB_CONNECTION_STRING: hub.connectionString };
    const service = BlobServiceClient.fromConnectionString(h.azurite.connectionString);
    await service.getContainerClient(DEFAULT_CHECKPOINT_CONTAINER).deleteIfExists();
  });

  afterEach(async () => {
    await hub.close();
    expect(h.li.violations).toEqual([]);
  });

  async function checkpoints(): Promise<Map<string, number>> {
    const container = BlobServiceClient.fromConnectionString(h.azurite.connectionString).getContainerClient(
      DEFAULT_CHECKPOINT_CONTAINER,
    );
    const found = new Map<string, number>();
    for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
      const m = /\/checkpoint\/(\d+)$/.exec(blob.name);
      if (m?.[1] && blob.metadata?.sequencenumber !== undefined) {
        found.set(m[1], Number(blob.metadata.sequencenumber));
      }
    }
    return found;
  }

  function lastSequenceNumbers(): Map<string, number> {
    const last = new Map<string, number>();
    for (const id of hub.partitionIds) {
      const events = hub.events(id);
      if (events.length > 0) last.set(id, events.length - 1);
    }
    return last;
  }

  /** Everything published so far was consumed and checkpointed (events without alerts included). */
  async function allCheckpointed(): Promise<boolean> {
    const expected = lastSequenceNumbers();
    const actual = await checkpoints();
    return expected.size === actual.size && [...expected].every(([id, seq]) => actual.get(id) === seq);
  }

  async function send(paths: string[]): Promise<{ code: number; stderr: string; ms: number }> {
    const run = captureIo({ env: { EVENTHUB_CONNECTION_STRING: hub.connectionString } });
    const started = Date.now();
    const code = await main(['send', ...paths], run.io);
    return { code, stderr: run.stderr(), ms: Date.now() - started };
  }

  it('delivers exactly the alerts scan predicts for samples/, across a stop and restart midway, none lost', async () => {
    const firstHalf = [
      join(samples, 'capture-operations.eventhub.json'),
      join(samples, 'seed-tests.eventhub.json'),
    ];
    const secondHalf = [
      join(samples, 'archive'),
      join(samples, 'azure-activity-table.json'),
      join(samples, 'benign-noise.eventhub.json'),
    ];
    const expectedFirst = new Set(await scanAlertIds(firstHalf));
    const expectedAll = new Set(await scanAlertIds([samples]));
    expect(expectedAll.size).toBeGreaterThan(expectedFirst.size);
    const accepted = (): Map<string, number> => h.li.countsByAlertId();
    const before = new Map(accepted());
    const newIds = (): Set<string> =>
      new Set([...accepted().keys()].filter((id) => (accepted().get(id) ?? 0) > (before.get(id) ?? 0)));

    // Run 1 reads what the first send published, then stops (SIGTERM path).
    expect((await send(firstHalf)).code).toBe(0);
    const args = ['--max-batch-size', '1', '--max-wait-seconds', '1'];
    const run1 = startConsumer(args, consumerEnv, { deliveryOverrides: h.overrides });
    await waitFor(() => [...expectedFirst].every((id) => newIds().has(id)), 'the first half of the alerts');
    await waitForAsync(allCheckpointed, 'run 1 to checkpoint everything it read');
    expect(await run1.stop()).toBe(0);
    expect(run1.io.stderr()).toMatch(/consumed \d+ events in \d+ batches .* \d+ checkpoints/);
    const afterRun1 = await checkpoints();
    expect(afterRun1).toEqual(lastSequenceNumbers());

    // More arrives while nothing consumes; run 2 resumes from the checkpoints.
    expect((await send(secondHalf)).code).toBe(0);
    const run2 = startConsumer(args, consumerEnv, { deliveryOverrides: h.overrides });
    await waitFor(() => [...expectedAll].every((id) => newIds().has(id)), 'every alert scan predicts');
    // Bodies without alerts (benign noise) may still be in flight when the last alert lands.
    await waitForAsync(allCheckpointed, 'run 2 to checkpoint every partition');
    expect(await run2.stop()).toBe(0);
    expect(await checkpoints()).toEqual(lastSequenceNumbers());

    const delivered = newIds();
    expect([...delivered].sort()).toEqual([...expectedAll].sort());
    const duplicates = [...delivered].reduce(
      (sum, id) => sum + (accepted().get(id) ?? 0) - (before.get(id) ?? 0) - 1,
      0,
    );
    // A graceful stop checkpoints every delivered batch, so the restart re-delivers nothing.
    expect(duplicates).toBe(0);
    const run2Events = Number(/consumed (\d+) events/.exec(run2.io.stderr())?.[1]);
    expect(run2Events).toBe(
      hub.allEvents().length - Number(/consumed (\d+) events/.exec(run1.io.stderr())?.[1]),
    );
    console.log(
      `e2e samples: ${hub.allEvents().length} events, ${delivered.size} alerts, run 1 consumed ` +
        `${/consumed (\d+) events/.exec(run1.io.stderr())?.[1]}, run 2 ${run2Events}, duplicates after restart ${duplicates}`,
    );
  }, 120_000);

  it('keeps a batch whose delivery failed (table and dead-letter store down) unchecked until it is delivered', async () => {
    // Dead letters go to a closed port, checkpoints to Azurite: delivery fails entirely, checkpoints work.
    const env = {
      ...consumerEnv,
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;',
    };
    const expected = new Set(await scanAlertIds([join(samples, 'seed-tests.eventhub.json')]));
    expect((await send([join(samples, 'seed-tests.eventhub.json')])).code).toBe(0);
    h.li.setDown(true);
    const before = new Map(h.li.countsByAlertId());
    const args = ['--storage-connection-string', h.azurite.connectionString, '--max-wait-seconds', '1'];
    const overrides = {
      ...h.overrides,
      retry: { budgetMs: 300, attemptTimeoutMs: 200, baseDelayMs: 10, maxDelayMs: 50 },
      blobClientOptions: { retryOptions: { maxTries: 1, tryTimeoutInMs: 500 } },
    };
    const run1 = startConsumer(args, env, { deliveryOverrides: overrides });
    await waitFor(
      () => run1.io.stderr().includes('batch delivery failed: retrying the same batch'),
      'a failed delivery',
    );
    await waitFor(
      () => (run1.io.stderr().match(/batch delivery failed/g) ?? []).length >= 2,
      'the same batch to be retried',
    );
    expect(await run1.stop()).toBe(0);
    expect(run1.io.stderr()).toMatch(/batch not delivered before stopping: not checkpointed/);
    expect(run1.io.stderr()).toMatch(/1 batches left for the next run/);
    expect(await checkpoints()).toEqual(new Map());

    h.li.setDown(false);
    const run2 = startConsumer(args, env, { deliveryOverrides: overrides });
    await waitFor(
      () => [...expected].every((id) => (h.li.countsByAlertId().get(id) ?? 0) > (before.get(id) ?? 0)),
      'the alerts of the failed batch',
    );
    await waitForAsync(allCheckpointed, 'the batch to be checkpointed once delivered');
    expect(await run2.stop()).toBe(0);
    expect(await checkpoints()).toEqual(lastSequenceNumbers());
  }, 120_000);

  it('stops in the middle of a larger stream with batches in flight, restarts, loses nothing (throughput)', async () => {
    const count = Number(process.env.E2E_EVENTS ?? 2_000);
    const dir = mkdtempSync(join(tmpdir(), 'pcd-e2e-'));
    const seed = JSON.parse(readFileSync(join(samples, 'capture-operations.eventhub.json'), 'utf8')) as {
      records: unknown[];
    };
    // Each event: one body of 10 records; record n's correlationId makes every alert distinct.
    const lines: string[] = [];
    for (let n = 0; n < count * 10; n += 1) {
      const record = {
        ...(seed.records[n % seed.records.length] as Record<string, unknown>),
        correlationId: `e2e-${n}`,
      };
      lines.push(JSON.stringify(record));
    }
    writeFileSync(join(dir, 'bulk.jsonl'), `${lines.join('\n')}\n`);
    const expected = new Set(await scanAlertIds([dir]));

    const sendRun = captureIo({ env: { EVENTHUB_CONNECTION_STRING: hub.connectionString } });
    const sendStarted = Date.now();
    expect(await main(['send', '--records-per-event', '10', dir], sendRun.io)).toBe(0);
    const sendMs = Date.now() - sendStarted;
    expect(hub.allEvents()).toHaveLength(count);

    // Run 1 is stopped (SIGTERM path) once a quarter of the alerts are out, while all partitions stream.
    const run1Started = Date.now();
    const run1 = startConsumer(['--stdout'], consumerEnv, {});
    await waitFor(
      () => alertsOf(run1.io.stdout()).length >= expected.size / 4,
      'a quarter of the alerts',
      60_000,
    );
    expect(await run1.stop()).toBe(0);
    const run1Ms = Date.now() - run1Started;
    const run1Events = Number(/consumed (\d+) events/.exec(run1.io.stderr())?.[1]);
    expect(run1Events).toBeGreaterThan(0);
    expect(run1Events).toBeLessThan(count);
    const partial = await checkpoints();
    expect([...partial.values()].reduce((sum, seq) => sum + seq + 1, 0)).toBe(run1Events);

    const run2Started = Date.now();
    const run2 = startConsumer(['--stdout'], consumerEnv, {});
    await waitFor(
      () => alertsOf(run1.io.stdout()).length + alertsOf(run2.io.stdout()).length >= expected.size,
      'the rest of the alerts',
      60_000,
    );
    await waitForAsync(allCheckpointed, 'every partition checkpointed', 60_000);
    const run2Ms = Date.now() - run2Started;
    expect(await run2.stop()).toBe(0);

    const alerts = [...alertsOf(run1.io.stdout()), ...alertsOf(run2.io.stdout())];
    expect(new Set(alerts.map((a) => a.AlertId))).toEqual(expected);
    const duplicates = alerts.length - expected.size;
    // Every batch delivered before the stop was checkpointed before the exit: nothing is delivered twice.
    expect(duplicates).toBe(0);
    expect(Number(/consumed (\d+) events/.exec(run2.io.stderr())?.[1])).toBe(count - run1Events);
    expect(await checkpoints()).toEqual(lastSequenceNumbers());
    console.log(
      `e2e stream: ${count} events (${count * 10} records, ${expected.size} alerts): ` +
        `send ${(count / (sendMs / 1000)).toFixed(0)} events/s; run 1 stopped after ${run1Events} events, ` +
        `run 2 read ${count - run1Events}; consume ${(count / ((run1Ms + run2Ms) / 1000)).toFixed(0)} events/s ` +
        `(start-up and partition claiming included); duplicates after restart ${duplicates}`,
    );
  }, 120_000);
});
