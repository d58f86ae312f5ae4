import type { AlertRow } from '../alert/columns';
import type { AlertSink, BatchInfo, DeliveryReport, MalformedMessage, MalformedStore } from './types';

/** Local destination: one JSON object per line, so the output pipes into jq or a file unchanged. */
export class StdoutSink implements AlertSink {
  readonly name = 'stdout';

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  deliver(alerts: readonly AlertRow[], _batch: BatchInfo): Promise<DeliveryReport> {
    if (alerts.length > 0) this.out.write(alerts.map((a) => JSON.stringify(a)).join('\n') + '\n');
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
}

/** Local keeping of malformed input: where it came from and why, on stderr (the input file still has it). */
export class StderrMalformedStore implements MalformedStore {
  readonly name = 'stderr';

  constructor(private readonly err: NodeJS.WritableStream = process.stderr) {}

  keep(messages: readonly MalformedMessage[], _batch: BatchInfo): Promise<void> {
    for (const m of messages) this.err.write(`${describeMalformed(m)}\n`);
    return Promise.resolve();
  }
}

export function describeMalformed(m: MalformedMessage): string {
  const where = m.origin
    ? `${m.origin}${m.index > 0 ? `:${m.index}` : ''}`
    : `partition ${m.partitionId ?? '?'} offset ${m.offset ?? '?'} sequence ${m.sequenceNumber ?? '?'} (message ${m.index})`;
  return `malformed ${where}: ${m.code}: ${m.reason}`;
}
