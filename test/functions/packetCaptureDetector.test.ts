import { EVENTHUB_CONNECTION, SETTINGS } from '../../src/config/settings';

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
});
