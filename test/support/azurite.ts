import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Azurite's blob service for tests: a child process (`node node_modules/azurite/dist/src/blob/main.js`)
 * on 127.0.0.1 and a free port, data in memory, working directory in a temp dir removed on stop.
 * A child process rather than in-process: it keeps Azurite's many modules out of Jest's registry, and a
 * test can stop it to simulate the storage account being unreachable.
 *
 * With `https` (a PEM key and certificate) and `oauth: true`, Azurite also accepts bearer tokens
 * (`--oauth basic`: issuer must be sts.windows.net, audience https://storage.azure.com), so the production
 * identity-based path (service URI + ManagedIdentityCredential) can run against it.
 */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** Azurite's well-known development key (public, documented); still never expected in logs or blobs. */
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  readonly https?: { readonly key: string; readonly cert: string };
  readonly oauth?: boolean;
  readonly startTimeoutMs?: number;
}

export interface AzuriteInstance {
  /** e.g. `http://127.0.0.1:41234/devstoreaccount1` (the account's blob service URI). */
  readonly blobEndpoint: string;
  readonly connectionString: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that fails before stop() must not leave Azurite behind.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const mainJs = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  const workDir = await mkdtemp(path.join(tmpdir(), 'pcd-azurite-'));
  const args = [
    mainJs,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    '0',
    '--inMemoryPersistence',
    '--extentMemoryLimit',
    '256',
    '--loose',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
  ];
  if (options.https) {
    const certPath = path.join(workDir, 'cert.pem');
    const keyPath = path.join(workDir, 'key.pem');
    await writeFile(certPath, options.https.cert);
    await writeFile(keyPath, options.https.key);
    args.push('--cert', certPath, '--key', keyPath);
  }
  if (options.oauth) args.push('--oauth', 'basic');

  installExitHook();
  const child = spawn(process.execPath, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    await rm(workDir, { recursive: true, force: true });
  };

  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Azurite did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`));
      }, options.startTimeoutMs ?? 30_000);
      const onData = (data: Buffer): void => {
        output += data.toString('utf8');
        const m = /successfully listens on (https?:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited early (code ${code ?? '-'}, signal ${signal ?? '-'}):\n${output}`));
      });
    });
    // Keep draining the pipes so Azurite never blocks on a full pipe buffer.
    child.stdout.resume();
    child.stderr.resume();
    const blobEndpoint = `${url}/${AZURITE_ACCOUNT_NAME}`;
    const protocol = url.startsWith('https') ? 'https' : 'http';
    return {
      blobEndpoint,
      connectionString: `DefaultEndpointsProtocol=${protocol};AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface AzuriteTablesInstance {
  /** e.g. `http://127.0.0.1:41234/devstoreaccount1` (the account's table service URI). */
  readonly tableEndpoint: string;
  readonly connectionString: string;
  stop(): Promise<void>;
}

/** A free loopback port (Azurite's table service does not report the port it was given with 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Azurite's table service, like `startAzurite` (child process, loopback, in memory, removed on stop). */
export async function startAzuriteTables(
  options: { startTimeoutMs?: number } = {},
): Promise<AzuriteTablesInstance> {
  const mainJs = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/table/main.js');
  const workDir = await mkdtemp(path.join(tmpdir(), 'pcd-azurite-tables-'));
  const port = await freePort();
  installExitHook();
  const child = spawn(
    process.execPath,
    [
      mainJs,
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(port),
      '--inMemoryPersistence',
      '--loose',
      '--skipApiVersionCheck',
      '--disableTelemetry',
    ],
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    await rm(workDir, { recursive: true, force: true });
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`Azurite tables did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`),
        );
      }, options.startTimeoutMs ?? 30_000);
      const onData = (data: Buffer): void => {
        output += data.toString('utf8');
        if (output.includes('successfully started')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`Azurite tables exited early (code ${code ?? '-'}, signal ${signal ?? '-'}):\n${output}`),
        );
      });
    });
    child.stdout.resume();
    child.stderr.resume();
    const tableEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
    return {
      tableEndpoint,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};TableEndpoint=${tableEndpoint};`,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
