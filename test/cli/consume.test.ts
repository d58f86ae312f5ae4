import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { main } from '../../src/cli/main';
import { DEFAULT_CHECKPOINT_CONTAINER, runConsume } from '../../src/cli/consume';
import { alertsOf, captureIo, waitFor, waitForAsync } from '../e2e/cliHarness';
import { startAzurite, type AzuriteInstance } from '../support/azurite';
import { startEventHubsServer, type EventHubsServer } from '../support/eventHubsServer';

const root = join(__dirname, '../..');
const samples = join(root, 'samples');
const CONSUMER_GROUP = 'packet-capture-detector';

describe('packet-capture-detector consume', () => {
  let azurite: AzuriteInstance;
  let hub: EventHubsServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    azurite = await startAzurite();
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
  });

  beforeEach(async () => {
    hub = await startEventHubsServer({ partitionCount: 2, consumerGroups: [CONSUMER_GROUP] });
    env = { EVENTHUB_CONNECTION_STRING: hub.connectionString, AzureWebJobsStorage: azurite.connectionString };
    await BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(DEFAULT_CHECKPOINT_CONTAINER)
      .deleteIfExists();
  });

  afterEach(async () => {
    await hub.close();
  });

  /** Every partition holding events has a checkpoint at its last event. */
  async function checkpointsComplete(): Promise<boolean> {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      DEFAULT_CHECKPOINT_CONTAINER,
    );
    if (!(await container.exists())) return false;
    const found = new Map<string, string | undefined>();
    for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
      const m = /\/checkpoint\/(\d+)$/.exec(blob.name);
      if (m?.[1]) found.set(m[1], blob.metadata?.sequencenumber);
    }
    const expected = hub.partitionIds.filter((id) => hub.events(id).length > 0);
    return (
      found.size === expected.length &&
      expected.every((id) => found.get(id) === String(hub.events(id).length - 1))
    );
  }

  it('explains usage errors without connecting', async () => {
    const noStorage = captureIo({ env: { EVENTHUB_CONNECTION_STRING: hub.connectionString } });
    expect(await main(['consume'], noStorage.io)).toBe(2);
    expect(noStorage.stderr()).toMatch(/No checkpoint storage given: use --storage-connection-string/);
    const noHub = captureIo({ env: { AzureWebJobsStorage: azurite.connectionString } });
    expect(await main(['consume'], noHub.io)).toBe(2);
    expect(noHub.stderr()).toMatch(/No Event Hub given/);
    const badStart = captureIo({ env });
    expect(await main(['consume', '--start-position', 'middle'], badStart.io)).toBe(2);
    expect(badStart.stderr()).toMatch(/--start-position must be earliest or latest, got "middle"/);
    const badContainer = captureIo({ env });
    expect(await main(['consume', '--checkpoint-container', 'Bad_Name'], badContainer.io)).toBe(2);
    const stray = captureIo({ env });
    expect(await main(['consume', 'samples/'], stray.io)).toBe(2);
    const help = captureIo();
    expect(await main(['consume', '--help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/Usage: packet-capture-detector consume/);
    expect(hub.stats.connectionsOpened).toBe(0);
  });

  it('exits 3 with a clear message when the checkpoint storage cannot be reached', async () => {
    const run = captureIo({
      env: {
        ...env,
        AzureWebJobsStorage:
          'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;',
      },
    });
    const started = Date.now();
    const code = await runConsume([], run.io, { signal: new AbortController().signal });
    expect(code).toBe(3);
    expect(run.stderr()).toMatch(/consume: Checkpoint container .* cannot be used/);
    expect(run.stderr()).not.toContain('AccountKey=AAAA');
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('stops with exit 3 when the consumer group does not exist (a misconfiguration does not heal)', async () => {
    const run = captureIo({ env });
    const code = await runConsume(['--consumer-group', 'no-such-group'], run.io, {
      signal: new AbortController().signal,
      loadBalancingIntervalMs: 500,
    });
    expect(code).toBe(3);
    expect(run.stderr()).toMatch(/consumergroups\/no-such-group\/partitions\/\d' could not be found/);
    expect(run.stderr()).toMatch(/consume: stopped:/);
  }, 60_000);

  it('reports malformed messages with their partition and offset, and still moves past them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcd-consume-'));
    writeFileSync(join(dir, 'broken.json'), '{"records": [ {"time": ');
    const send = captureIo({ env });
    expect(
      await main(
        ['send', '--raw', join(dir, 'broken.json'), join(samples, 'seed-tests.eventhub.json')],
        send.io,
      ),
    ).toBe(0);

    const controller = new AbortController();
    const run = captureIo({ env });
    const exited = runConsume(['--max-wait-seconds', '1'], run.io, {
      signal: controller.signal,
      loadBalancingIntervalMs: 500,
    });
    await waitFor(
      () =>
        alertsOf(run.stdout()).length === 3 && run.stderr().includes('"message":"malformed message kept"'),
      'alerts and the malformed message',
    );
    controller.abort();
    expect(await exited).toBe(0);
    const lines = run
      .stderr()
      .split('\n')
      .filter((l) => l !== '');
    // stderr is JSON log lines, then the one-line summary.
    const logs = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatch(
      /^consumed 2 events in \d batches .*: \d+ skipped by the prefilter, \d+ records decoded, 3 alerts, 3 delivered, 0 dead-lettered, 1 malformed, \d checkpoints$/,
    );
    const kept = logs.find((l) => l.message === 'malformed message kept');
    const broken = hub.allEvents().find((e) => e.size < 100);
    expect(kept).toMatchObject({
      level: 'warn',
      code: 'MESSAGE_NOT_JSON',
      partitionId: broken?.partitionId,
      offset: broken?.offset,
      sequenceNumber: broken?.sequenceNumber,
      consumerGroup: CONSUMER_GROUP,
      raw: '{"records": [ {"time": ',
      truncated: false,
    });
    expect(logs.find((l) => l.message === 'malformed input')).toMatchObject({ code: 'MESSAGE_NOT_JSON' });
  }, 60_000);

  it('handles a real SIGTERM in the built CLI: finishes, checkpoints, exits 0', async () => {
    const bin = join(root, 'bin/packet-capture-detector.js');
    const built = join(root, 'dist/src/cli/consume/index.js');
    // `npm test` builds first; a stale or missing build would test other code than the sources.
    expect(existsSync(built)).toBe(true);
    expect(statSync(built).mtimeMs).toBeGreaterThanOrEqual(
      statSync(join(root, 'src/cli/consume/index.ts')).mtimeMs,
    );

    const send = captureIo({ env });
    expect(await main(['send', samples], send.io)).toBe(0);
    const child = spawn(process.execPath, [bin, 'consume', '--stdout', '--max-wait-seconds', '1'], {
      cwd: root,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exit = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    try {
      await waitFor(
        () => alertsOf(stdout).length === 13,
        `13 alerts from the child (stderr so far: ${stderr})`,
        30_000,
      );
      await waitFor(
        () => (stderr.match(/"message":"partition claimed"/g) ?? []).length === 2,
        'both partitions claimed',
      );
      // Bodies without alerts may still be in flight when the last alert is printed.
      await waitForAsync(checkpointsComplete, 'every partition checkpointed at its last event');
      const signalled = Date.now();
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(10_000);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(
      /"message":"stopping: no new batches, finishing in-flight ones","reason":"SIGTERM"/,
    );
    expect(stderr).toMatch(/consumed 5 events in \d+ batches/);
    expect(await checkpointsComplete()).toBe(true);
  }, 60_000);
});
