/*
 * Each caller's capture history in Azure Table Storage (the host storage account, through the managed identity;
 * Azurite's table service locally): one entity per principal or caller IP, keyed by its hash, holding the
 * bounded list of its capture starts as JSON and `ExpiresOn` (90 days after the last write) after which it is
 * swept. Writes are optimistic (ETag, retried after a jittered pause), so concurrent partitions and instances
 * lose no start; a key still contended after a few attempts fails, and triage leaves that row's answer unknown.
 */
import type { TableClient } from '@azure/data-tables' with { 'resolution-mode': 'import' };
import { setTimeout as sleep } from 'node:timers/promises';
import { exponentialDelayMs } from '../lib/backoff';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { once } from '../lib/once';
import { HISTORY_WINDOW_MS, type CaptureHistoryStore, type CaptureStart } from '../triage/history';
import { openStateTable, statusOf, sweepExpired, type TableStateStoreConfig } from './tableStore';

const MAX_ATTEMPTS = 8;
/** Between attempts after a conflict: jittered, so writers that collided do not collide again in step. */
const CONFLICT_DELAY_MS = { base: 10, max: 200 };
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

interface HistoryEntity {
  partitionKey: string;
  rowKey: string;
  Starts: string;
  ExpiresOn: Date;
  etag?: string;
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
  private lastSweep = 0;
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
    for (let attempt = 1; ; attempt++) {
      let existing: HistoryEntity | undefined;
      try {
        existing = await table.getEntity<HistoryEntity>(partitionKey, key);
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
      const before = parseStarts(existing?.Starts);
      const entity: HistoryEntity = {
        partitionKey,
        rowKey: key,
        Starts: JSON.stringify(change(before)),
        ExpiresOn: new Date(this.now() + HISTORY_WINDOW_MS),
      };
      try {
        if (existing === undefined) await table.createEntity(entity);
        else await table.updateEntity(entity, 'Replace', { etag: existing.etag ?? '*' });
        this.sweepSometimes(table);
        return before;
      } catch (error) {
        const status = statusOf(error);
        // 409: created meanwhile; 412: changed meanwhile. Read again and apply the change to the newer list.
        if ((status === 409 || status === 412) && attempt < MAX_ATTEMPTS) {
          await sleep(
            Math.random() * exponentialDelayMs(attempt, CONFLICT_DELAY_MS.base, CONFLICT_DELAY_MS.max),
          );
          continue;
        }
        throw new DetectorError(
          'DELIVERY_FAILED',
          `Could not store a caller's capture history in ${this.name}: ${errorText(error, 300)}`,
          { cause: error },
        );
      }
    }
  }

  private sweepSometimes(table: TableClient): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    sweepExpired(table, now);
  }
}
