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
import type { Allowlist } from '../triage/allowlist';
import type { CaptureHistoryStore } from '../triage/history';
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

/** One problem of a malformed message, with where it is in the message. */
export interface MessageProblem {
  readonly code: ErrorCode;
  readonly reason: string;
  /** 1-based line, for JSON Lines input. */
  readonly line?: number;
  /** 0-based index of the record among the message's records. */
  readonly record?: number;
}

/**
 * A message that could not be read in full, kept once whatever the number of its problems: the first few
 * problems described with their positions, every one counted, the raw message once.
 */
export interface MalformedMessage extends MessageMeta {
  /** The first problem's code: what operators and tests match on. */
  readonly code: ErrorCode;
  /** The first problem's reason, and how many more there are. */
  readonly reason: string;
  /** Index of the message in its batch (Event Hubs) or among a command's inputs. */
  readonly index: number;
  /** The first problems (at most `MAX_PROBLEMS_KEPT`, src/decode/decode.ts), in input order. */
  readonly problems: readonly MessageProblem[];
  /** Every problem found in the message; the ones past `problems` are counted, not described. */
  readonly problemCount: number;
  /** The message's bytes or text as received (the trigger's own Buffer, not a copy). */
  readonly raw: Buffer | string;
  /**
   * Present when the message is kept without its content (set aside after even keeping it failed): its
   * size; its coordinates say where it is in the hub (for the hub's retention period).
   */
  readonly rawOmitted?: { readonly bytes: number };
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
  /** Known, legitimate captures: rows an entry matches are written Suppressed (src/triage/). Absent: none. */
  readonly allowlist?: Allowlist;
  /** Each caller's captures of the last 90 days (runbook step 3). Absent: rows say -1 (unknown). */
  readonly captureHistory?: CaptureHistoryStore;
  /** Absent: no health rows (scan, the bench's plain path). The Function and consume write them. */
  readonly health?: HealthMonitor;
}

export interface BatchCounts {
  readonly messages: number;
  readonly records: number;
  readonly alerts: number;
  /** Problems found (a bad line, record or message each counts once), past the described ones included. */
  readonly malformed: number;
  /** Messages kept as malformed (each once, whatever its number of problems). */
  readonly malformedMessages: number;
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
  /** Rows the allowlist suppressed (written with Suppressed = true and the entry's reason). */
  readonly allowlisted?: number;
}

export interface BatchOutcome extends BatchCounts, DeliveryReport {
  readonly durationMs: number;
}
