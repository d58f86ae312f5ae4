/*
 * Local adapters of the ports, for when no Log Analytics table is configured: alerts on stdout as JSON
 * Lines (pipes into jq or a file unchanged), malformed input described on stderr or kept as a log line.
 */
import type { AlertRow } from '../alert/columns';
import { redactText } from '../lib/redact';
import type {
  AlertSink,
  BatchInfo,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MalformedStore,
} from '../pipeline/ports';
import { describeMalformed } from '../pipeline/runBatch';

export class StdoutSink implements AlertSink {
  readonly name = 'stdout';

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  deliver(alerts: readonly AlertRow[], _batch: BatchInfo): Promise<DeliveryReport> {
    if (alerts.length > 0) this.out.write(alerts.map((a) => JSON.stringify(a)).join('\n') + '\n');
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
}

/** Where it came from and why, on stderr (the input file still holds the message itself). */
export class StderrMalformedStore implements MalformedStore {
  readonly name = 'stderr';

  constructor(private readonly err: NodeJS.WritableStream = process.stderr) {}

  keep(messages: readonly MalformedMessage[], _batch: BatchInfo): Promise<void> {
    for (const m of messages) this.err.write(`${describeMalformed(m)}\n`);
    return Promise.resolve();
  }
}

/** Longest part of a malformed message copied into a log line. */
const MALFORMED_LOG_BYTES = 8 * 1024;

/**
 * Without a dead-letter store (alerts on stdout, `consume`), a malformed message is kept as a log line with
 * its coordinates and its text (secrets masked, cut at 8 KB); the event itself stays in the hub until
 * retention.
 */
export class LogMalformedStore implements MalformedStore {
  readonly name = 'log';

  constructor(private readonly logger: Logger) {}

  keep(messages: readonly MalformedMessage[], batch: BatchInfo): Promise<void> {
    for (const m of messages) {
      const text = typeof m.raw === 'string' ? m.raw : m.raw.toString('utf8');
      this.logger.warn('malformed message kept', {
        code: m.code,
        reason: m.reason,
        eventHubName: batch.eventHubName,
        consumerGroup: batch.consumerGroup,
        partitionId: m.partitionId,
        offset: m.offset,
        sequenceNumber: m.sequenceNumber,
        enqueuedTimeUtc: m.enqueuedTimeUtc,
        index: m.index,
        bytes: Buffer.byteLength(text),
        raw: redactText(text.length > MALFORMED_LOG_BYTES ? text.slice(0, MALFORMED_LOG_BYTES) : text),
        truncated: text.length > MALFORMED_LOG_BYTES,
      });
    }
    return Promise.resolve();
  }
}
