import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FUNCTION_BUNDLE } from '../../scripts/bundle-function';
import { buildProblems, bundleProblems } from '../support/build';
import { AZURITE_ACCOUNT_KEY, startAzurite, type AzuriteInstance } from '../support/azurite';
import { TEST_HEALTH_STREAM, TEST_RULE_ID, TEST_STREAM } from '../support/deliveryHarness';
import {
  generateLoopbackCertificate,
  startLogsIngestionFake,
  type LogsIngestionFake,
} from '../support/logsIngestionFake';
import {
  FAKE_MI_TOKEN_MARKER,
  startManagedIdentityFake,
  type ManagedIdentityFake,
} from '../support/managedIdentityFake';
import { LEAK_CANARY_SIG, makeWorkload, type EventBatch } from './workload';

/**
 * The process dies mid-batch (SIGKILL while an upload is in flight) and the batch is delivered again to a
 * new process, as Event Hubs does after a restart: from the last checkpoint. The processes run the deployed
 * artifact (package.json `main`, the function bundle, whose delivery loads the Azure SDK clients from
 * node_modules) with the production configuration path: settings from the environment read at import,
 * ManagedIdentityCredential from IDENTITY_ENDPOINT, dead letters identity-based (DEAD_LETTER_BLOB_SERVICE_URI
 * over https to Azurite in OAuth mode), certificates trusted through NODE_EXTRA_CA_CERTS.
 */
const ROOT = path.join(__dirname, '../..');
const DIST = path.join(ROOT, 'dist/src');
const BUNDLE = path.join(ROOT, FUNCTION_BUNDLE);
const CONTAINER = 'pcd-kill-dead-letters';

const WORKER = `
const fs = require('node:fs');
const { InvocationContext } = require('@azure/functions');
const { loadSettings } = require(${JSON.stringify(path.join(DIST, 'config/settings.js'))});
const { runReplay } = require(${JSON.stringify(path.join(DIST, 'cli/replay.js'))});
(async () => {
  const [mode, file] = process.argv.slice(1);
  if (mode === 'dump') {
    // Reads the dead letters the same way the detector writes them: identity-based, over trusted TLS.
    const { createDeliveryParts } = require(${JSON.stringify(path.join(DIST, 'deliver/index.js'))});
    const store = createDeliveryParts(loadSettings(process.env, 'cli')).deadLetters;
    const blobs = [];
    for await (const b of store.list('alerts/')) blobs.push({ name: b.name, text: await store.readText(b.name) });
    process.stdout.write(JSON.stringify(blobs));
    return;
  }
  if (mode === 'replay') {
    process.exitCode = await runReplay(['--budget-seconds', '20'], { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
    return;
  }
  // What the host runs: the bundle's registered handler, its settings read at import.
  const { handler } = require(${JSON.stringify(BUNDLE)}).packetCaptureDetectorOptions;
  for (const b of JSON.parse(fs.readFileSync(file, 'utf8'))) {
    const messages = b.messages.map((m) => Buffer.from(m, 'base64'));
    const context = new InvocationContext({
      functionName: 'packetCaptureDetector',
      invocationId: 'kill-' + b.index,
      logHandler: (level, ...args) => process.stderr.write(level + ' ' + args.join(' ') + '\\n'),
      triggerMetadata: {
        partitionContext: { partitionId: b.partitionId, eventHubName: 'insights-activity-logs', consumerGroup: 'pcd' },
        sequenceNumberArray: messages.map((_, i) => b.firstSequenceNumber + i),
        offsetArray: messages.map((_, i) => String((b.firstSequenceNumber + i) * 1024)),
      },
    });
    process.stdout.write(JSON.stringify({ started: b.index }) + '\\n');
    await handler(messages, context);
    // The handler returned: the host would checkpoint this batch now.
    process.stdout.write(JSON.stringify({ done: b.index }) + '\\n');
  }
})().catch((e) => { process.stderr.write('worker failed: ' + (e && e.stack || e) + '\\n'); process.exitCode = 70; });
`;

interface Worker {
  readonly done: number[];
  readonly started: number[];
  stderr(): string;
  stdout(): string;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  kill(): void;
  exited: Promise<number | null>;
}

function startWorker(args: string[], env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, ['-e', WORKER, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done: number[] = [];
  const started: number[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split('\n')) {
      const m = /^\{"(done|started)":(\d+)\}$/.exec(line.trim());
      if (m) (m[1] === 'done' ? done : started).push(Number(m[2]));
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      resolve(code);
    });
  });
  return {
    done,
    started,
    stderr: () => err,
    stdout: () => out,
    async waitFor(predicate, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > until || child.exitCode !== null) {
          throw new Error(
            `worker: condition not reached (exit ${child.exitCode ?? '-'})\n${err.slice(-3_000)}`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    kill: () => child.kill('SIGKILL'),
    exited,
  };
}

describe('process killed mid-batch, batch redelivered', () => {
  let mi: ManagedIdentityFake;
  let li: LogsIngestionFake;
  let azurite: AzuriteInstance;
  let workDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'pcd-kill-'));
    mi = await startManagedIdentityFake();
    li = await startLogsIngestionFake({
      ruleId: TEST_RULE_ID,
      streamName: [TEST_STREAM, TEST_HEALTH_STREAM],
      slowMs: 20_000,
      retryAfterSeconds: 0,
    });
    const storageCert = await generateLoopbackCertificate();
    azurite = await startAzurite({ https: storageCert, oauth: true });
    const caFile = path.join(workDir, 'ca.pem');
    await writeFile(caFile, `${li.ca}\n${storageCert.cert}\n`);
    env = {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: caFile,
      ...mi.env(),
      EventHubConnection__fullyQualifiedNamespace: 'kill.servicebus.windows.net',
      LOGS_INGESTION_ENDPOINT: li.endpoint,
      LOGS_INGESTION_RULE_ID: TEST_RULE_ID,
      LOGS_INGESTION_STREAM_NAME: TEST_STREAM,
      // Identity-based, as in Azure: a service URI and the managed identity, no key anywhere.
      DEAD_LETTER_BLOB_SERVICE_URI: azurite.blobEndpoint,
      DEAD_LETTER_CONTAINER: CONTAINER,
      DELIVERY_TIME_BUDGET_SECONDS: '5',
    };
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
    await li.stop();
    await mi.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('loses no alert: the killed batch is delivered by the next process, dead letters are replayed', async () => {
    expect([...buildProblems(['src/config', 'src/deliver', 'src/cli']), ...bundleProblems()]).toEqual([]);
    const batches = makeWorkload({
      caseId: 'kill',
      batches: 6,
      messagesPerBatch: 3,
      capturesPerMessage: 2,
      seed: 4242,
    });
    const expected = batches.flatMap((b) => b.expectedAlertIds);
    const file = async (name: string, list: EventBatch[]): Promise<string> => {
      const p = path.join(workDir, name);
      await writeFile(
        p,
        JSON.stringify(list.map((b) => ({ ...b, messages: b.messages.map((m) => m.toString('base64')) }))),
      );
      return p;
    };

    // Process 1: batch 0 is refused (403 → dead letter through the identity-based blob path), batch 1 goes
    // through, batch 2's upload hangs (slow answer) and the process is killed while it is in flight.
    li.setFaults({ script: ['forbidden', null, 'slow'] });
    const first = startWorker(['run', await file('all.json', batches)], env);
    await first.waitFor(() => first.done.includes(1) && first.started.includes(2) && li.inFlight > 0);
    first.kill();
    await first.exited;
    const checkpointed = Math.max(...first.done);
    expect(checkpointed).toBe(1);
    li.setFaults(undefined);

    // Process 2: Event Hubs redelivers from the checkpoint. The checkpoint of the last finished batch may not
    // have been written when the process died, so batch 1 comes again too (duplicates are harmless).
    const redelivered = batches.slice(checkpointed);
    const second = startWorker(['run', await file('redelivered.json', redelivered)], env);
    expect(await second.exited).toBe(0);
    expect(second.done).toEqual(redelivered.map((b) => b.index));

    // Before replay: every alert is in the table or in the dead-letter container.
    const dump = startWorker(['dump'], env);
    expect(await dump.exited).toBe(0);
    const blobs = JSON.parse(dump.stdout()) as { name: string; text: string }[];
    const blobText = blobs.map((b) => b.text).join('\n');
    const deadLettered = blobs.flatMap((b) =>
      (JSON.parse(b.text) as { alerts: { AlertId: string }[] }).alerts.map((a) => a.AlertId),
    );
    expect(new Set(deadLettered)).toEqual(new Set(batches[0]?.expectedAlertIds));
    const inTable = li.countsByAlertId();
    expect(expected.filter((id) => !inTable.has(id) && !deadLettered.includes(id))).toEqual([]);

    // Process 3: replay-dead-letters, as an operator would run it.
    const replay = startWorker(['replay'], env);
    expect(await replay.exited).toBe(0);
    const after = li.countsByAlertId();
    const lost = expected.filter((id) => !after.has(id));
    const duplicates = expected.reduce((n, id) => n + Math.max(0, (after.get(id) ?? 0) - 1), 0);
    console.log(
      `Process kill: expected ${expected.length}, faults ${li.totalFaults()}, dead-lettered ${deadLettered.length}, ` +
        `replayed ${/(\d+) alerts accepted, \d+ still/.exec(replay.stdout())?.[1] ?? '?'}, lost ${lost.length}, duplicates ${duplicates}`,
    );
    expect(lost).toEqual([]);
    expect(duplicates).toBe(batches[1]?.expectedAlertIds.length);
    expect(li.violations).toEqual([]);

    const logs = first.stderr() + second.stderr() + replay.stdout() + replay.stderr() + blobText;
    for (const secret of [
      FAKE_MI_TOKEN_MARKER,
      mi.identityHeader,
      LEAK_CANARY_SIG,
      AZURITE_ACCOUNT_KEY,
      ...mi.issuedTokens,
    ]) {
      expect(logs.includes(secret) ? secret : 'absent').toBe('absent');
    }
    // The dead letter was written with a managed-identity token for Storage, not a key.
    expect(mi.requests.some((r) => r.resource === 'https://storage.azure.com' && r.status === 200)).toBe(
      true,
    );
  }, 120_000);
});
