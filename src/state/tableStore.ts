/*
 * The operation state in Azure Table Storage (the host storage account, through the managed identity;
 * Azurite's table service locally). One entity per operation: PartitionKey a prefix of the operation id
 * (spreading load), RowKey the id, the state as bounded JSON, and `ExpiresOn` after which it is ignored and
 * swept. Writes are optimistic (ETag): a concurrent update from another partition or instance makes the
 * change run again on the newer state, so neither writer's records are lost.
 */
import type { TokenCredential } from '@azure/identity';
// The types of the ESM build: that is what `await import()` loads at run time from the compiled CommonJS.
import type { TableClient, TableServiceClientOptions } from '@azure/data-tables' with {
  'resolution-mode': 'import',
};
import type { StorageEndpoint } from '../config/settings';
import { setTimeout as sleep } from 'node:timers/promises';
import { exponentialDelayMs } from '../lib/backoff';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { once } from '../lib/once';
import type { OperationState, OperationStateStore } from '../pipeline/ports';

export interface TableStateStoreConfig {
  readonly storage: StorageEndpoint;
  readonly table: string;
  readonly credential?: () => Promise<TokenCredential>;
  readonly clientOptions?: TableServiceClientOptions;
  readonly now?: () => number;
}

/** Attempts of one read-modify-write before giving up (concurrent writers of one operation are rare). */
const MAX_ATTEMPTS = 6;
/** Table Storage keeps a string property up to 64 KiB (32 K UTF-16 characters). */
const MAX_STATE_CHARS = 30_000;
/** Between sweeps of expired entities, per process. */
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const SWEEP_MAX = 200;

/** The SDK's retries for one call: a few quick tries, so an outage fails fast and the batch goes on. */
const DEFAULT_TABLE_RETRY = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 };

interface StateEntity extends StateTableEntity {
  State: string;
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The state as stored: bounded, dropping the pending event's properties first when it is too large. */
export function serializeState(state: OperationState): string {
  const text = JSON.stringify(state);
  if (text.length <= MAX_STATE_CHARS) return text;
  const slim: OperationState = {
    ...state,
    ...(state.pending ? { pending: { ...state.pending, properties: undefined } } : {}),
  };
  const slimText = JSON.stringify(slim);
  if (slimText.length <= MAX_STATE_CHARS) return slimText;
  // Details are bounded per value and in number; a state this large can only be hostile input.
  return JSON.stringify({ ...slim, details: {} });
}

function parseState(text: string): OperationState | undefined {
  try {
    const parsed = JSON.parse(text) as OperationState;
    return typeof parsed === 'object' && typeof parsed.expiresAt === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export class TableOperationStateStore implements OperationStateStore {
  readonly name: string;
  private readonly sweeper = new Sweeper(() => this.now());
  private readonly client = once(() => this.openTable());

  constructor(private readonly config: TableStateStoreConfig) {
    if (config.storage.kind === 'serviceUri' && !config.credential) {
      throw new DetectorError('CONFIG_INVALID', 'An identity-based operation state table needs a credential');
    }
    this.name = `table ${config.table}`;
  }

  private now(): number {
    return this.config.now?.() ?? Date.now();
  }

  private openTable(): Promise<TableClient> {
    return openStateTable(this.config);
  }

  async update(
    id: string,
    change: (current: OperationState | undefined) => OperationState,
  ): Promise<{ before: OperationState | undefined; after: OperationState }> {
    const table = await this.client();
    const partitionKey = `op${id.slice(0, 2)}`;
    const result = await readModifyWrite<
      StateEntity,
      { before: OperationState | undefined; after: OperationState }
    >(
      table,
      partitionKey,
      id,
      (existing) => {
        const before = existing === undefined ? undefined : parseState(existing.State);
        const after = change(before);
        return {
          entity: {
            partitionKey,
            rowKey: id,
            State: serializeState(after),
            ExpiresOn: new Date(after.expiresAt),
          },
          result: { before, after },
        };
      },
      { maxAttempts: MAX_ATTEMPTS, what: `the state of an operation in ${this.name}` },
    );
    this.sweeper.maybe(table);
    return result;
  }
}

/**
 * A state table of the host storage (identity-based endpoint, or a connection string locally), created when
 * missing. Shared by the operation state and the caller history.
 */
export async function openStateTable(config: TableStateStoreConfig): Promise<TableClient> {
  const { TableClient } = await import('@azure/data-tables');
  const options: TableServiceClientOptions = {
    retryOptions: DEFAULT_TABLE_RETRY,
    ...config.clientOptions,
  };
  const { storage, table } = config;
  let client: TableClient;
  if (storage.kind === 'connectionString') {
    client = TableClient.fromConnectionString(storage.connectionString, table, {
      ...options,
      allowInsecureConnection: /127\.0\.0\.1|localhost|UseDevelopmentStorage=true/i.test(
        storage.connectionString,
      ),
    });
  } else {
    if (!config.credential) throw new DetectorError('CONFIG_INVALID', 'missing credential');
    client = new TableClient(storage.serviceUri, table, await config.credential(), options);
  }
  try {
    await client.createTable();
  } catch (error) {
    // A role without table creation (or a table made by the deployment) is fine: the writes will say.
    if (statusOf(error) !== 409 && statusOf(error) !== 403) throw error;
  }
  return client;
}

/** Deletes up to a few hundred entities whose ExpiresOn has passed, in the background; failures are ignored. */
export function sweepExpired(table: TableClient, nowMs: number): void {
  void (async () => {
    let deleted = 0;
    const expired = table.listEntities<StateEntity>({
      queryOptions: {
        filter: `ExpiresOn lt datetime'${new Date(nowMs).toISOString()}'`,
        select: ['PartitionKey', 'RowKey'],
      },
    });
    for await (const e of expired) {
      if (deleted++ >= SWEEP_MAX) break;
      await table.deleteEntity(e.partitionKey, e.rowKey).catch(() => undefined);
    }
  })().catch(() => undefined);
}

/** What every state table's entity has: its keys, when it may be swept, and the ETag it was read with. */
export interface StateTableEntity {
  partitionKey: string;
  rowKey: string;
  ExpiresOn: Date;
  etag?: string;
}

/** Between attempts after a conflict: jittered, so writers that collided do not collide again in step. */
const CONFLICT_DELAY_MS = { base: 10, max: 200 };

/**
 * One entity read, changed and written with optimistic concurrency: created when absent, replaced only if
 * unchanged since it was read (ETag). On a conflict (409: created meanwhile; 412: changed meanwhile) it is
 * read again after a short random pause and the change applied to the newer entity. `what` names the
 * entity in the error when the attempts run out or the store fails.
 */
export async function readModifyWrite<E extends StateTableEntity, R>(
  table: TableClient,
  partitionKey: string,
  rowKey: string,
  change: (existing: E | undefined) => { readonly entity: E; readonly result: R },
  options: { readonly maxAttempts: number; readonly what: string },
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    let existing: E | undefined;
    try {
      existing = await table.getEntity<E>(partitionKey, rowKey);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    const { entity, result } = change(existing);
    try {
      if (existing === undefined) await table.createEntity(entity);
      else await table.updateEntity(entity, 'Replace', { etag: existing.etag ?? '*' });
      return result;
    } catch (error) {
      const status = statusOf(error);
      if ((status === 409 || status === 412) && attempt < options.maxAttempts) {
        await sleep(
          Math.random() * exponentialDelayMs(attempt, CONFLICT_DELAY_MS.base, CONFLICT_DELAY_MS.max),
        );
        continue;
      }
      throw new DetectorError(
        'DELIVERY_FAILED',
        `Could not store ${options.what}: ${errorText(error, 300)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/** Sweeps a table's expired entities at most once per `SWEEP_INTERVAL_MS` (Table Storage has no time to live). */
export class Sweeper {
  private last = 0;

  constructor(private readonly now: () => number) {}

  maybe(table: TableClient): void {
    const now = this.now();
    if (now - this.last < SWEEP_INTERVAL_MS) return;
    this.last = now;
    sweepExpired(table, now);
  }
}
