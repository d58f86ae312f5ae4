import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { FUNCTION_BUNDLE } from '../../scripts/bundle-function';
import { fitAlert } from '../../src/deliver/fitAlert';
import { chunkRows } from '../../src/deliver/uploader';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { buildProblems, bundleProblems } from '../support/build';
import { AZURITE_ACCOUNT_KEY, startAzurite, type AzuriteInstance } from '../support/azurite';
import { TEST_RULE_ID, TEST_STREAM } from '../support/deliveryHarness';
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
import { secretForms, type SecretForm } from '../support/secretForms';
import { LEAK_CANARY_SIG } from './workload';

/**
 * Hostile input, black box: what an attacker holding only the export's Send key can put on the hub, pushed
 * through the deployed bundle's handler (package.json `main`) in a child process, with real delivery (the
 * LogsIngestionClient and ManagedIdentityCredential against the local HTTPS fakes) and real blob dead
 * letters (Azurite over https, identity-based, as in Azure). Each poison message sits in one batch beside a
 * real capture: the invocation must return within 30 s, deliver the capture once, keep the poison once,
 * stay under 600 MB of RSS (sampled in the child by a worker thread) and log a handful of lines; no secret
 * form may reach a row, a log line or a dead letter. The figures are printed at the end (BENCHMARKS.md ›
 * Hostile input). `npm test` runs a fast subset; `npm run test:faults` (FAULTS_FULL=1) runs every case.
 */
const FULL = process.env.FAULTS_FULL === '1';
const ROOT = path.join(__dirname, '../..');
const BUNDLE = path.join(ROOT, FUNCTION_BUNDLE);
const DIST = path.join(ROOT, 'dist/src');
const CONTAINER = 'pcd-hostile-dead-letters';
const MAX_INVOCATION_MS = 30_000;
const MAX_RSS_BYTES = 600 * 1024 * 1024;
/** Lines an invocation logs besides one per malformed message: delivery configured, alert delivery, summary. */
const BASE_LOG_LINES = 4;

const WORKER = `
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const [mode, specFile] = process.argv.slice(1);
(async () => {
  if (mode === 'dump') {
    const { loadSettings } = require(${JSON.stringify(path.join(DIST, 'config/settings.js'))});
    const { createDeliveryParts } = require(${JSON.stringify(path.join(DIST, 'deliver/index.js'))});
    const store = createDeliveryParts(loadSettings(process.env, 'cli')).deadLetters;
    const blobs = [];
    for (const prefix of ['alerts/', 'malformed/'])
      for await (const b of store.list(prefix)) blobs.push({ name: b.name, text: await store.readText(b.name) });
    process.stdout.write(JSON.stringify(blobs));
    return;
  }
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const messages = spec.files.map((f) => fs.readFileSync(f));
  // RSS sampled every millisecond by a thread of its own: the handler's synchronous work blocks this one.
  const shared = new SharedArrayBuffer(16);
  const state = new Int32Array(shared, 0, 2);
  const peak = new Float64Array(shared, 8, 1);
  const sampler = new Worker(\`
    const { workerData } = require('node:worker_threads');
    const state = new Int32Array(workerData, 0, 2); const peak = new Float64Array(workerData, 8, 1);
    const tick = new Int32Array(new SharedArrayBuffer(4));
    while (Atomics.load(state, 0) !== 2) { const rss = process.memoryUsage.rss(); if (rss > peak[0]) peak[0] = rss; Atomics.wait(tick, 0, 0, 1); }
  \`, { eval: true, workerData: shared });
  const { InvocationContext } = require('@azure/functions');
  const { handler } = require(${JSON.stringify(BUNDLE)}).packetCaptureDetectorOptions;
  let lines = 0;
  const context = new InvocationContext({
    functionName: 'packetCaptureDetector',
    invocationId: spec.invocationId,
    logHandler: (level, ...args) => { lines++; process.stderr.write('LOG ' + level + ' ' + args.join(' ') + '\\n'); },
    triggerMetadata: {
      partitionContext: { partitionId: spec.partitionId, eventHubName: 'insights-activity-logs', consumerGroup: 'pcd' },
      sequenceNumberArray: messages.map((_, i) => spec.firstSequenceNumber + i),
      offsetArray: messages.map((_, i) => String((spec.firstSequenceNumber + i) * 4096)),
      enqueuedTimeUtcArray: messages.map(() => '2025-12-22T10:31:00.123'),
    },
  });
  const rssBefore = process.memoryUsage.rss();
  const started = process.hrtime.bigint();
  let error;
  try { await handler(messages, context); } catch (e) { error = String(e && e.stack || e); }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  Atomics.store(state, 0, 2);
  await sampler.terminate();
  process.stdout.write(JSON.stringify({ ms, rssBefore, rssPeak: Math.max(peak[0], rssBefore), lines, error }) + '\\n');
})().catch((e) => { process.stderr.write('worker failed: ' + (e && e.stack || e) + '\\n'); process.exitCode = 70; });
`;

interface RunResult {
  readonly ms: number;
  readonly rssBefore: number;
  readonly rssPeak: number;
  readonly lines: number;
  readonly error?: string;
  readonly logs: string;
}

function runChild(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', WORKER, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('exit', (code) => {
      resolve({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
  });
}

interface SampleRecord {
  resourceId: string;
  operationName: string;
  resultType: string;
  correlationId: string;
  properties?: Record<string, unknown>;
  identity?: { claims?: Record<string, unknown> };
  [key: string]: unknown;
}
const templates = (
  JSON.parse(readFileSync(path.join(ROOT, 'samples/capture-operations.eventhub.json'), 'utf8')) as {
    records: SampleRecord[];
  }
).records.filter((r) => r.resultType === 'Success');

/** A successful capture operation of its own (a fresh correlation id), its request body holding a SAS. */
function captureRecord(tag: string, extra: Partial<SampleRecord> = {}): SampleRecord {
  const template = templates[0]!;
  return {
    ...template,
    correlationId: `${tag}-${randomBytes(6).toString('hex')}`,
    resourceId: `${template.resourceId}-${tag}`,
    properties: {
      ...template.properties,
      requestbody: JSON.stringify({
        properties: {
          storageLocation: {
            storagePath: `https://stcap.blob.core.windows.net/captures/x.cap?sv=2022-11-02&sig=${LEAK_CANARY_SIG}`,
          },
        },
      }),
    },
    ...extra,
  };
}

interface Case {
  readonly name: string;
  readonly full?: true;
  /** The poison messages, put before the capture message in the batch. */
  readonly poison: () => Buffer[];
}

const eyJ = (bytes: number): Buffer => Buffer.from('eyJ-'.repeat(bytes / 4));
const zeros = (bytes: number): Buffer => Buffer.from(`[${'0,'.repeat(bytes / 2 - 1)}0]`);
const CASES: readonly Case[] = [
  {
    name: 'JSON Lines: one good line and 150,000 bad ones (300 KB)',
    poison: () => [Buffer.from(`${JSON.stringify(captureRecord('jl'))}\n${'x\n'.repeat(150_000)}`)],
  },
  {
    name: 'JSON Lines: 1 MB of bad lines',
    full: true,
    poison: () => [Buffer.from('{"a":\n'.repeat(174_762))],
  },
  { name: 'JWT bait eyJ-eyJ-… (64 KB)', poison: () => [eyJ(64 * 1024)] },
  { name: 'JWT bait eyJ-eyJ-… (1 MB)', full: true, poison: () => [eyJ(1024 * 1024)] },
  { name: '1 MB of [0,0,…] (500,000 records)', poison: () => [zeros(1024 * 1024)] },
  {
    name: 'six 1 MB messages of [0,0,…]',
    full: true,
    poison: () => Array.from({ length: 6 }, () => zeros(1024 * 1024)),
  },
  { name: '300 KB of {} lines (100,000 records)', poison: () => [Buffer.from('{}\n'.repeat(100_000))] },
  {
    name: '1 MB of [{},{},…] (350,000 records)',
    full: true,
    poison: () => [Buffer.from(`[${'{},'.repeat(349_524)}{}]`)],
  },
  { name: '1 MB of nesting [[[[…', full: true, poison: () => [Buffer.from('['.repeat(1024 * 1024))] },
  {
    name: 'bytes that are not UTF-8, with a SAS and a password',
    poison: () => [
      Buffer.concat([
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from(
          `{"records":[{"operationName":"x","password":"${LEAK_CANARY_SIG}","u":"?sig=${LEAK_CANARY_SIG}"`,
        ),
      ]),
    ],
  },
];

interface Figure {
  readonly case: string;
  readonly bytes: number;
  readonly ms: number;
  readonly rssMb: number;
  readonly rssAboveStartMb: number;
  readonly logLines: number;
  /** `malformed input` lines: one per malformed message at most. */
  readonly malformedLines: number;
  readonly poisonMessages: number;
}

describe('hostile input through the deployed bundle (real delivery and dead letters)', () => {
  let mi: ManagedIdentityFake;
  let li: LogsIngestionFake;
  let azurite: AzuriteInstance;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  let partition = 0;
  const figures: Figure[] = [];

  beforeAll(async () => {
    expect([...buildProblems(['src/config', 'src/deliver']), ...bundleProblems()]).toEqual([]);
    workDir = await mkdtemp(path.join(tmpdir(), 'pcd-hostile-'));
    mi = await startManagedIdentityFake();
    li = await startLogsIngestionFake({
      ruleId: TEST_RULE_ID,
      streamName: TEST_STREAM,
      retryAfterSeconds: 0,
      slowMs: 120_000,
    });
    const storageCert = await generateLoopbackCertificate();
    azurite = await startAzurite({ https: storageCert, oauth: true });
    const caFile = path.join(workDir, 'ca.pem');
    await writeFile(caFile, `${li.ca}\n${storageCert.cert}\n`);
    env = {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: caFile,
      ...mi.env(),
      EventHubConnection__fullyQualifiedNamespace: 'hostile.servicebus.windows.net',
      LOGS_INGESTION_ENDPOINT: li.endpoint,
      LOGS_INGESTION_RULE_ID: TEST_RULE_ID,
      LOGS_INGESTION_STREAM_NAME: TEST_STREAM,
      DEAD_LETTER_BLOB_SERVICE_URI: azurite.blobEndpoint,
      DEAD_LETTER_CONTAINER: CONTAINER,
      DELIVERY_TIME_BUDGET_SECONDS: '20',
    };
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
    await li.stop();
    await mi.stop();
    await rm(workDir, { recursive: true, force: true });
    if (figures.length > 0)
      console.log(`Hostile input (${FULL ? 'full' : 'fast subset'}):\n${formatFigures(figures)}`);
  });

  /** One invocation of the bundle's handler in a fresh process; its messages written to files first. */
  async function invoke(
    messages: readonly Buffer[],
    options: { partitionId: string; env?: NodeJS.ProcessEnv },
  ): Promise<RunResult> {
    const files: string[] = [];
    for (const [i, m] of messages.entries()) {
      const file = path.join(workDir, `${options.partitionId}-${i}.bin`);
      await writeFile(file, m);
      files.push(file);
    }
    const spec = path.join(workDir, `${options.partitionId}.json`);
    await writeFile(
      spec,
      JSON.stringify({
        files,
        partitionId: options.partitionId,
        firstSequenceNumber: 1_000,
        invocationId: options.partitionId,
      }),
    );
    const run = await runChild(['run', spec], options.env ?? env);
    const line = run.out.trim().split('\n').pop() ?? '';
    if (run.code !== 0 || !line.startsWith('{'))
      throw new Error(`worker exited ${run.code ?? '-'}:\n${run.err.slice(-3_000)}`);
    const logs = run.err
      .split('\n')
      .filter((l) => l.startsWith('LOG '))
      .join('\n');
    return { ...(JSON.parse(line) as Omit<RunResult, 'logs'>), logs };
  }

  async function deadLetters(partitionId: string): Promise<{ name: string; text: string }[]> {
    const run = await runChild(['dump'], env);
    if (run.code !== 0) throw new Error(`dump failed:\n${run.err.slice(-3_000)}`);
    return (JSON.parse(run.out) as { name: string; text: string }[]).filter((b) =>
      b.name.includes(`_p${partitionId}_`),
    );
  }

  const cases = CASES.filter((c) => FULL || c.full !== true);

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s, beside a real capture: returns in time, delivers the capture once, keeps the poison once',
    async (_name, c) => {
      const partitionId = `h${++partition}`;
      const poison = c.poison();
      const capture = Buffer.from(JSON.stringify({ records: [captureRecord(partitionId)] }));
      const messages = [...poison, capture];
      const expected = detectBatch(messages, () => ({})).alerts.map((a) => a.AlertId);
      expect(expected.length).toBeGreaterThanOrEqual(1);

      const result = await invoke(messages, { partitionId });
      expect(result.error).toBeUndefined();
      expect(result.ms).toBeLessThan(MAX_INVOCATION_MS);
      expect(result.rssPeak).toBeLessThan(MAX_RSS_BYTES);
      expect(result.lines).toBeLessThanOrEqual(BASE_LOG_LINES + poison.length);
      expect(malformedLines(result.logs)).toBe(poison.length);

      const counts = li.countsByAlertId();
      expect(expected.map((id) => counts.get(id) ?? 0)).toEqual(expected.map(() => 1));

      const blobs = await deadLetters(partitionId);
      const entries = blobs
        .filter((b) => b.name.startsWith('malformed/'))
        .flatMap((b) => (JSON.parse(b.text) as { messages: { sequenceNumber: number }[] }).messages);
      // Each poison message kept exactly once, the capture message not at all.
      expect(entries.map((e) => e.sequenceNumber).sort()).toEqual(poison.map((_, i) => 1_000 + i));
      const everything = [result.logs, ...blobs.map((b) => b.text), JSON.stringify(li.rows)].join('\n');
      for (const secret of [LEAK_CANARY_SIG, FAKE_MI_TOKEN_MARKER, mi.identityHeader, AZURITE_ACCOUNT_KEY]) {
        expect(everything.includes(secret) ? secret : 'absent').toBe('absent');
      }
      figures.push({
        case: c.name,
        bytes: poison.reduce((n, m) => n + m.length, 0),
        ms: result.ms,
        rssMb: result.rssPeak / 2 ** 20,
        rssAboveStartMb: (result.rssPeak - result.rssBefore) / 2 ** 20,
        logLines: result.lines,
        malformedLines: malformedLines(result.logs),
        poisonMessages: poison.length,
      });
    },
    120_000,
  );

  it('with a hanging endpoint and 20 chunks, ends within the budget plus one attempt timeout, everything dead-lettered', async () => {
    const partitionId = `h${++partition}`;
    // 64 captures with three columns near the 64 KB field limit each (resource id, caller IP, caller):
    // rows of ~200 KB after fitting, four or five per 990 KB call, 20 calls or more.
    const big = (c: string): string => c.repeat(60_000);
    const messages: Buffer[] = [];
    for (let m = 0; m < 16; m++) {
      const records = Array.from({ length: 4 }, (_, r) =>
        captureRecord(`${partitionId}-${m}-${r}`, {
          resourceId: `${templates[0]!.resourceId}-${m}-${r}-${big('r')}`,
          callerIpAddress: big('1'),
          identity: { claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': big('u') } },
        }),
      );
      messages.push(Buffer.from(JSON.stringify({ records })));
    }
    const alerts = detectBatch(messages, () => ({})).alerts;
    expect(alerts).toHaveLength(64);
    const calls = chunkRows(alerts.map((a) => fitAlert(a).row)).length;
    expect(calls).toBeGreaterThanOrEqual(20);

    const budgetSeconds = FULL ? 20 : 5;
    const attemptTimeoutMs = 30_000; // production's (src/deliver/uploader.ts DEFAULT_RETRY)
    li.setFaults({ rate: 1, kinds: ['slow'], seed: 1 });
    let result: RunResult;
    try {
      result = await invoke(messages, {
        partitionId,
        env: { ...env, DELIVERY_TIME_BUDGET_SECONDS: String(budgetSeconds) },
      });
    } finally {
      li.setFaults(undefined);
    }
    expect(result.error).toBeUndefined();
    expect(result.ms).toBeLessThan(budgetSeconds * 1000 + attemptTimeoutMs);
    const blobs = await deadLetters(partitionId);
    const deadLettered = blobs
      .filter((b) => b.name.startsWith('alerts/'))
      .flatMap((b) => (JSON.parse(b.text) as { alerts: { AlertId: string }[] }).alerts.map((a) => a.AlertId));
    expect(new Set(deadLettered)).toEqual(new Set(alerts.map((a) => a.AlertId)));
    figures.push({
      case: `hanging endpoint: ${alerts.length} alerts in ${calls} calls, budget ${budgetSeconds} s`,
      bytes: messages.reduce((n, m) => n + m.length, 0),
      ms: result.ms,
      rssMb: result.rssPeak / 2 ** 20,
      rssAboveStartMb: (result.rssPeak - result.rssBefore) / 2 ** 20,
      logLines: result.lines,
      malformedLines: malformedLines(result.logs),
      poisonMessages: 0,
    });
  }, 180_000);

  describe('no secret form reaches any output', () => {
    const forms: SecretForm[] = secretForms('HOSTILEFORMSECRET').map((f, i) => {
      const one = secretForms(`HOSTILE${String(i).padStart(2, '0')}${randomBytes(6).toString('hex')}`)[i]!;
      return { ...one, name: f.name };
    });
    const outputs: Record<string, string> = {};

    /** Every field a row takes from the record carries the form; the malformed copy carries it too. */
    function secretBatch(tag: string): Buffer[] {
      const records = forms.map((f, i) =>
        captureRecord(`${tag}-${i}`, {
          operationName: `${templates[0]!.operationName} ${f.text}`,
          resourceId: `${templates[0]!.resourceId}-${tag}-${i}/${f.text}`,
          callerIpAddress: f.text,
          location: f.text,
          identity: { claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': f.text } },
          properties: {
            plain: f.text,
            nested: { deeper: { value: f.text } },
            requestbody: JSON.stringify({
              properties: { storageLocation: { storagePath: f.text } },
              note: f.text,
            }),
          },
        }),
      );
      const cut = `{"records":[{"operationName":"MICROSOFT.NETWORK/NETWORKWATCHERS/PACKETCAPTURES/WRITE","properties":{${forms.map((f, i) => `"f${i}":${JSON.stringify(f.text)}`).join(',')}`;
      return [
        Buffer.from(cut),
        Buffer.concat([Buffer.from([0xff, 0xfe, 0x00]), Buffer.from(cut)]),
        Buffer.from(cut, 'utf16le'),
        Buffer.from(JSON.stringify({ records })),
      ];
    }

    beforeAll(async () => {
      // Delivered: the rows reach the table.
      const delivered = `h${++partition}`;
      const run1 = await invoke(secretBatch(delivered), { partitionId: delivered });
      expect(run1.error).toBeUndefined();
      // Refused (403): the same rows go to alert dead letters.
      const refused = `h${++partition}`;
      li.setFaults({ rate: 1, kinds: ['forbidden'], seed: 2 });
      let run2: RunResult;
      try {
        run2 = await invoke(secretBatch(refused), { partitionId: refused });
      } finally {
        li.setFaults(undefined);
      }
      expect(run2.error).toBeUndefined();
      const blobs = [...(await deadLetters(delivered)), ...(await deadLetters(refused))];
      outputs['alert rows'] = JSON.stringify(li.rows);
      outputs['log lines'] = `${run1.logs}\n${run2.logs}`;
      outputs['malformed dead letters'] = blobs
        .filter((b) => b.name.startsWith('malformed/'))
        .map((b) => {
          // Base64-encoded raw messages are checked in every view of their bytes.
          const doc = JSON.parse(b.text) as { messages: { rawEncoding: string; raw: string }[] };
          const decoded = doc.messages
            .filter((m) => m.rawEncoding === 'base64')
            .flatMap((m) => {
              const bytes = Buffer.from(m.raw, 'base64');
              return [
                bytes.toString('utf8'),
                bytes.toString('latin1'),
                bytes.toString('utf16le'),
                bytes.subarray(1).toString('utf16le'),
              ];
            });
          return [b.text, ...decoded].join('\n');
        })
        .join('\n');
      outputs['alert dead letters'] = blobs
        .filter((b) => b.name.startsWith('alerts/'))
        .map((b) => b.text)
        .join('\n');
    }, 120_000);

    it('produces every output (rows, log lines, both dead-letter kinds)', () => {
      expect(Object.keys(outputs).sort()).toEqual([
        'alert dead letters',
        'alert rows',
        'log lines',
        'malformed dead letters',
      ]);
      for (const text of Object.values(outputs)) expect(text.length).toBeGreaterThan(1_000);
      // Each form was really there to be masked.
      expect(outputs['alert rows']?.match(/REDACTED/g)?.length).toBeGreaterThan(forms.length * 5);
    });

    describe.each(['alert rows', 'log lines', 'malformed dead letters', 'alert dead letters'])(
      '%s',
      (output) => {
        it.each(forms.map((f) => [f.name, f] as const))('hold no %s secret', (_name, form) => {
          const text = outputs[output] ?? '';
          for (const secret of form.secrets)
            expect(text.includes(secret) ? `${form.name}: ${secret}` : 'absent').toBe('absent');
        });
      },
    );
  });
});

function malformedLines(logs: string): number {
  return logs.split('\n').filter((l) => /^LOG \w+ malformed input /.test(l)).length;
}

export function formatFigures(rows: readonly Figure[]): string {
  const header = [
    'case',
    'poison bytes',
    'invocation ms',
    'peak RSS MB',
    'RSS above start MB',
    'log lines',
    'malformed-input lines per poison message',
  ];
  const cells = rows.map((r) => [
    r.case,
    r.bytes.toLocaleString('en-US'),
    r.ms.toFixed(0),
    r.rssMb.toFixed(0),
    r.rssAboveStartMb.toFixed(0),
    String(r.logLines),
    r.poisonMessages > 0 ? (r.malformedLines / r.poisonMessages).toFixed(1) : '-',
  ]);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
}
