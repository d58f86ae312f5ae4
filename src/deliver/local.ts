/*
 * Local adapters of the ports, for when no Log Analytics table is configured: alerts on stdout as JSON
 * Lines (pipes into jq or a file unchanged), malformed input described on stderr or kept as a log line.
 */
import type { AlertRow } from '../alert/columns';
import { redactBytes, redactText } from '../lib/redact';
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
      // Redacted whole before it is cut, so a secret is never half-kept; bytes that are not UTF-8 are
      // redacted in their Latin-1 view and shown in it.
      const bytes = typeof m.raw === 'string' ? Buffer.from(m.raw, 'utf8') : m.raw;
      const clean = redactBytes(bytes);
      const text = clean.text ?? clean.bytes.toString('latin1');
      this.logger.warn('malformed message kept', {
        code: m.code,
        reason: redactText(m.reason),
        problems: m.problemCount,
        eventHubName: batch.eventHubName,
        consumerGroup: batch.consumerGroup,
        partitionId: m.partitionId,
        offset: m.offset,
        sequenceNumber: m.sequenceNumber,
        enqueuedTimeUtc: m.enqueuedTimeUtc,
        index: m.index,
        bytes: m.rawOmitted?.bytes ?? bytes.length,
        raw: m.rawOmitted
          ? ''
          : text.length > MALFORMED_LOG_BYTES
            ? text.slice(0, MALFORMED_LOG_BYTES)
            : text,
        rawEncoding: m.rawOmitted ? 'omitted' : clean.text === undefined ? 'latin1' : 'utf8',
        truncated: text.length > MALFORMED_LOG_BYTES,
      });
    }
    return Promise.resolve();
  }
}
