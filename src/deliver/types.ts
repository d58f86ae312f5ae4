import type { AlertRow } from '../alert/columns';
import type { ErrorCode } from '../errors';

/** Where a batch came from; carried into logs and dead letters so a person can find the source. */
export interface BatchInfo {
  readonly source: 'eventhub' | 'consumer' | 'file' | 'replay';
  readonly invocationId?: string;
  readonly eventHubName?: string;
  readonly consumerGroup?: string;
  readonly partitionId?: string;
  readonly firstSequenceNumber?: number;
  readonly lastSequenceNumber?: number;
}

export interface DeliveryReport {
  /** Alerts the destination accepted. */
  readonly delivered: number;
  /** Upload attempts repeated after a retryable failure. */
  readonly retried: number;
  /** Alerts that could not be delivered within the budget and were written to the dead-letter store. */
  readonly deadLettered: number;
  /** Alerts cut down to fit the service's size limits (marked in their Context), then delivered or dead-lettered. */
  readonly trimmed?: number;
}

/** Destination of alert rows. Implementations must never drop an alert silently: deliver, dead-letter or throw. */
export interface AlertSink {
  readonly name: string;
  deliver(alerts: readonly AlertRow[], batch: BatchInfo): Promise<DeliveryReport>;
}

/** A message (or one line of a file) that could not be decoded, kept raw for a person to inspect. */
export interface MalformedMessage {
  readonly code: ErrorCode;
  readonly reason: string;
  /** Index of the message in its batch (Event Hubs) or 1-based line number (JSON Lines files). */
  readonly index: number;
  readonly partitionId?: string;
  readonly offset?: string;
  readonly sequenceNumber?: number;
  readonly enqueuedTimeUtc?: string;
  /** File path for the scan CLI. */
  readonly origin?: string;
  /** The undecodable bytes or text, unchanged. */
  readonly raw: Buffer | string;
}

/** Keeps malformed messages where a person can find them (blob container in Azure, stderr locally). */
export interface MalformedStore {
  readonly name: string;
  keep(messages: readonly MalformedMessage[], batch: BatchInfo): Promise<void>;
}

/** Structured logger: the message is constant text, the fields carry the values. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
