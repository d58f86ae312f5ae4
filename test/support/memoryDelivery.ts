import type { AlertRow } from '../../src/alert/columns';
import { DetectorError } from '../../src/lib/errors';
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

/** A store that cannot keep messages holding `poison` (with their content), and keeps the rest. */
export class PickyStore implements MalformedStore {
  readonly name = 'picky';
  readonly kept: MalformedMessage[] = [];
  down = false;
  constructor(private readonly poison: string) {}
  keep(messages: readonly MalformedMessage[]): Promise<void> {
    if (this.down) return Promise.reject(new DetectorError('DEAD_LETTER_FAILED', 'store down'));
    for (const m of messages) {
      if (m.raw.toString().includes(this.poison)) {
        return Promise.reject(
          new DetectorError('DEAD_LETTER_FAILED', `cannot write ${String(m.sequenceNumber)}`, {
            cause: new RangeError('Invalid string length'),
          }),
        );
      }
    }
    for (const m of messages) this.kept.push(m);
    return Promise.resolve();
  }
}
