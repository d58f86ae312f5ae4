import type { AlertRow } from '../../src/alert/columns';
import type {
  AlertSink,
  BatchInfo,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MalformedStore,
} from '../../src/pipeline/ports';

/** In-memory destination for tests of our own pipeline (not a stand-in for any Azure SDK). */
export class MemorySink implements AlertSink {
  readonly name = 'memory';
  readonly alerts: AlertRow[] = [];
  readonly batches: BatchInfo[] = [];
  failWith: Error | undefined;

  deliver(alerts: readonly AlertRow[], batch: BatchInfo): Promise<DeliveryReport> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.alerts.push(...alerts);
    this.batches.push(batch);
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
}

export class MemoryMalformedStore implements MalformedStore {
  readonly name = 'memory';
  readonly kept: MalformedMessage[] = [];

  keep(messages: readonly MalformedMessage[]): Promise<void> {
    this.kept.push(...messages);
    return Promise.resolve();
  }
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (message, fields) => entries.push({ level: 'info', message, fields }),
    warn: (message, fields) => entries.push({ level: 'warn', message, fields }),
    error: (message, fields) => entries.push({ level: 'error', message, fields }),
  };
}
