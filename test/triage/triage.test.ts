import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Delivery } from '../../src/pipeline/ports';
import { runBatch } from '../../src/pipeline/runBatch';
import { MemoryOperationStateStore } from '../../src/state/memoryStore';
import { ALLOWLIST_COLUMNS, parseAllowlist } from '../../src/triage/allowlist';
import { MemoryMalformedStore, MemorySink, memoryLogger } from '../support/memoryDelivery';

/**
 * The allowlist is the batch runner's last step, over every row it emits: an alert and the completing row
 * that follows when its operation's Start and Accept records arrive in a later batch are suppressed alike.
 */
const records = (
  JSON.parse(
    readFileSync(
      join(__dirname, '../fixtures/activity-log/export/network-watcher-vmss-cross-sub.eventhub.json'),
      'utf8',
    ),
  ) as { records: { resultType: string }[] }
).records;
const success = records.filter((r) => r.resultType === 'Success');
const startAndAccept = records.filter((r) => r.resultType !== 'Success');
const body = (rs: readonly unknown[]) => JSON.stringify({ records: rs });
const csv = (row: string) => parseAllowlist(`${ALLOWLIST_COLUMNS.join(',')}\n${row}\n`, 'allowlist.csv');

async function run(allowlist: ReturnType<typeof csv> | undefined, now: Date) {
  const sink = new MemorySink();
  const delivery: Delivery = {
    sink,
    malformedStore: new MemoryMalformedStore(),
    operationState: new MemoryOperationStateStore(),
    operationWindowMs: 6 * 3600_000,
    ...(allowlist ? { allowlist } : {}),
  };
  const outcomes = [];
  for (const batch of [success, startAndAccept]) {
    outcomes.push(
      await runBatch([body(batch)], [], { source: 'eventhub' }, delivery, memoryLogger(), { now: () => now }),
    );
  }
  return { rows: sink.alerts, outcomes };
}

describe('triage in the batch runner', () => {
  const now = new Date('2026-03-01T00:00:00Z');

  it('suppresses the alert and its completing row alike, with the reason and line, keeping both', async () => {
    const { rows, outcomes } = await run(
      csv(
        'CAROL.NETENG@contoso.example,2001:db8::/32,00000000-1111-4111-8111-00000000000a,,NetworkWatcher,Capacity tests (CHG-77),2026-03-31',
      ),
      now,
    );
    expect(rows.map((r) => [r.AlertRevision, r.Severity, r.Suppressed, r.SuppressionReason])).toEqual([
      [1, 'Medium', true, 'Allowlisted by allowlist.csv line 2: Capacity tests (CHG-77) (until 2026-03-31)'],
      [3, 'High', true, 'Allowlisted by allowlist.csv line 2: Capacity tests (CHG-77) (until 2026-03-31)'],
    ]);
    expect(new Set(rows.map((r) => r.AlertId)).size).toBe(1);
    expect(outcomes.map((o) => o.allowlisted)).toEqual([1, 1]);
  });

  it("matches ResourceGroup against the captured VM's group once a record names the VM", async () => {
    // The Success record alone names only the watcher's packet capture; the Start record names the scale set.
    const { rows } = await run(csv(',,,rg-api-prod,,API load tests,'), now);
    expect(rows.map((r) => [r.AlertRevision, r.Suppressed])).toEqual([
      [1, false],
      [3, true],
    ]);
    expect(rows[1]!.CaptureTarget).toMatch(/\/resourceGroups\/rg-api-prod\//i);
    expect(rows[0]!.ResourceGroup).not.toMatch(/^rg-api-prod$/i);
  });

  it('applies no expired row, and nothing without an allowlist', async () => {
    const expired = await run(csv('carol.neteng@contoso.example,,,,,Old change,2026-02-28'), now);
    const none = await run(undefined, now);
    for (const { rows, outcomes } of [expired, none]) {
      expect(rows.map((r) => [r.AlertRevision, r.Suppressed, r.SuppressionReason])).toEqual([
        [1, false, ''],
        [3, false, ''],
      ]);
      expect(outcomes.map((o) => o.allowlisted)).toEqual([0, 0]);
    }
  });
});
