import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { BlobServiceClient, ContainerSASPermissions, type ContainerClient } from '@azure/storage-blob';
import type { AlertRow } from '../../../src/alert/columns';
import type { CliIo } from '../../../src/cli/io';
import { main } from '../../../src/cli/main';
import { detectBatch } from '../../../src/pipeline/detectBatch';
import { generateLoopbackCertificate } from '../../support/logsIngestionFake';
import { startAzurite, type AzuriteInstance } from '../../support/azurite';
import { startManagedIdentityFake, type ManagedIdentityFake } from '../../support/managedIdentityFake';
import { ROOT } from '../../support/build';

/**
 * `scan` reading the blob archive where it lives, against Azurite, with the layout a diagnostic setting
 * writes: insights-activity-logs/resourceId=/SUBSCRIPTIONS/<id>/y=2025/m=12/d=22/h=HH/m=00/PT1H.json,
 * one JSON Lines blob per subscription and hour.
 */
const CONTAINER = 'insights-activity-logs';
const SUBSCRIPTIONS = ['7F3C2A10-5B7E-4C1D-9A0E-2F6B8D4C1E35', '11111111-1111-1111-1111-111111111111'];
const HOURS = [8, 9, 10, 11, 12, 13];
const samples = join(__dirname, '../../../samples');
const BIN = join(ROOT, 'bin/packet-capture-detector.js');

const blobName = (sub: string, hour: number) =>
  `resourceId=/SUBSCRIPTIONS/${sub}/y=2025/m=12/d=22/h=${String(hour).padStart(2, '0')}/m=00/PT1H.json`;

function records(file: string): Record<string, unknown>[] {
  return (JSON.parse(readFileSync(join(samples, file), 'utf8')) as { records: Record<string, unknown>[] })
    .records;
}

/** The archive: each hour's blob holds benign noise and some capture operations, timed in that hour. */
function archive(): Map<string, string> {
  // Records that alert on their own (the sample files also hold Start records and near misses).
  const captures = [
    ...records('capture-operations.eventhub.json'),
    ...records('seed-tests.eventhub.json'),
  ].filter((r) => detectBatch([JSON.stringify(r)], () => ({})).alerts.length === 1);
  const noise = records('benign-noise.eventhub.json');
  const blobs = new Map<string, string>();
  let c = 0;
  for (const [s, sub] of SUBSCRIPTIONS.entries()) {
    for (const hour of HOURS) {
      const at = (minute: number) =>
        `2025-12-22T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00.0000000Z`;
      const lines: Record<string, unknown>[] = noise.slice(0, 20).map((r, i) => ({ ...r, time: at(i) }));
      // Two capture operations per blob, in turn, each with its own correlation id and time.
      for (let k = 0; k < 2; k++, c++) {
        const record = captures[c % captures.length] ?? {};
        lines.splice(5 + k * 7, 0, {
          ...record,
          time: at(30 + k),
          correlationId: `00000000-0000-0000-0000-${String(s * 100 + c).padStart(12, '0')}`,
        });
      }
      blobs.set(blobName(sub, hour), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    }
  }
  return blobs;
}

function capture(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = capture(stdout);
  const err = capture(stderr);
  const io: CliIo = { stdout, stderr, stdin: Readable.from(['']), env };
  const code = await main(args, io);
  return { code, stdout: out(), stderr: err() };
}

const alertsOf = (jsonl: string) =>
  jsonl
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AlertRow);
const ids = (jsonl: string) =>
  alertsOf(jsonl)
    .map((a) => a.AlertId)
    .sort();

describe('scan of a blob archive (Azurite)', () => {
  let azurite: AzuriteInstance;
  let container: ContainerClient;
  let local: string;
  let url: string;
  let env: NodeJS.ProcessEnv;
  const blobs = archive();

  beforeAll(async () => {
    azurite = await startAzurite();
    container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      CONTAINER,
    );
    await container.create();
    local = mkdtempSync(join(tmpdir(), 'pcd-archive-'));
    for (const [name, text] of blobs) {
      await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
      const path = join(local, CONTAINER, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    url = `${azurite.blobEndpoint}/${CONTAINER}`;
    env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
    rmSync(local, { recursive: true, force: true });
  });

  it('gives the same alerts as scanning a local copy of the archive', async () => {
    const remote = await run(['scan', '--format', 'jsonl', url], env);
    const copy = await run(['scan', '--format', 'jsonl', join(local, CONTAINER)]);
    expect(remote.code).toBe(0);
    expect(copy.code).toBe(0);
    expect(ids(remote.stdout)).toEqual(ids(copy.stdout));
    expect(ids(remote.stdout)).toHaveLength(blobs.size * 2);
    expect(remote.stderr).toMatch(
      new RegExp(`^scanned ${blobs.size} files, .*; ${blobs.size * 2} alerts, 0 malformed, 0 unreadable\\n$`),
    );
  });

  it('signs in with a SAS in the URL, never prints it, and reads only under a prefix', async () => {
    const sas = await container.generateSasUrl({
      permissions: ContainerSASPermissions.parse('rl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const secret = new URL(sas).searchParams.get('sig') ?? '';
    expect(secret).not.toBe('');
    const all = await run(['scan', sas]);
    expect(all.code).toBe(0);
    expect(alertsOf(all.stdout)).toHaveLength(blobs.size * 2);
    const [base, query] = sas.split('?');
    const prefixed = await run(['scan', `${base}/resourceId=/SUBSCRIPTIONS/${SUBSCRIPTIONS[1]}?${query}`]);
    expect(prefixed.code).toBe(0);
    const expected = ids(
      (await run(['scan', join(local, CONTAINER, 'resourceId=', 'SUBSCRIPTIONS', SUBSCRIPTIONS[1] ?? '')]))
        .stdout,
    );
    expect(ids(prefixed.stdout)).toEqual(expected);
    expect(expected).toHaveLength(HOURS.length * 2);
    // A bad SAS: the error names the container, without the signature.
    const bad = await run(['scan', `${base}?${query?.replace(/sig=[^&]+/, 'sig=AAAAinvalidsignatureAAAA')}`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /cannot list .*insights-activity-logs \(signed in with the SAS in the URL\): .*403/,
    );
    for (const text of [all.stderr, prefixed.stderr, bad.stderr, bad.stdout]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain('AAAAinvalidsignatureAAAA');
    }
  });

  it('--since keeps only the later hours, selected by path before anything is downloaded', async () => {
    const since = await run(['scan', '--since', '2025-12-22T11:00Z', url], env);
    expect(since.code).toBe(0);
    const alerts = alertsOf(since.stdout);
    expect(alerts).toHaveLength(SUBSCRIPTIONS.length * 3 * 2);
    expect(alerts.every((a) => a.EventTime >= '2025-12-22T11:00:00')).toBe(true);
    expect(since.stderr).toMatch(
      /^scanned 6 files, .*; 6 files or folders outside hours from 2025-12-22T11:00Z on not read/,
    );
    const copy = await run(['scan', '--since', '2025-12-22T11:00Z', join(local, CONTAINER)]);
    expect(ids(since.stdout)).toEqual(ids(copy.stdout));
    const window = await run(
      ['scan', '--since', '2025-12-22T09:00Z', '--until', '2025-12-22T10:00Z', url],
      env,
    );
    expect(alertsOf(window.stdout).map((a) => a.EventTime.slice(11, 13))).toEqual(['09', '09', '09', '09']);
    // Whole years and months outside the range are pruned from the listing itself.
    const later = await run(['scan', '--since', '2026-02-01', url], env);
    expect(later.code).toBe(2);
    expect(later.stderr).toMatch(
      /no input found in hours from 2026-02-01T00:00Z on \(2 files or folders outside it\)/,
    );
  });

  it('refuses a connection string for another account, and says which', async () => {
    const other = azurite.connectionString.replace(
      'AccountName=devstoreaccount1',
      'AccountName=otheraccount',
    );
    const { code, stderr } = await run(['scan', url], { AZURE_STORAGE_CONNECTION_STRING: other });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /AZURE_STORAGE_CONNECTION_STRING is for account "otheraccount", but the URL names account "devstoreaccount1"/,
    );
  });

  it('resumes a stopped backfill: a run stopped by SIGINT, then the same command, gives every alert once', async () => {
    const state = join(local, 'state.jsonl');
    const proxy = await startSlowProxy(new URL(azurite.blobEndpoint).port, 40);
    const slowUrl = url.replace(`:${new URL(azurite.blobEndpoint).port}/`, `:${proxy.port}/`);
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'scan', '--resume', state, '--concurrency', '1', '--format', 'jsonl', slowUrl],
        {
          env: { PATH: process.env.PATH, AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => {
          resolve(code);
        }),
      );
      const finished = () => {
        try {
          return readFileSync(state, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"key"')).length;
        } catch {
          return 0;
        }
      };
      const deadline = Date.now() + 20_000;
      while (finished() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      const code = await exited;
      const done = finished();
      expect(code).toBe(130);
      expect(done).toBeGreaterThanOrEqual(3);
      expect(done).toBeLessThan(blobs.size);
      expect(stderr).toMatch(
        /stopped before the end: run the same command again to continue \(finished files are recorded in/,
      );

      const resumed = await run(['scan', '--resume', state, '--format', 'jsonl', slowUrl], env);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(
        new RegExp(
          `scanned ${blobs.size - done} files, .*; ${done} files finished by an earlier run skipped`,
        ),
      );
      const full = await run(['scan', '--format', 'jsonl', url], env);
      expect(ids(resumed.stdout)).toEqual(ids(full.stdout));
      const again = await run(['scan', '--resume', state, slowUrl], env);
      expect(again.stderr).toMatch(
        new RegExp(`scanned 0 files, .*; ${blobs.size} files finished by an earlier run skipped`),
      );
      expect(ids(again.stdout)).toEqual(ids(full.stdout));
    } finally {
      await proxy.stop();
    }
  }, 60_000);
});

describe('scan of a blob archive with an identity (Azurite over https with OAuth)', () => {
  let azurite: AzuriteInstance;
  let mi: ManagedIdentityFake;
  let work: string;
  let caFile: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'pcd-archive-mi-'));
    const cert = await generateLoopbackCertificate();
    azurite = await startAzurite({ https: cert, oauth: true });
    mi = await startManagedIdentityFake();
    caFile = join(work, 'ca.pem');
    writeFileSync(caFile, cert.cert);
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
    await mi.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('reads with the managed identity (no key, no SAS) and finds the same alerts', async () => {
    const blobs = archive();
    const first = [...blobs].slice(0, 3);
    // Uploaded by a child process too: only a process started with the CA trusts Azurite's certificate.
    const upload = `
      const { BlobServiceClient } = require('@azure/storage-blob');
      (async () => {
        const c = BlobServiceClient.fromConnectionString(process.env.CS).getContainerClient('${CONTAINER}');
        await c.createIfNotExists();
        const blobs = JSON.parse(require('node:fs').readFileSync(process.env.BLOBS, 'utf8'));
        for (const [name, text] of blobs) await c.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const childEnv = { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: caFile };
    const blobsFile = join(work, 'blobs.json');
    writeFileSync(blobsFile, JSON.stringify(first));
    await new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', upload], {
        cwd: ROOT,
        env: { ...childEnv, CS: azurite.connectionString, BLOBS: blobsFile },
        stdio: 'inherit',
      });
      c.once('exit', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`upload exited ${String(code)}`));
      });
    });
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(
        process.execPath,
        [BIN, 'scan', '--format', 'jsonl', `${azurite.blobEndpoint}/${CONTAINER}`],
        {
          env: { ...childEnv, ...mi.env() },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.once('exit', (code) => {
        resolve({ code, stdout, stderr });
      });
    });
    expect(result.stderr).toMatch(/^scanned 3 files/);
    expect(result.code).toBe(0);
    expect(alertsOf(result.stdout)).toHaveLength(6);
    expect(mi.requests.some((r) => r.resource === 'https://storage.azure.com')).toBe(true);
  }, 60_000);
});

/** A loopback TCP proxy that delays every chunk of the answers: a slow storage account. */
async function startSlowProxy(
  targetPort: string,
  delayMs: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), '127.0.0.1');
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      setTimeout(() => {
        client.write(chunk);
        upstream.resume();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
