import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadSettings } from '../../src/config/settings';
import { createDelivery } from '../../src/deliver/index';
import { buildProblems } from '../support/build';
import { CapturingLogger } from '../support/deliveryHarness';

const LI = {
  LOGS_INGESTION_ENDPOINT: 'https://dce.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
};

describe('createDelivery', () => {
  it('writes to stdout/stderr when Logs Ingestion is not configured', () => {
    const d = createDelivery(loadSettings({}, 'cli'), new CapturingLogger());
    expect([d.sink.name, d.malformedStore.name]).toEqual(['stdout', 'stderr']);
  });

  it('uses Logs Ingestion with blob dead letters when configured', () => {
    const settings = loadSettings({ ...LI, AzureWebJobsStorage__accountName: 'stpcd' }, 'cli');
    const log = new CapturingLogger();
    const d = createDelivery(settings, log);
    expect([d.sink.name, d.malformedStore.name]).toEqual(['logs-ingestion', 'blob dead letters']);
    expect(d.deadLetters?.location).toBe('https://stpcd.blob.core.windows.net/packet-capture-dead-letters');
    // Clients are shared between the deliveries of one settings object (one per invocation in the function).
    expect(createDelivery(settings, log).deadLetters).toBe(d.deadLetters);
    expect(log.lines.filter((l) => l.message === 'delivery configured')).toHaveLength(1);
  });

  it("keeps the lifecycle join's state in the host storage's table, shared, else in memory", () => {
    const azure = loadSettings(
      { ...LI, AzureWebJobsStorage__accountName: 'stpcd', OPERATION_STATE_WINDOW_MINUTES: '90' },
      'cli',
    );
    const d = createDelivery(azure, new CapturingLogger());
    expect(d.operationState?.name).toBe('table packetcaptureoperations');
    expect(d.operationWindowMs).toBe(90 * 60_000);
    expect(createDelivery(azure, new CapturingLogger()).operationState).toBe(d.operationState);
    expect(azure.operationStateStorage).toEqual({
      kind: 'serviceUri',
      serviceUri: 'https://stpcd.table.core.windows.net',
    });
    // Azurite with all services (func start): its table service.
    const local = loadSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }, 'cli');
    expect(createDelivery(local, new CapturingLogger()).operationState?.name).toBe(
      'table packetcaptureoperations',
    );
    // A blob-only connection string names no table service: the join stays in memory.
    const blobOnly = loadSettings(
      {
        AzureWebJobsStorage:
          'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:1/a;',
      },
      'cli',
    );
    expect(createDelivery(blobOnly, new CapturingLogger()).operationState?.name).toBe('memory');
  });

  it('refuses Logs Ingestion without a dead-letter store, and a dead-letter connection string over plain http', () => {
    expect(() => createDelivery(loadSettings(LI, 'cli'), new CapturingLogger())).toThrow(
      /needs a dead-letter store/,
    );
    const http = loadSettings(
      {
        ...LI,
        AzureWebJobsStorage:
          'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net',
      },
      'cli',
    );
    expect(() => createDelivery(http, new CapturingLogger())).toThrow(/must use https/);
  });

  it("keeps the callers' history in the host storage's table when there is one (shared), else in memory", () => {
    const withTables = loadSettings({ AzureWebJobsStorage__accountName: 'stpcd' }, 'cli');
    const d = createDelivery(withTables, new CapturingLogger());
    expect(d.captureHistory?.name).toBe('table packetcapturehistory');
    expect(createDelivery(withTables, new CapturingLogger()).captureHistory).toBe(d.captureHistory);
    // Printing instead of delivering (scan --stdout) still records into it: how an archive backfills the history.
    expect(createDelivery(withTables, new CapturingLogger(), { local: true }).captureHistory).toBe(
      d.captureHistory,
    );
    expect(createDelivery(loadSettings({}, 'cli'), new CapturingLogger()).captureHistory?.name).toBe(
      'memory',
    );
  });

  it('passes the allowlist of the settings, or the one a host gives instead (scan --allowlist)', () => {
    const none = createDelivery(loadSettings({}, 'cli'), new CapturingLogger());
    expect(none.allowlist).toBeUndefined();
    const given = { source: 'given.csv', entries: [] };
    expect(
      createDelivery(loadSettings({}, 'cli'), new CapturingLogger(), { allowlist: given }).allowlist,
    ).toBe(given);
  });
});

describe('lazy loading (perf: no Azure SDK client is loaded before the first alert)', () => {
  const compiled = path.join(__dirname, '../../dist/src/deliver/index.js');
  it('requiring the compiled delivery module and creating a delivery loads no Azure SDK', () => {
    // `npm test` builds first; the check needs real Node module loading, which Jest's registry hides.
    expect(buildProblems(['src/deliver', 'src/config'])).toEqual([]);
    const script = `
      const { createDelivery } = require(${JSON.stringify(compiled)});
      const { loadSettings } = require(${JSON.stringify(path.join(__dirname, '../../dist/src/config/settings.js'))});
      const s = loadSettings(${JSON.stringify({ ...LI, AzureWebJobsStorage__accountName: 'stpcd' })}, 'cli');
      createDelivery(s, { info() {}, warn() {}, error() {} });
      const loaded = Object.keys(require.cache).filter((k) => /@azure[\\\\/](monitor-ingestion|identity|storage-blob|msal-node)/.test(k));
      process.stdout.write(JSON.stringify(loaded));
    `;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual([]);
  });
});
