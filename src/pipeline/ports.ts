/*
 * The contracts the hosts plug into (ports): what a batch and its messages are, what went wrong with bad
 * input, and where alerts and malformed messages go. The batch runner (runBatch.ts) depends only on these;
 * the adapters in deliver/ implement them, and the hosts (the Function, scan, consume, the bench) choose
 * the adapters through one factory (deliver/index.ts).
 */
import type { AlertRow } from '../alert/columns';
import type { OperationDetails } from '../detect/types';
import type { ErrorCode } from '../lib/errors';
import type { ActivityEvent, Phase } from '../normalize/activityEvent';
import type { HealthMonitor } from './health';

/** Where one message came from: trigger metadata for Event Hubs, a file path for the CLI. */
export interface MessageMeta {
  readonly partitionId?: string;
  readonly offset?: string;
  readonly sequenceNumber?: number;
  readonly enqueuedTimeUtc?: string;
  readonly origin?: string;
}

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

/** A message (or one line of a file) that could not be decoded, kept raw for a person to inspect. */
export interface MalformedMessage extends MessageMeta {
  readonly code: ErrorCode;
  readonly reason: string;
  /** Index of the message in its batch (Event Hubs) or 1-based line number (JSON Lines files). */
  readonly index: number;
  /** The undecodable bytes or text, unchanged. */
  readonly raw: Buffer | string;
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

/** What the records of one operation revealed so far (pipeline/lifecycle.ts). */
export interface OperationState {
  readonly ruleId: string;
  readonly details: OperationDetails;
  readonly phases: readonly Phase[];
  /** The success event of an alert written before the operation's Start and Accept were both seen. */
  readonly pending?: ActivityEvent;
  /** Epoch milliseconds after which the state is ignored (the join's window). */
  readonly expiresAt: number;
}

/** Keeps operation state across batches, partitions and instances (Table Storage in Azure). */
export interface OperationStateStore {
  readonly name: string;
  /**
   * Applies `change` to the state stored under `id` atomically: when another writer changed it in between,
   * `change` runs again on the newer state. Returns the state before and after.
   */
  update(
    id: string,
    change: (current: OperationState | undefined) => OperationState,
  ): Promise<{ before: OperationState | undefined; after: OperationState }>;
}

/** Where one batch's results go, and the state the lifecycle join keeps. */
export interface Delivery {
  readonly sink: AlertSink;
  readonly malformedStore: MalformedStore;
  /** Absent: operations are joined within each batch only. */
  readonly operationState?: OperationStateStore;
  /** How long an operation's state is kept for its later records (ms). */
  readonly operationWindowMs?: number;
  /** Absent: no health rows (scan, the bench's plain path). The Function and consume write them. */
  readonly health?: HealthMonitor;
}

export interface BatchCounts {
  readonly messages: number;
  readonly records: number;
  readonly alerts: number;
  readonly malformed: number;
  /** Alerts with an AlertId already produced in this batch (the same record delivered twice). */
  readonly duplicates: number;
  /**
   * Messages the byte prefilter skipped unparsed: well-framed bodies that cannot hold a matching record.
   * Their records are not in `records` (they were never decoded) and were not validated.
   */
  readonly prefiltered: number;
  /** Records evaluated although a minor field was null or of the wrong type (the field was left out). */
  readonly fieldsDropped: number;
  /** Operations joined with the state of earlier batches; and rows that complete earlier alerts. */
  readonly joined: number;
  readonly completing: number;
}

export interface BatchOutcome extends BatchCounts, DeliveryReport {
  readonly durationMs: number;
}
