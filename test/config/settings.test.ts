import {
  EVENTHUB_CONNECTION as EVENTHUB_CONNECTION_NAME,
  loadSettings,
  SETTINGS as SETTINGS_ROWS,
} from '../../src/config/settings';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectorError } from '../../src/lib/errors';
import { ALLOWLIST_COLUMNS } from '../../src/triage/allowlist';

const valid = {
  LOGS_INGESTION_ENDPOINT: 'https://dcr-1.westeurope-1.ingest.monitor.azure.com',
  LOGS_INGESTION_RULE_ID: 'dcr-0123456789abcdef0123456789abcdef',
  LOGS_INGESTION_STREAM_NAME: 'Custom-PacketCaptureAlerts_CL',
  EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
  AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net',
};

function problemsOf(env: NodeJS.ProcessEnv, purpose: 'function' | 'cli'): string {
  try {
    loadSettings(env, purpose);
  } catch (error) {
    expect(error).toBeInstanceOf(DetectorError);
    expect((error as DetectorError).code).toBe('CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadSettings', () => {
  it('reads a complete Azure configuration', () => {
    const s = loadSettings(valid, 'function');
    expect(s).toEqual({
      logsIngestion: {
        endpoint: valid.LOGS_INGESTION_ENDPOINT,
        ruleId: valid.LOGS_INGESTION_RULE_ID,
        streamName: 'Custom-PacketCaptureAlerts_CL',
        healthStreamName: 'Custom-PacketCaptureDetectorHealth_CL',
      },
      managedIdentityClientId: undefined,
      eventHubName: 'insights-activity-logs',
      consumerGroup: 'packet-capture-detector',
      deadLetterContainer: 'packet-capture-dead-letters',
      hostStorage: { kind: 'serviceUri', serviceUri: 'https://st.blob.core.windows.net' },
      deadLetterStorage: { kind: 'serviceUri', serviceUri: 'https://st.blob.core.windows.net' },
      deliveryTimeBudgetMs: 240_000,
      operationStateStorage: undefined,
      operationStateTable: 'packetcaptureoperations',
      operationWindowMs: 360 * 60_000,
      captureHistoryTable: 'packetcapturehistory',
      allowlist: undefined,
      protectedResourceIds: [],
      healthWindowMs: 5 * 60_000,
    });
  });

  it('reads PROTECTED_RESOURCE_IDS as a list of resource ids and refuses anything else', () => {
    const rg = '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-pcd-prod';
    const ws =
      '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/log-soc';
    expect(loadSettings({ PROTECTED_RESOURCE_IDS: ` ${rg}, ,${ws} ,` }, 'cli').protectedResourceIds).toEqual([
      rg,
      ws,
    ]);
    expect(problemsOf({ PROTECTED_RESOURCE_IDS: `${rg},rg-pcd-prod` }, 'cli')).toMatch(
      /PROTECTED_RESOURCE_IDS must be comma-separated Azure resource ids/,
    );
    expect(problemsOf({ PROTECTED_RESOURCE_IDS: '/subscriptions/' }, 'cli')).toMatch(
      /PROTECTED_RESOURCE_IDS/,
    );
  });

  it('lets the CLI run with nothing configured (alerts to stdout)', () => {
    expect(loadSettings({}, 'cli').logsIngestion).toBeUndefined();
  });

  it('lets the function write to stdout only under func start (Development)', () => {
    const local = { EventHubConnection: 'Endpoint=sb://localhost;UseDevelopmentEmulator=true;' };
    expect(
      loadSettings({ ...local, AZURE_FUNCTIONS_ENVIRONMENT: 'Development' }, 'function').logsIngestion,
    ).toBeUndefined();
    expect(problemsOf(local, 'function')).toMatch(
      /LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are required/,
    );
  });

  it('names every problem in one message', () => {
    const message = problemsOf(
      {
        LOGS_INGESTION_ENDPOINT: 'http://insecure.example',
        LOGS_INGESTION_STREAM_NAME: 'PacketCaptureAlerts_CL',
        AZURE_CLIENT_ID: 'not-a-guid',
        DEAD_LETTER_CONTAINER: 'Bad_Name',
        DELIVERY_TIME_BUDGET_SECONDS: 'soon',
      },
      'function',
    );
    expect(message).toMatch(/Invalid configuration \(\d+ problems\)/);
    for (const expected of [
      /LOGS_INGESTION_ENDPOINT must use https/,
      /LOGS_INGESTION_STREAM_NAME must look like Custom-/,
      /AZURE_CLIENT_ID must be a GUID/,
      /DEAD_LETTER_CONTAINER must be a valid blob container name/,
      /DELIVERY_TIME_BUDGET_SECONDS/,
    ]) {
      expect(message).toMatch(expected);
    }
  });

  it('requires the endpoint and the rule id together', () => {
    expect(problemsOf({ LOGS_INGESTION_RULE_ID: valid.LOGS_INGESTION_RULE_ID }, 'cli')).toMatch(
      /LOGS_INGESTION_ENDPOINT is required when LOGS_INGESTION_RULE_ID is set/,
    );
    expect(problemsOf({ LOGS_INGESTION_ENDPOINT: valid.LOGS_INGESTION_ENDPOINT }, 'cli')).toMatch(
      /LOGS_INGESTION_RULE_ID is required/,
    );
  });

  it('requires a trigger connection for the function', () => {
    const { EventHubConnection__fullyQualifiedNamespace: _omit, ...rest } = valid;
    expect(problemsOf(rest, 'function')).toMatch(/EventHubConnection__fullyQualifiedNamespace/);
  });

  it('refuses a plain-http dead-letter endpoint', () => {
    expect(
      problemsOf({ DEAD_LETTER_BLOB_SERVICE_URI: 'http://127.0.0.1:10000/devstoreaccount1' }, 'cli'),
    ).toMatch(/DEAD_LETTER_BLOB_SERVICE_URI must use https/);
  });
});

describe('the settings table', () => {
  it('is the one list: documented rows, defaults applied from it, the trigger connection named in it', () => {
    const names = SETTINGS_ROWS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain(EVENTHUB_CONNECTION_NAME);
    expect(names).toContain(`${EVENTHUB_CONNECTION_NAME}__fullyQualifiedNamespace`);
    const defaults = Object.fromEntries(
      SETTINGS_ROWS.filter((s) => s.default).map((s) => [s.name, s.default]),
    );
    const loaded = loadSettings({}, 'cli');
    expect(defaults).toEqual({
      LOGS_INGESTION_STREAM_NAME: 'Custom-PacketCaptureAlerts_CL',
      EVENTHUB_NAME: loaded.eventHubName,
      EVENTHUB_CONSUMER_GROUP: loaded.consumerGroup,
      DEAD_LETTER_CONTAINER: loaded.deadLetterContainer,
      DELIVERY_TIME_BUDGET_SECONDS: String(loaded.deliveryTimeBudgetMs / 1000),
      OPERATION_STATE_TABLE: loaded.operationStateTable,
      OPERATION_STATE_WINDOW_MINUTES: String(loaded.operationWindowMs / 60_000),
      CAPTURE_HISTORY_TABLE: loaded.captureHistoryTable,
      HEALTH_STREAM_NAME: 'Custom-PacketCaptureDetectorHealth_CL',
      HEALTH_WINDOW_MINUTES: String(loaded.healthWindowMs / 60_000),
    });
  });
});

describe('ALLOWLIST_PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcd-settings-'));
  writeFileSync(join(dir, 'allowlist.csv'), `${ALLOWLIST_COLUMNS.join(',')}\n,,,rg-probe,,Nightly probe,\n`);
  writeFileSync(join(dir, 'bad.csv'), `${ALLOWLIST_COLUMNS.join(',')}\nx,,,,,,\n`);

  it('is read at start-up; a relative path against the base folder the host gives (the function: its package root)', () => {
    const s = loadSettings({ ...valid, ALLOWLIST_PATH: 'allowlist.csv' }, 'function', { baseDir: dir });
    expect(s.allowlist).toEqual({
      source: 'allowlist.csv',
      entries: [{ line: 2, resourceGroup: 'rg-probe', reason: 'Nightly probe' }],
    });
    expect(
      loadSettings({ ALLOWLIST_PATH: join(dir, 'allowlist.csv') }, 'cli').allowlist?.entries,
    ).toHaveLength(1);
  });

  it('stops the start with the other problems when the file is bad or missing, naming the line', () => {
    expect(
      problemsOf({ ...valid, ALLOWLIST_PATH: join(dir, 'bad.csv'), DEAD_LETTER_CONTAINER: 'X' }, 'function'),
    ).toMatch(
      /^Invalid configuration \(2 problems\):\n- DEAD_LETTER_CONTAINER must be a valid blob container name.*\n- ALLOWLIST_PATH: Invalid allowlist bad\.csv \(1 problem\):\n {2}- line 2: Reason is required/,
    );
    expect(problemsOf({ ALLOWLIST_PATH: join(dir, 'missing.csv') }, 'cli')).toMatch(
      /ALLOWLIST_PATH: Cannot read the allowlist .*missing\.csv: .*ENOENT/,
    );
  });
});
