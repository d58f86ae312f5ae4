import type { AlertRow } from '../src/alert/columns';
import type {
  AlertSink,
  BatchInfo,
  BatchOutcome,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MalformedStore,
  MessageMeta,
  OperationState,
  OperationStateStore,
} from '../src/pipeline/ports';
import type { RuleContext } from '../src/detect/types';
import type { HealthRow } from '../src/health/columns';
import { HealthMonitor, type HealthSink, type HealthWriteResult } from '../src/pipeline/health';
import { runBatch } from '../src/pipeline/runBatch';
import { MemoryOperationStateStore } from '../src/state/memoryStore';

/** The handler's destination, kept in memory: the benchmark measures detection, not the network. */
export class MemorySink implements AlertSink {
  readonly name = 'memory';
  alerts = 0;
  deliver(alerts: readonly AlertRow[], _batch: BatchInfo): Promise<DeliveryReport> {
    this.alerts += alerts.length;
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
}

export class MemoryMalformedStore implements MalformedStore {
  readonly name = 'memory';
  kept = 0;
  keep(messages: readonly MalformedMessage[], _batch: BatchInfo): Promise<void> {
    this.kept += messages.length;
    return Promise.resolve();
  }
}

/**
 * The protected scope a default deployment runs with (main.bicep sets PROTECTED_RESOURCE_IDS to its
 * resource group and its workspace): the integrity rules' needles come from these ids. The corpus has no
 * record in that group, as a busy tenant's stream has almost none.
 */
export const BENCH_CONTEXT: RuleContext = {
  protectedResourceIds: [
    '/subscriptions/7f3c2a10-5b7e-4c1d-9a0e-2f6b8d4c1e35/resourceGroups/rg-pcd-prod',
    '/subscriptions/7f3c2a10-5b7e-4c1d-9a0e-2f6b8d4c1e35/resourceGroups/rg-pcd-prod/providers/Microsoft.OperationalInsights/workspaces/log-pcd-k3j2h4g5f6d7s',
  ],
};

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface TriggerBatch {
  readonly messages: Buffer[];
  readonly metas: MessageMeta[];
  readonly info: BatchInfo;
}

/** Bodies cut into trigger batches with the metadata the Event Hubs trigger hands over. */
export function triggerBatches(bodies: readonly Buffer[], batchSize: number): TriggerBatch[] {
  const batches: TriggerBatch[] = [];
  let offset = 0;
  for (let start = 0; start < bodies.length; start += batchSize) {
    const messages = bodies.slice(start, start + batchSize);
    const metas: MessageMeta[] = messages.map((m, i) => {
      const meta = {
        partitionId: '0',
        offset: String(offset),
        sequenceNumber: start + i,
        enqueuedTimeUtc: '2025-12-22T10:31:00.123',
      };
      offset += m.length;
      return meta;
    });
    batches.push({
      messages,
      metas,
      info: {
        source: 'eventhub',
        invocationId: `bench-${start}`,
        partitionId: '0',
        firstSequenceNumber: start,
        lastSequenceNumber: start + messages.length - 1,
      },
    });
  }
  return batches;
}

/**
 * The lifecycle join's store in memory, counting its updates: each update is one read and one write of a
 * table entity in Azure (two calls; a third when another writer got in between).
 */
export class CountingStateStore implements OperationStateStore {
  readonly name = 'counting memory';
  updates = 0;
  private readonly inner = new MemoryOperationStateStore();
  update(
    id: string,
    change: (current: OperationState | undefined) => OperationState,
  ): Promise<{ before: OperationState | undefined; after: OperationState }> {
    this.updates++;
    return this.inner.update(id, change);
  }
}

/** Health rows kept in memory (the bench times the count and the windows, not the network). */
export class MemoryHealthSink implements HealthSink {
  readonly name = 'memory';
  rows = 0;
  write(rows: readonly HealthRow[]): Promise<HealthWriteResult> {
    this.rows += rows.length;
    return Promise.resolve({ failed: [] });
  }
}

/** A monitor as the Function makes one (5-minute windows). */
export function benchHealth(): HealthMonitor {
  return new HealthMonitor(new MemoryHealthSink(), 5 * 60_000, {
    source: 'function',
    eventHubName: 'insights-activity-logs',
    consumerGroup: 'packet-capture-detector',
  });
}

/**
 * The full handler path over every batch, the lifecycle join included; returns the summed outcome. With
 * `health`, as the Function runs.
 */
export async function runHandler(
  batches: readonly TriggerBatch[],
  sink: MemorySink,
  operationState: OperationStateStore = new CountingStateStore(),
  health?: HealthMonitor,
): Promise<BatchOutcome[]> {
  const delivery = {
    sink,
    malformedStore: new MemoryMalformedStore(),
    operationState,
    ...(health ? { health } : {}),
  };
  const outcomes: BatchOutcome[] = [];
  for (const b of batches) {
    outcomes.push(
      await runBatch(b.messages, b.metas, b.info, delivery, silentLogger, { context: BENCH_CONTEXT }),
    );
  }
  return outcomes;
}

/** The baseline: what any handler that parses every body pays at least. */
export function parseAll(bodies: readonly Buffer[]): number {
  let n = 0;
  for (const body of bodies) {
    const parsed = JSON.parse(body.toString('utf8')) as { records?: unknown[] };
    n += parsed.records?.length ?? 0;
  }
  return n;
}
