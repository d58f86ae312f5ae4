/*
 * Each caller's capture history in Azure Table Storage (the host storage account, through the managed identity;
 * Azurite's table service locally): one entity per principal or caller IP, keyed by its hash, holding the
 * bounded list of its capture starts as JSON and `ExpiresOn` (90 days after the last write) after which it is
 * swept. Writes are optimistic (ETag, retried after a jittered pause), so concurrent partitions and instances
 * lose no start; a key still contended after a few attempts fails, and triage leaves that row's answer unknown.
 */
import { DetectorError } from '../lib/errors';
import { once } from '../lib/once';
import { HISTORY_WINDOW_MS, type CaptureHistoryStore, type CaptureStart } from '../triage/history';
import {
  openStateTable,
  readModifyWrite,
  Sweeper,
  type StateTableEntity,
  type TableStateStoreConfig,
} from './tableStore';

const MAX_ATTEMPTS = 8;

interface HistoryEntity extends StateTableEntity {
  Starts: string;
}

function parseStarts(text: string | undefined): CaptureStart[] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (s): s is CaptureStart =>
        typeof s === 'object' &&
        s !== null &&
        typeof (s as CaptureStart).op === 'string' &&
        typeof (s as CaptureStart).at === 'number',
    );
  } catch {
    return [];
  }
}

export class TableCaptureHistoryStore implements CaptureHistoryStore {
  readonly name: string;
  private readonly sweeper = new Sweeper(() => this.now());
  private readonly client = once(() => openStateTable(this.config));

  constructor(private readonly config: TableStateStoreConfig) {
    if (config.storage.kind === 'serviceUri' && !config.credential) {
      throw new DetectorError('CONFIG_INVALID', 'An identity-based caller history table needs a credential');
    }
    this.name = `table ${config.table}`;
  }

  private now(): number {
    return this.config.now?.() ?? Date.now();
  }

  async update(
    key: string,
    change: (current: readonly CaptureStart[]) => readonly CaptureStart[],
  ): Promise<readonly CaptureStart[]> {
    const table = await this.client();
    const partitionKey = `h${key.slice(0, 2)}`;
    const before = await readModifyWrite<HistoryEntity, readonly CaptureStart[]>(
      table,
      partitionKey,
      key,
      (existing) => {
        const starts = parseStarts(existing?.Starts);
        return {
          entity: {
            partitionKey,
            rowKey: key,
            Starts: JSON.stringify(change(starts)),
            ExpiresOn: new Date(this.now() + HISTORY_WINDOW_MS),
          },
          result: starts,
        };
      },
      { maxAttempts: MAX_ATTEMPTS, what: `a caller's capture history in ${this.name}` },
    );
    this.sweeper.maybe(table);
    return before;
  }
}
