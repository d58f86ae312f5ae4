import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Delivery, OperationState } from '../../src/pipeline/ports';
import { runBatch } from '../../src/pipeline/runBatch';
import { serializeState, TableOperationStateStore } from '../../src/state/tableStore';
import { startAzuriteTables, type AzuriteTablesInstance } from '../support/azurite';
import { MemoryMalformedStore, MemorySink, memoryLogger } from '../support/memoryDelivery';

/** The lifecycle join's state in a real table service (Azurite), as the Function and consume keep it. */
let azurite: AzuriteTablesInstance;

beforeAll(async () => {
  azurite = await startAzuriteTables();
}, 60_000);

afterAll(async () => {
  await azurite.stop();
});

let tables = 0;
function store(table = `ops${Date.now()}${tables++}`): TableOperationStateStore {
  return new TableOperationStateStore({
    storage: { kind: 'connectionString', connectionString: azurite.connectionString },
    table,
  });
}

const state = (phases: OperationState['phases'], expiresAt = Date.now() + 60_000): OperationState => ({
  ruleId: 'r',
  details: {},
  phases,
  expiresAt,
});

describe('TableOperationStateStore on Azurite', () => {
  it('creates, reads back and replaces the state of an operation', async () => {
    const s = store();
    const first = await s.update('abc', (current) => {
      expect(current).toBeUndefined();
      return state(['start']);
    });
    expect(first.before).toBeUndefined();
    const second = await s.update('abc', (current) => state([...(current?.phases ?? []), 'success']));
    expect(second.before?.phases).toEqual(['start']);
    expect(second.after.phases).toEqual(['start', 'success']);
  });

  it('loses no writer when two instances update one operation at once (ETag concurrency)', async () => {
    const table = `race${Date.now()}`;
    const a = store(table);
    const b = store(table);
    await a.update('op', () => state([]));
    const add = (phase: 'start' | 'accept' | 'success') => (current: OperationState | undefined) =>
      state([...new Set([...(current?.phases ?? []), phase])].sort());
    await Promise.all([
      a.update('op', add('start')),
      b.update('op', add('accept')),
      a.update('op', add('success')),
      b.update('op', add('start')),
    ]);
    const final = await a.update('op', (current) => current ?? state([]));
    expect(final.after.phases).toEqual(['accept', 'start', 'success']);
  });

  it('keeps the stored state bounded, dropping the pending event first', () => {
    const big: OperationState = {
      ...state(['success']),
      pending: { properties: { blob: 'x'.repeat(100_000) } } as unknown as OperationState['pending'],
    };
    const text = serializeState(big);
    expect(text.length).toBeLessThan(32_000);
    expect((JSON.parse(text) as OperationState).phases).toEqual(['success']);
  });
});

describe('the join through the table, across invocations', () => {
  const records = (
    JSON.parse(
      readFileSync(
        join(__dirname, '../fixtures/activity-log/export/network-watcher-vm.eventhub.json'),
        'utf8',
      ),
    ) as { records: unknown[] }
  ).records;

  function delivery(sink: MemorySink, s: TableOperationStateStore): Delivery {
    return {
      sink,
      malformedStore: new MemoryMalformedStore(),
      operationState: s,
      operationWindowMs: 3_600_000,
    };
  }

  it('writes the alert from the Success at once and a completing row when the Start arrives later', async () => {
    const sink = new MemorySink();
    const shared = `join${Date.now()}`;
    // Two instances (two store clients), as two partitions on two Function instances would be.
    await runBatch(
      [JSON.stringify({ records: [records[2]] })],
      [],
      { source: 'eventhub' },
      delivery(sink, store(shared)),
      memoryLogger(),
    );
    const outcome = await runBatch(
      [JSON.stringify({ records: [records[0], records[1]] })],
      [],
      { source: 'eventhub' },
      delivery(sink, store(shared)),
      memoryLogger(),
    );
    expect(outcome).toMatchObject({ completing: 1, joined: 1 });
    expect(sink.alerts.map((a) => [a.AlertRevision, a.OperationRecords, a.CaptureStorage === ''])).toEqual([
      [1, 'Success', true],
      [3, 'Start, Accept, Success', false],
    ]);
    expect(new Set(sink.alerts.map((a) => a.AlertId)).size).toBe(1);
  });

  it('still delivers every alert, with its batch details, when the table service is down', async () => {
    const down = new TableOperationStateStore({
      storage: {
        kind: 'connectionString',
        connectionString: azurite.connectionString.replace(/:\d+\//, ':1/'),
      },
      table: 'unreachable',
    });
    const sink = new MemorySink();
    const logger = memoryLogger();
    await runBatch([JSON.stringify({ records })], [], { source: 'eventhub' }, delivery(sink, down), logger);
    expect(sink.alerts).toHaveLength(1);
    expect(sink.alerts[0]).toMatchObject({ AlertRevision: 3, OperationRecords: 'Start, Accept, Success' });
    expect(logger.entries.find((e) => e.message.startsWith('operation state unavailable'))).toBeDefined();
    expect(JSON.stringify(logger.entries)).not.toMatch(/AccountKey=[A-Za-z0-9+/]{10}/);
  });
});
