import { BlobServiceClient } from '@azure/storage-blob';
import { loadSettings, type Settings } from '../../src/config/settings';
import {
  ALERTS_PREFIX,
  MALFORMED_PREFIX,
  type AlertDeadLetter,
  type MalformedDeadLetter,
} from '../../src/deliver/deadLetter';
import { createDelivery, type DeliveryOverrides } from '../../src/deliver/index';
import type { Delivery, Logger } from '../../src/pipeline/ports';
import type { RetrySettings } from '../../src/deliver/uploader';
import { startAzurite, type AzuriteInstance } from './azurite';
import {
  startLogsIngestionFake,
  type LogsIngestionFake,
  type LogsIngestionFakeOptions,
} from './logsIngestionFake';
import { startManagedIdentityFake, type ManagedIdentityFake } from './managedIdentityFake';

/**
 * Everything delivery needs, real and local: the managed-identity endpoint (production credential), the
 * Logs Ingestion fake (real client), Azurite (real blob client). Start once per test file: MSAL keeps the
 * first identity endpoint of a module registry.
 */
export const TEST_RULE_ID = 'dcr-0123456789abcdef0123456789abcdef';
export const TEST_STREAM = 'Custom-PacketCaptureAlerts_CL';
/** The DCR's second stream: health rows (HEALTH_STREAM_NAME's default). */
export const TEST_HEALTH_STREAM = 'Custom-PacketCaptureDetectorHealth_CL';
export const TEST_CONTAINER = 'pcd-dead-letters';

/** Short timings so faults play out in milliseconds, with the same logic as production. */
export const FAST_RETRY: Partial<RetrySettings> = {
  budgetMs: 4_000,
  attemptTimeoutMs: 800,
  baseDelayMs: 20,
  maxDelayMs: 200,
};

export interface CapturedLog {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

export class CapturingLogger implements Logger {
  readonly lines: CapturedLog[] = [];
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, ...(fields ? { fields } : {}) });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) });
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, ...(fields ? { fields } : {}) });
  }
  /** As the function's logger renders them: message, then the fields as one JSON object. */
  text(): string {
    return this.lines.map((l) => `${l.message}${l.fields ? ` ${JSON.stringify(l.fields)}` : ''}`).join('\n');
  }
}

export interface Harness {
  readonly mi: ManagedIdentityFake;
  readonly li: LogsIngestionFake;
  readonly azurite: AzuriteInstance;
  /** The environment the detector would run with (settings + identity endpoint). */
  readonly env: NodeJS.ProcessEnv;
  readonly settings: Settings;
  readonly overrides: DeliveryOverrides;
  delivery(logger: Logger, retry?: Partial<RetrySettings>): Delivery;
  blobNames(prefix?: string): Promise<string[]>;
  alertDeadLetters(): Promise<{ name: string; doc: AlertDeadLetter }[]>;
  malformedDeadLetters(): Promise<{ name: string; doc: MalformedDeadLetter }[]>;
  /** AlertIds currently in alert dead letters. */
  deadLetteredIds(): Promise<string[]>;
  /** Every blob's raw text, for leak scans. */
  allBlobText(): Promise<string>;
  clearDeadLetters(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(options: { li?: LogsIngestionFakeOptions } = {}): Promise<Harness> {
  const mi = await startManagedIdentityFake();
  const saved = {
    IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
    IDENTITY_HEADER: process.env.IDENTITY_HEADER,
  };
  Object.assign(process.env, mi.env());
  const li = await startLogsIngestionFake({
    ruleId: TEST_RULE_ID,
    streamName: [TEST_STREAM, TEST_HEALTH_STREAM],
    ...options.li,
  });
  const azurite = await startAzurite();
  const env: NodeJS.ProcessEnv = {
    ...mi.env(),
    LOGS_INGESTION_ENDPOINT: li.endpoint,
    LOGS_INGESTION_RULE_ID: TEST_RULE_ID,
    LOGS_INGESTION_STREAM_NAME: TEST_STREAM,
    AzureWebJobsStorage: azurite.connectionString,
    DEAD_LETTER_CONTAINER: TEST_CONTAINER,
    DELIVERY_TIME_BUDGET_SECONDS: '4',
  };
  const settings = loadSettings(env, 'cli');
  const overrides: DeliveryOverrides = {
    env,
    logsIngestionClientOptions: { tlsOptions: { ca: li.ca } },
    blobClientOptions: {
      retryOptions: { maxTries: 2, tryTimeoutInMs: 3_000, retryDelayInMs: 50, maxRetryDelayInMs: 200 },
    },
    retry: FAST_RETRY,
  };
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    TEST_CONTAINER,
  );
  const blobNames = async (prefix = ''): Promise<string[]> => {
    if (!(await container.exists())) return [];
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
    return names;
  };
  const read = async (name: string): Promise<string> =>
    (await container.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
  const alertDeadLetters = async (): Promise<{ name: string; doc: AlertDeadLetter }[]> =>
    Promise.all(
      (await blobNames(ALERTS_PREFIX)).map(async (name) => ({
        name,
        doc: JSON.parse(await read(name)) as AlertDeadLetter,
      })),
    );
  return {
    mi,
    li,
    azurite,
    env,
    settings,
    overrides,
    delivery: (logger, retry) =>
      createDelivery(settings, logger, { ...overrides, retry: { ...FAST_RETRY, ...retry } }),
    blobNames,
    alertDeadLetters,
    malformedDeadLetters: async () =>
      Promise.all(
        (await blobNames(MALFORMED_PREFIX)).map(async (name) => ({
          name,
          doc: JSON.parse(await read(name)) as MalformedDeadLetter,
        })),
      ),
    deadLetteredIds: async () =>
      (await alertDeadLetters()).flatMap((d) => d.doc.alerts.map((a) => a.AlertId)),
    allBlobText: async () => (await Promise.all((await blobNames()).map(read))).join('\n'),
    clearDeadLetters: async () => {
      for (const name of await blobNames()) await container.deleteBlob(name);
    },
    stop: async () => {
      await azurite.stop();
      await li.stop();
      await mi.stop();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) Reflect.deleteProperty(process.env, k);
        else process.env[k] = v;
      }
    },
  };
}
