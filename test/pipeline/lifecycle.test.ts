import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlertRow } from '../../src/alert/columns';
import type { Delivery } from '../../src/pipeline/ports';
import { runBatch } from '../../src/pipeline/runBatch';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { MemoryOperationStateStore } from '../../src/state/memoryStore';
import { MemoryMalformedStore, MemorySink, memoryLogger } from '../support/memoryDelivery';

/**
 * One capture is three records (Start, Accept, Success) sharing a correlation id. Whatever order they come
 * in, and however they are split across batches, the alert's final state (its row with the highest
 * AlertRevision) must be what the three records together say, under one AlertId.
 */
const root = join(__dirname, '../fixtures/activity-log');
function load(shape: string, suffix: string) {
  return readdirSync(join(root, shape))
    .filter((f) => f.endsWith(suffix))
    .map((f) => {
      const json = JSON.parse(readFileSync(join(root, shape, f), 'utf8')) as
        { records: Record<string, unknown>[] } | Record<string, unknown>[];
      return { name: f.replace(suffix, ''), shape, records: Array.isArray(json) ? json : json.records };
    });
}
const FIXTURES = load('export', '.eventhub.json');
const ALL_SHAPES = [...FIXTURES, ...load('rest', '.az-cli.json'), ...load('azure-activity', '.rows.json')];
const NOT_STARTS = [
  'azure-firewall-status',
  'azure-firewall-stop',
  'virtual-network-gateway-stop',
  'vpn-connection-stop',
];

const body = (records: readonly unknown[]): string => JSON.stringify({ records });

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** Every way to cut an ordered list into consecutive batches. */
function splits<T>(items: readonly T[]): T[][][] {
  if (items.length === 0) return [[]];
  const out: T[][][] = [];
  for (let cut = 1; cut <= items.length; cut++) {
    for (const rest of splits(items.slice(cut))) out.push([items.slice(0, cut), ...rest]);
  }
  return out;
}

/** The alert's current state: per AlertId, the row with the highest revision (ties: the later). */
function finalRows(rows: readonly AlertRow[]): Map<string, AlertRow> {
  const byId = new Map<string, AlertRow>();
  for (const row of rows) {
    const current = byId.get(row.AlertId);
    if (!current || row.AlertRevision >= current.AlertRevision) byId.set(row.AlertId, row);
  }
  return byId;
}

async function deliverInBatches(batches: readonly (readonly unknown[])[]): Promise<AlertRow[]> {
  const sink = new MemorySink();
  const delivery: Delivery = {
    sink,
    malformedStore: new MemoryMalformedStore(),
    operationState: new MemoryOperationStateStore(),
    operationWindowMs: 60 * 60 * 1000,
  };
  for (const batch of batches) {
    // Each record in a message of its own: the join must not depend on message boundaries either.
    await runBatch(
      batch.map((r) => body([r])),
      [],
      { source: 'eventhub' },
      delivery,
      memoryLogger(),
    );
  }
  return sink.alerts;
}

const comparable = (row: AlertRow) => ({
  AlertId: row.AlertId,
  CaptureKind: row.CaptureKind,
  CaptureTarget: row.CaptureTarget,
  CaptureStorage: row.CaptureStorage,
  // A destination learned from a later record can raise the severity: the final row says so whatever the order.
  Severity: row.Severity,
  SeverityReason: row.SeverityReason,
  Location: row.Location,
  Caller: row.Caller,
  CallerKind: row.CallerKind,
  OperationRecords: row.OperationRecords,
  AlertRevision: row.AlertRevision,
  Suppressed: row.Suppressed,
  capture_details: row.Context.capture_details,
});

describe.each(ALL_SHAPES.map((f) => [`${f.shape} ${f.name}`, f.name, f.records] as const))(
  '%s',
  (_label, name, records) => {
    const complete = detectBatch([body(records)], () => ({})).alerts;

    it(
      NOT_STARTS.includes(name)
        ? 'never alerts'
        : 'alerts once, with the details of all three records, in one batch',
      () => {
        if (NOT_STARTS.includes(name)) {
          expect(complete).toEqual([]);
          return;
        }
        expect(complete).toHaveLength(1);
        expect(complete[0]).toMatchObject({ OperationRecords: 'Start, Accept, Success', AlertRevision: 3 });
      },
    );

    it('gives the same final alert in every order and every split across batches', async () => {
      let cases = 0;
      for (const order of permutations(records)) {
        for (const batches of splits(order)) {
          const rows = await deliverInBatches(batches);
          const final = [...finalRows(rows).values()].filter((r) => !r.Suppressed);
          expect({
            order: order.map((r) => r.resultType),
            batches: batches.length,
            alerts: final.map(comparable),
          }).toEqual({
            order: order.map((r) => r.resultType),
            batches: batches.length,
            alerts: complete.map(comparable),
          });
          // Never a second AlertId for the operation, whatever was learned when.
          expect(new Set(rows.map((r) => r.AlertId)).size).toBeLessThanOrEqual(1);
          cases++;
        }
      }
      expect(cases).toBe(6 * 4);
    });
  },
);

describe('completing rows', () => {
  const nw = FIXTURES.find((f) => f.name === 'network-watcher-vm')!.records;
  const [start, accept, success] = nw as [
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, unknown>,
  ];

  it('writes the alert at once and completes it when the Start record arrives later', async () => {
    const rows = await deliverInBatches([[success], [accept], [start]]);
    expect(rows.map((r) => [r.AlertRevision, r.OperationRecords, r.CaptureStorage !== ''])).toEqual([
      [1, 'Success', false],
      [2, 'Accept, Success', true],
      [3, 'Start, Accept, Success', true],
    ]);
    expect(new Set(rows.map((r) => r.AlertId)).size).toBe(1);
  });

  it('writes no completing row when a later record tells nothing new', async () => {
    const rows = await deliverInBatches([[start, accept], [success], [start]]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.AlertRevision).toBe(3);
  });

  it('withdraws a firewall alert written before its Start record showed a Status poll', async () => {
    const status = FIXTURES.find((f) => f.name === 'azure-firewall-status')!.records;
    const statusSuccess = status[2]!;
    const rows = await deliverInBatches([[statusSuccess], [status[0]!]]);
    expect(rows.map((r) => [r.AlertRevision, r.Suppressed])).toEqual([
      [1, false],
      [10, true],
    ]);
    expect(rows[1]!.SuppressionReason).toMatch(/Status \(a poll\)/);
    expect(rows[1]!.AlertId).toBe(rows[0]!.AlertId);
  });

  it('says a firewall operation whose bodies were never seen is unknown, and alerts', async () => {
    const noBody = FIXTURES.find((f) => f.name === 'azure-firewall-no-body')!.records;
    const rows = await deliverInBatches([[noBody[2]!]]);
    expect(rows).toHaveLength(1);
    expect((rows[0]!.Context.capture_details as Record<string, string>).requestedOperation).toMatch(
      /^unknown/,
    );
  });

  it('keeps no SAS signature in any row', async () => {
    for (const f of FIXTURES) {
      const rows = await deliverInBatches([[f.records[2]], [f.records[1]], [f.records[0]]]);
      expect(JSON.stringify(rows)).not.toMatch(/sig=|FAKEsig/);
    }
  });
});
