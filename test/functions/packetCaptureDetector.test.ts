import { InvocationContext } from '@azure/functions';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENTHUB_CONNECTION, SETTINGS } from '../../src/config/settings';
import type { AlertRow } from '../../src/alert/columns';
import { ALLOWLIST_COLUMNS, SHIPPED_ALLOWLIST_FILE } from '../../src/triage/allowlist';

const validEnv = {
  LOGS_INGESTION_ENDPOINT: 'https://dcr-1.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
  EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
};

async function loadEntry(env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    let mod: typeof import('../../src/functions/packetCaptureDetector.js') | undefined;
    await jest.isolateModulesAsync(async () => {
      mod = await import('../../src/functions/packetCaptureDetector.js');
    });
    return mod!;
  } finally {
    warn.mockRestore();
    process.env = saved;
  }
}

describe('function entry', () => {
  it('wires the batch trigger with binary data, app-setting names and a retry policy', async () => {
    const { packetCaptureDetectorOptions: o } = await loadEntry(validEnv);
    expect(o).toMatchObject({
      connection: EVENTHUB_CONNECTION,
      eventHubName: '%EVENTHUB_NAME%',
      consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
      cardinality: 'many',
      dataType: 'binary',
      retry: { strategy: 'exponentialBackoff', maxRetryCount: -1 },
    });
    // Binding expressions refer to settings the schema documents.
    const names = SETTINGS.map((s) => s.name);
    for (const expr of [o.eventHubName, o.consumerGroup]) expect(names).toContain(expr.replace(/%/g, ''));
    expect(typeof o.handler).toBe('function');
  });

  it('refuses to start with invalid settings, naming every problem', async () => {
    await expect(loadEntry({ LOGS_INGESTION_ENDPOINT: 'http://insecure.example' })).rejects.toThrow(
      /Invalid configuration \(\d+ problems\)[\s\S]*must use https[\s\S]*EventHubConnection/,
    );
  });

  it('reads the allowlist the deployment names relative to its package root (the shipped file)', async () => {
    // Under ts-jest the entry is src/functions/…, two folders below the repository root, as the bundle
    // dist/function/… is below the package root; the working directory is elsewhere, as the worker's may be.
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'pcd-cwd-')));
    try {
      await expect(loadEntry({ ...validEnv, ALLOWLIST_PATH: SHIPPED_ALLOWLIST_FILE })).resolves.toBeDefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses to start on a bad allowlist row, naming the line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pcd-fn-')), 'allowlist.csv');
    writeFileSync(file, `${ALLOWLIST_COLUMNS.join(',')}\nalice@contoso.example,,,,,Probe,tomorrow\n`);
    await expect(loadEntry({ ...validEnv, ALLOWLIST_PATH: file })).rejects.toThrow(
      /ALLOWLIST_PATH: Invalid allowlist allowlist\.csv \(1 problem\):\n {2}- line 2: Expires "tomorrow" must be an ISO date/,
    );
  });

  it('applies the allowlist ALLOWLIST_PATH names to every alert it writes (func start: alerts on stdout)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pcd-fn-')), 'allowlist.csv');
    writeFileSync(
      file,
      `${ALLOWLIST_COLUMNS.join(',')}\n,3.3.3.3,,,NetworkWatcher,Seed test caller (CHG-1),\n`,
    );
    const { packetCaptureDetectorOptions: o } = await loadEntry({
      EventHubConnection: 'Endpoint=sb://localhost;UseDevelopmentEmulator=true;',
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      ALLOWLIST_PATH: file,
    });
    const written: string[] = [];
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const seed = readFileSync(join(__dirname, '../../samples/seed-tests.eventhub.json'));
      await o.handler(
        [seed],
        new InvocationContext({ functionName: 'packetCaptureDetector', logHandler: () => undefined }),
      );
    } finally {
      stdout.mockRestore();
    }
    const rows = written
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AlertRow);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => [r.CallerIpAddress, r.Suppressed, r.SuppressionReason])).toEqual(
      expect.arrayContaining([
        ['3.3.3.3', true, 'Allowlisted by allowlist.csv line 2: Seed test caller (CHG-1)'],
        ['1.1.1.1', false, ''],
      ]),
    );
  });
});
