/*
 * Every setting the detector reads, in one table: name, when it is required, its default, what it means and
 * the schema that checks it. The environment is validated against the table once at start-up; the README's
 * configuration table is generated from it and the Bicep app settings are tested against it, so a setting
 * is added here and nowhere else.
 */
import { isAbsolute, resolve } from 'node:path';
import { ALERT_STREAM_NAME } from '../alert/columns';
import { HEALTH_STREAM_NAME } from '../health/columns';
import { DetectorError } from '../lib/errors';
import * as z from '../lib/zod';
import { loadAllowlistFile, SHIPPED_ALLOWLIST_FILE, type Allowlist } from '../triage/allowlist';

/** When a setting must be given: by the function in Azure, to deliver to Log Analytics, or never. */
export type RequiredWhen = 'function' | 'delivery' | 'no';

interface SettingSpec<T> {
  readonly required: RequiredWhen;
  readonly description: string;
  /** Applied when the setting is unset or blank; the README shows it. */
  readonly default?: T;
  /**
   * Makes the parser of the trimmed text (never given undefined: an unset or blank setting takes its
   * default). Made when the setting is present, so the function's start builds only the parsers it uses.
   */
  readonly schema: () => z.ZodMiniType<T | undefined, string | undefined>;
}

/** Keeps each entry's value type for `Settings` while checking its shape. */
const spec = <T>(s: SettingSpec<T>): SettingSpec<T> => s;

const matching = (pattern: RegExp, message: string) =>
  z.optional(z.string().check(z.regex(pattern, message)));

const text = z.optional(z.string());

const httpsUrl = (name: string) =>
  z.optional(
    z.string().check(
      z.refine((v) => URL.canParse(v), { error: `${name} must be an absolute URL` }),
      z.refine((v) => !URL.canParse(v) || new URL(v).protocol === 'https:', {
        error: `${name} must use https:// (bearer tokens are never sent over plain http)`,
      }),
    ),
  );

/** Blob container names: 3-63 lowercase letters, digits and single hyphens. */
export const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
export const CONTAINER_NAME_RULE = '3-63 lowercase letters, digits, single hyphens';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An Azure resource id (or a subscription's, a resource group's): `/subscriptions/<id>[/...]`. */
const RESOURCE_ID = /^\/subscriptions\/[^/\s]+(\/[^\s]*)?$/i;

/** A comma-separated list of ids, trimmed, empty entries dropped. */
export function splitIds(value: string): string[] {
  return value
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
}

export const DEFAULT_EVENTHUB_NAME = 'insights-activity-logs';
export const DEFAULT_CONSUMER_GROUP = 'packet-capture-detector';
export const DEFAULT_DEAD_LETTER_CONTAINER = 'packet-capture-dead-letters';

/** The name of the trigger's connection (`connection` in the function's options), and its settings' prefix. */
export const EVENTHUB_CONNECTION = 'EventHubConnection';

export const SETTINGS_TABLE = {
  LOGS_INGESTION_ENDPOINT: spec({
    required: 'delivery',
    description:
      'Logs ingestion endpoint of the DCR (https only). Unset: alerts are written to stdout as JSON Lines.',
    schema: () => httpsUrl('LOGS_INGESTION_ENDPOINT'),
  }),
  LOGS_INGESTION_RULE_ID: spec({
    required: 'delivery',
    description: 'Immutable id of the DCR (`dcr-…`).',
    schema: () =>
      matching(
        /^dcr-[0-9a-f]{32}$/i,
        'LOGS_INGESTION_RULE_ID must be a DCR immutable id like dcr-<32 hex digits>',
      ),
  }),
  LOGS_INGESTION_STREAM_NAME: spec({
    required: 'delivery',
    default: ALERT_STREAM_NAME,
    description: 'DCR stream that receives alert rows.',
    schema: () =>
      matching(/^Custom-[A-Za-z0-9_]+$/, 'LOGS_INGESTION_STREAM_NAME must look like Custom-<Name>'),
  }),
  HEALTH_STREAM_NAME: spec({
    required: 'delivery',
    default: HEALTH_STREAM_NAME,
    description:
      'DCR stream that receives health rows (records seen per subscription and window), in the same DCR as the alerts.',
    schema: () => matching(/^Custom-[A-Za-z0-9_]+$/, 'HEALTH_STREAM_NAME must look like Custom-<Name>'),
  }),
  HEALTH_WINDOW_MINUTES: spec({
    required: 'no',
    default: 5,
    description:
      'Length of a health window: the Function and `consume` write one health row per subscription and window.',
    schema: () =>
      z.optional(
        z.coerce
          .number<string>()
          .check(
            z.refine(Number.isInteger, { error: 'HEALTH_WINDOW_MINUTES must be a whole number' }),
            z.minimum(1, 'HEALTH_WINDOW_MINUTES must be at least 1'),
            z.maximum(60, 'HEALTH_WINDOW_MINUTES must be at most 60'),
          ),
      ),
  }),
  AZURE_CLIENT_ID: spec({
    required: 'no',
    description:
      'Client id of the user-assigned managed identity (unset: system-assigned / developer login).',
    schema: () => matching(GUID, 'AZURE_CLIENT_ID must be a GUID'),
  }),
  EVENTHUB_NAME: spec({
    required: 'function',
    default: DEFAULT_EVENTHUB_NAME,
    description: 'Event Hub that receives the Activity Log export.',
    schema: () => text,
  }),
  EVENTHUB_CONSUMER_GROUP: spec({
    required: 'function',
    default: DEFAULT_CONSUMER_GROUP,
    description: 'Consumer group the detector reads with (its own, so other readers are unaffected).',
    schema: () => text,
  }),
  EventHubConnection__fullyQualifiedNamespace: spec({
    required: 'function',
    description:
      'Event Hubs namespace host (`<ns>.servicebus.windows.net`) for the identity-based trigger connection. Locally, set `EventHubConnection` to a connection string instead.',
    schema: () => text,
  }),
  EventHubConnection: spec({
    required: 'no',
    description:
      'Locally only: the trigger connection as an Event Hubs connection string (the emulator). In Azure the identity-based `EventHubConnection__fullyQualifiedNamespace` is used.',
    schema: () => text,
  }),
  EVENTHUB_CONNECTION_STRING: spec({
    required: 'no',
    description:
      '`send` and `consume` only: an Event Hubs connection string (emulator, or SAS where identities are not possible). In Azure prefer `--namespace` with an identity.',
    schema: () => text,
  }),
  DEAD_LETTER_CONTAINER: spec({
    required: 'no',
    default: DEFAULT_DEAD_LETTER_CONTAINER,
    description: 'Blob container that keeps undeliverable alerts and malformed messages.',
    schema: () =>
      matching(
        CONTAINER_NAME,
        `DEAD_LETTER_CONTAINER must be a valid blob container name (${CONTAINER_NAME_RULE})`,
      ),
  }),
  DEAD_LETTER_BLOB_SERVICE_URI: spec({
    required: 'no',
    description:
      'Blob endpoint for dead letters (https). Unset: the host storage (`AzureWebJobsStorage__blobServiceUri`, `__accountName`, then `AzureWebJobsStorage`).',
    schema: () => httpsUrl('DEAD_LETTER_BLOB_SERVICE_URI'),
  }),
  AzureWebJobsStorage__blobServiceUri: spec({
    required: 'no',
    description:
      "The Functions host storage's blob endpoint (identity-based); also where dead letters and `consume` checkpoints go unless told otherwise.",
    schema: () => text,
  }),
  AzureWebJobsStorage__tableServiceUri: spec({
    required: 'no',
    description:
      "The host storage's table endpoint (identity-based): where the lifecycle join keeps each capture operation's state.",
    schema: () => text,
  }),
  AzureWebJobsStorage__accountName: spec({
    required: 'no',
    description: 'The host storage account by name (identity-based), when no blob endpoint is given.',
    schema: () => text,
  }),
  AzureWebJobsStorage: spec({
    required: 'no',
    description:
      'Locally only: the host storage as a connection string (`UseDevelopmentStorage=true` for Azurite).',
    schema: () => text,
  }),
  OPERATION_STATE_TABLE: spec({
    required: 'no',
    default: 'packetcaptureoperations',
    description:
      'Table of the host storage that keeps what the Start and Accept records of a capture operation revealed, for its other records.',
    schema: () =>
      matching(
        /^[A-Za-z][A-Za-z0-9]{2,62}$/,
        'OPERATION_STATE_TABLE must be a valid table name (3-63 letters and digits, starting with a letter)',
      ),
  }),
  CAPTURE_HISTORY_TABLE: spec({
    required: 'no',
    default: 'packetcapturehistory',
    description:
      "Table of the host storage that keeps each principal's and caller IP's capture starts of the last 90 days, for the alert's runbook step 3 answer (`CallerPriorCaptures`). Without table storage: process memory.",
    schema: () =>
      matching(
        /^[A-Za-z][A-Za-z0-9]{2,62}$/,
        'CAPTURE_HISTORY_TABLE must be a valid table name (3-63 letters and digits, starting with a letter)',
      ),
  }),
  OPERATION_STATE_WINDOW_MINUTES: spec({
    required: 'no',
    default: 360,
    description:
      "How long a capture operation's records are joined: its Start, Accept and Success records arriving within it give one complete alert.",
    schema: () =>
      z.optional(
        z.coerce
          .number<string>()
          .check(
            z.refine(Number.isInteger, { error: 'OPERATION_STATE_WINDOW_MINUTES must be a whole number' }),
            z.minimum(5, 'OPERATION_STATE_WINDOW_MINUTES must be at least 5'),
            z.maximum(10_080, 'OPERATION_STATE_WINDOW_MINUTES must be at most 10080 (7 days)'),
          ),
      ),
  }),
  AZURE_STORAGE_CONNECTION_STRING: spec({
    required: 'no',
    description:
      '`scan` of a blob archive only: a storage connection string for the account the URL names (Azurite, or an account key where identities are not possible). Unset and no SAS in the URL: `DefaultAzureCredential` (needs Storage Blob Data Reader).',
    schema: () => text,
  }),
  ALLOWLIST_PATH: spec({
    required: 'no',
    description: `CSV allowlist of known, legitimate captures (README › Tuning): an alert a row matches is still written, with \`Suppressed\` = true and the row's reason and line, and raises no incident. Read and checked once at start-up: a bad row stops the start (\`CONFIG_INVALID\`, naming the line). A relative path is resolved against the function's package root (the deployment sets \`${SHIPPED_ALLOWLIST_FILE}\`, the repository's file, shipped in the package) or, for the CLI, the working directory; \`scan --allowlist\` overrides it. Unset: nothing is allowlisted.`,
    schema: () => text,
  }),
  PROTECTED_RESOURCE_IDS: spec({
    required: 'no',
    description:
      "Comma-separated resource, resource-group or subscription ids whose changes the integrity rules alert on (the deployment's own resource group and workspace; the Bicep sets them). Compared case-insensitively as prefixes on segment boundaries. Unset: only the subscription Activity Log export is watched.",
    schema: () =>
      z.optional(
        z.string().check(
          z.refine((v) => splitIds(v).every((id) => RESOURCE_ID.test(id)), {
            error:
              'PROTECTED_RESOURCE_IDS must be comma-separated Azure resource ids, each starting with /subscriptions/<id>',
          }),
        ),
      ),
  }),
  DELIVERY_TIME_BUDGET_SECONDS: spec({
    required: 'no',
    default: 240,
    description:
      "Time one invocation may spend retrying delivery before dead-lettering (below functionTimeout); for `scan`, the whole run's budget: once Logs Ingestion has failed for this long, the rest is dead-lettered at once.",
    schema: () =>
      z.optional(
        z.coerce
          .number<string>()
          .check(
            z.refine(Number.isInteger, { error: 'DELIVERY_TIME_BUDGET_SECONDS must be a whole number' }),
            z.minimum(1, 'DELIVERY_TIME_BUDGET_SECONDS must be at least 1'),
            z.maximum(3600, 'DELIVERY_TIME_BUDGET_SECONDS must be at most 3600'),
          ),
      ),
  }),
} as const;

type Table = typeof SETTINGS_TABLE;
export type SettingName = keyof Table;
type ValueOf<K extends SettingName> = Table[K] extends SettingSpec<infer T> ? T : never;
type Values = { readonly [K in SettingName]: ValueOf<K> | undefined };

/** The table as rows, in declaration order (README, infra tests). */
export interface SettingRow {
  readonly name: string;
  readonly required: RequiredWhen;
  readonly default?: string;
  readonly description: string;
}

export const SETTINGS: readonly SettingRow[] = Object.entries(SETTINGS_TABLE).map(
  ([name, s]: [string, SettingSpec<string | number>]) => ({
    name,
    required: s.required,
    ...(s.default === undefined ? {} : { default: String(s.default) }),
    description: s.description,
  }),
);

export interface LogsIngestionSettings {
  readonly endpoint: string;
  readonly ruleId: string;
  readonly streamName: string;
  /** The health rows' stream, in the same DCR. */
  readonly healthStreamName: string;
}

/** A storage service: an identity-based endpoint (blob or table), or a connection string (local/Azurite only). */
export type StorageEndpoint =
  | { readonly kind: 'serviceUri'; readonly serviceUri: string }
  | { readonly kind: 'connectionString'; readonly connectionString: string };

export interface Settings {
  /** Undefined: no Logs Ingestion configured, alerts go to stdout. */
  readonly logsIngestion: LogsIngestionSettings | undefined;
  readonly managedIdentityClientId: string | undefined;
  readonly eventHubName: string;
  readonly consumerGroup: string;
  readonly deadLetterContainer: string;
  /** The Functions host storage (`AzureWebJobsStorage…`), when configured. */
  readonly hostStorage: StorageEndpoint | undefined;
  /** `DEAD_LETTER_BLOB_SERVICE_URI`, else the host storage. */
  readonly deadLetterStorage: StorageEndpoint | undefined;
  /** The host storage's table service, for the lifecycle join's state; undefined: in memory only. */
  readonly operationStateStorage: StorageEndpoint | undefined;
  readonly operationStateTable: string;
  readonly operationWindowMs: number;
  /** The host storage's table (same service as the operation state) for each caller's capture history. */
  readonly captureHistoryTable: string;
  readonly deliveryTimeBudgetMs: number;
  /** `AZURE_STORAGE_CONNECTION_STRING`: credentials for the blob archive `scan` reads, when given. */
  readonly archiveConnectionString: string | undefined;
  /** The allowlist `ALLOWLIST_PATH` names, parsed; undefined when unset. */
  readonly allowlist: Allowlist | undefined;
  /** PROTECTED_RESOURCE_IDS, split (empty: nothing protected but the subscription export). */
  readonly protectedResourceIds: readonly string[];
  /** Length of a health window (ms). */
  readonly healthWindowMs: number;
}

export type SettingsPurpose = 'function' | 'cli';

export interface LoadOptions {
  /** What a relative `ALLOWLIST_PATH` is resolved against (the function: its package root); default the working directory. */
  readonly baseDir?: string;
}

function trimmed(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Parses every setting of the table; problems are named by setting. */
function parseValues(env: NodeJS.ProcessEnv): { values: Values; problems: string[]; issues: unknown[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const issues: unknown[] = [];
  for (const [name, s] of Object.entries(SETTINGS_TABLE) as [string, SettingSpec<unknown>][]) {
    const raw = trimmed(env, name);
    if (raw === undefined) {
      values[name] = s.default;
      continue;
    }
    const parsed = s.schema().safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data ?? s.default;
      continue;
    }
    issues.push(parsed.error);
    for (const issue of parsed.error.issues) {
      problems.push(issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`);
    }
  }
  return { values: values as Values, problems, issues };
}

/** A setting with a default, after parsing: never undefined. */
function withDefault<K extends SettingName>(values: Values, name: K): ValueOf<K> {
  const value = values[name] ?? (SETTINGS_TABLE[name] as SettingSpec<ValueOf<K>>).default;
  if (value === undefined) throw new Error(`setting ${name} has no default`);
  return value;
}

/** The host storage as the Functions host reads it: blob endpoint, then account name, then connection string. */
/** The host storage's table service, as the Functions host reads it. */
function resolveTableStorage(values: Values): StorageEndpoint | undefined {
  const serviceUri =
    values.AzureWebJobsStorage__tableServiceUri ??
    (values.AzureWebJobsStorage__accountName === undefined
      ? undefined
      : `https://${values.AzureWebJobsStorage__accountName}.table.core.windows.net`);
  if (serviceUri !== undefined) return { kind: 'serviceUri', serviceUri };
  const cs = values.AzureWebJobsStorage;
  // A connection string that names its endpoints but no table endpoint (a blob-only emulator) has no table.
  if (cs === undefined || (/(^|;)\s*BlobEndpoint=/i.test(cs) && !/(^|;)\s*TableEndpoint=/i.test(cs)))
    return undefined;
  return { kind: 'connectionString', connectionString: cs };
}

function resolveHostStorage(values: Values): StorageEndpoint | undefined {
  const serviceUri =
    values.AzureWebJobsStorage__blobServiceUri ??
    (values.AzureWebJobsStorage__accountName === undefined
      ? undefined
      : `https://${values.AzureWebJobsStorage__accountName}.blob.core.windows.net`);
  if (serviceUri !== undefined) return { kind: 'serviceUri', serviceUri };
  if (values.AzureWebJobsStorage !== undefined)
    return { kind: 'connectionString', connectionString: values.AzureWebJobsStorage };
  return undefined;
}

/**
 * Validates the environment, and reads the allowlist `ALLOWLIST_PATH` names. Throws one `CONFIG_INVALID`
 * error that names every problem (every bad allowlist line included), so a deployment is fixed in one round
 * trip rather than one setting at a time.
 */
export function loadSettings(
  env: NodeJS.ProcessEnv,
  purpose: SettingsPurpose,
  options: LoadOptions = {},
): Settings {
  const { values, problems, issues } = parseValues(env);
  // Presence rules are checked on the raw environment, so they are reported even when a value is malformed.
  const present = (name: string) => trimmed(env, name) !== undefined;
  const hasEndpoint = present('LOGS_INGESTION_ENDPOINT');
  const hasRuleId = present('LOGS_INGESTION_RULE_ID');
  if (hasRuleId && !hasEndpoint)
    problems.push('LOGS_INGESTION_ENDPOINT is required when LOGS_INGESTION_RULE_ID is set');
  if (hasEndpoint && !hasRuleId)
    problems.push('LOGS_INGESTION_RULE_ID is required when LOGS_INGESTION_ENDPOINT is set');
  if (purpose === 'function') {
    if (!present(`${EVENTHUB_CONNECTION}__fullyQualifiedNamespace`) && !present(EVENTHUB_CONNECTION)) {
      problems.push(
        `${EVENTHUB_CONNECTION}__fullyQualifiedNamespace (identity-based, in Azure) or ${EVENTHUB_CONNECTION} (connection string, locally) is required`,
      );
    }
    // Core Tools sets AZURE_FUNCTIONS_ENVIRONMENT=Development: locally alerts may go to stdout. In Azure a
    // missing destination is a deployment error, not a reason to write alerts where nobody looks.
    if (!hasEndpoint && !hasRuleId && env.AZURE_FUNCTIONS_ENVIRONMENT !== 'Development') {
      problems.push(
        'LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are required for the function in Azure (alerts go to stdout only when AZURE_FUNCTIONS_ENVIRONMENT=Development, as under func start)',
      );
    }
  }

  let allowlist: Allowlist | undefined;
  const allowlistPath = values.ALLOWLIST_PATH;
  if (allowlistPath !== undefined) {
    const path = isAbsolute(allowlistPath) ? allowlistPath : resolve(options.baseDir ?? '.', allowlistPath);
    try {
      allowlist = loadAllowlistFile(path);
    } catch (error) {
      issues.push(error);
      const message = error instanceof Error ? error.message : String(error);
      problems.push(`ALLOWLIST_PATH: ${message.replace(/\n- /g, '\n  - ')}`);
    }
  }

  if (problems.length > 0) {
    throw new DetectorError(
      'CONFIG_INVALID',
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
      issues.length === 0
        ? undefined
        : { cause: issues.length === 1 ? issues[0] : new AggregateError(issues) },
    );
  }

  const endpoint = values.LOGS_INGESTION_ENDPOINT;
  const ruleId = values.LOGS_INGESTION_RULE_ID;
  const hostStorage = resolveHostStorage(values);
  const deadLetterUri = values.DEAD_LETTER_BLOB_SERVICE_URI;
  return {
    logsIngestion:
      endpoint !== undefined && ruleId !== undefined
        ? {
            endpoint,
            ruleId,
            streamName: withDefault(values, 'LOGS_INGESTION_STREAM_NAME'),
            healthStreamName: withDefault(values, 'HEALTH_STREAM_NAME'),
          }
        : undefined,
    managedIdentityClientId: values.AZURE_CLIENT_ID,
    eventHubName: withDefault(values, 'EVENTHUB_NAME'),
    consumerGroup: withDefault(values, 'EVENTHUB_CONSUMER_GROUP'),
    deadLetterContainer: withDefault(values, 'DEAD_LETTER_CONTAINER'),
    hostStorage,
    deadLetterStorage:
      deadLetterUri === undefined ? hostStorage : { kind: 'serviceUri', serviceUri: deadLetterUri },
    deliveryTimeBudgetMs: withDefault(values, 'DELIVERY_TIME_BUDGET_SECONDS') * 1000,
    operationStateStorage: resolveTableStorage(values),
    operationStateTable: withDefault(values, 'OPERATION_STATE_TABLE'),
    operationWindowMs: withDefault(values, 'OPERATION_STATE_WINDOW_MINUTES') * 60_000,
    archiveConnectionString: values.AZURE_STORAGE_CONNECTION_STRING,
    captureHistoryTable: withDefault(values, 'CAPTURE_HISTORY_TABLE'),
    allowlist,
    protectedResourceIds: splitIds(values.PROTECTED_RESOURCE_IDS ?? ''),
    healthWindowMs: withDefault(values, 'HEALTH_WINDOW_MINUTES') * 60_000,
  };
}
