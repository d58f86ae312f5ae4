import { TableClient } from '@azure/data-tables';
import { TableCaptureHistoryStore } from '../../src/state/historyTableStore';
import { TableOperationStateStore } from '../../src/state/tableStore';
import { HISTORY_WINDOW_MS, nextStarts, type CaptureStart } from '../../src/triage/history';
import type { OperationState } from '../../src/pipeline/ports';
import { startAzuriteTables, type AzuriteTablesInstance } from '../support/azurite';

/**
 * The two state tables of the host storage, against Azurite's table service through the real
 * @azure/data-tables client: the lifecycle join's operation state and each caller's capture history.
 */
describe('Table Storage state stores (Azurite)', () => {
  let azurite: AzuriteTablesInstance;

  beforeAll(async () => {
    azurite = await startAzuriteTables();
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
  });

  const storage = () => ({ kind: 'connectionString' as const, connectionString: azurite.connectionString });

  it('caller history: creates its table, returns what was stored before each change, expires in 90 days', async () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const store = new TableCaptureHistoryStore({ storage: storage(), table: 'historya', now: () => now });
    const add = (start: CaptureStart) => (current: readonly CaptureStart[]) =>
      nextStarts(current, { add: start }, now);
    expect(await store.update('k1', add({ op: 'a', at: now - 1000 }))).toEqual([]);
    expect(await store.update('k1', add({ op: 'b', at: now }))).toEqual([{ op: 'a', at: now - 1000 }]);
    expect(await store.update('k2', add({ op: 'c', at: now }))).toEqual([]);
    const entity = await TableClient.fromConnectionString(azurite.connectionString, 'historya', {
      allowInsecureConnection: true,
    }).getEntity<{ ExpiresOn: Date; Starts: string }>('hk1', 'k1');
    expect(new Date(entity.ExpiresOn).getTime()).toBe(now + HISTORY_WINDOW_MS);
    expect(JSON.parse(entity.Starts)).toEqual([
      { op: 'b', at: now },
      { op: 'a', at: now - 1000 },
    ]);
  });

  it('caller history: concurrent writers of one key lose no start (ETag retries)', async () => {
    // Four partitions (instances) recording the same caller at once, each its captures in order.
    const now = Date.now();
    const stores = [0, 1, 2, 3].map(
      () => new TableCaptureHistoryStore({ storage: storage(), table: 'historyb' }),
    );
    await Promise.all(
      stores.map(async (store, s) => {
        for (let i = 0; i < 3; i++) {
          const op = `p${s}op${i}`;
          await store.update('shared', (current) =>
            nextStarts(current, { add: { op, at: now - s * 10 - i } }, now),
          );
        }
      }),
    );
    const after = await stores[0]!.update('shared', (current) => current);
    expect(after.map((s) => s.op).sort()).toEqual(
      [0, 1, 2, 3].flatMap((s) => [0, 1, 2].map((i) => `p${s}op${i}`)).sort(),
    );
  });

  it('caller history: a stored list that is not a list of starts reads as empty, never throws', async () => {
    const client = TableClient.fromConnectionString(azurite.connectionString, 'historyc', {
      allowInsecureConnection: true,
    });
    await client.createTable();
    await client.createEntity({
      partitionKey: 'hbad',
      rowKey: 'bad',
      Starts: '{"not":"a list"}',
      ExpiresOn: new Date(),
    });
    const store = new TableCaptureHistoryStore({ storage: storage(), table: 'historyc' });
    expect(await store.update('bad', () => [{ op: 'x', at: 1 }])).toEqual([]);
    expect(await store.update('bad', (c) => c)).toEqual([{ op: 'x', at: 1 }]);
  });

  it('operation state: read-modify-write with the state before and after', async () => {
    const store = new TableOperationStateStore({ storage: storage(), table: 'operations' });
    const state = (phases: OperationState['phases']): OperationState => ({
      ruleId: 'r',
      details: {},
      phases,
      expiresAt: Date.now() + 60_000,
    });
    const first = await store.update('op1', () => state(['start']));
    expect(first.before).toBeUndefined();
    const second = await store.update('op1', (current) => state([...(current?.phases ?? []), 'success']));
    expect(second.before?.phases).toEqual(['start']);
    expect(second.after.phases).toEqual(['start', 'success']);
  });

  it('fails with a stated error when the table service is gone', async () => {
    const gone = await startAzuriteTables();
    const store = new TableCaptureHistoryStore({
      storage: { kind: 'connectionString', connectionString: gone.connectionString },
      table: 'historyd',
      clientOptions: { retryOptions: { maxRetries: 0 } },
    });
    await gone.stop();
    await expect(store.update('k', (c) => c)).rejects.toThrow();
  }, 60_000);
});
