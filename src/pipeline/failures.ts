/*
 * Failed invocations of a batch, counted per batch in the process's memory, and when the next invocation
 * runs it message by message (setAside.ts). Small and without the batch runner's imports: the Function
 * keeps these from its first import, and loads the runner only when the first batch arrives.
 */
import { errorText } from '../lib/errorText';
import type { BatchInfo } from './ports';

/**
 * Failed invocations of one batch, the same way each time, before it is run message by message. Three:
 * one failure can be a blip of the store and a second its retry landing in the same outage; a third in a
 * row, with the retry policy's backoff in between (10 s, then 20 s), is no blip. Running message by
 * message is always safe (nothing is dropped that could be kept), only slower, so there is no reason to
 * wait longer.
 */
export const SET_ASIDE_AFTER_FAILURES = 3;

export interface FailureRecord {
  /** Consecutive failed invocations with the same signature. */
  readonly failures: number;
  readonly signature: string;
  /** The last failure, as text (redacted). */
  readonly error: string;
}

interface ErrorLike {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly statusCode?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/**
 * How an invocation failed, as the codes, names and HTTP statuses along the error's cause chain (and inner
 * errors of an AggregateError): the same failure gives the same signature, whatever its message says.
 */
export function failureSignature(error: unknown, depth = 0): string {
  if (typeof error !== 'object' || error === null) return typeof error;
  const e = error as ErrorLike;
  const own = [e.name, e.code, e.statusCode]
    .filter((v) => typeof v === 'string' || typeof v === 'number')
    .join(':');
  const parts = [own === '' ? 'error' : own];
  if (depth < 4) {
    if (Array.isArray(e.errors)) {
      const inner = new Set<string>();
      for (const x of e.errors.slice(0, 10)) inner.add(failureSignature(x, depth + 1));
      parts.push(`[${[...inner].sort().join(', ')}]`);
    }
    if (e.cause !== undefined) parts.push(failureSignature(e.cause, depth + 1));
  }
  return parts.join(' < ').slice(0, 500);
}

/** The record after one more failed invocation: counted on when it failed the same way, else from 1. */
export function nextFailure(previous: FailureRecord | undefined, error: unknown): FailureRecord {
  const signature = failureSignature(error);
  return {
    failures: previous?.signature === signature ? previous.failures + 1 : 1,
    signature,
    error: errorText(error, 500),
  };
}

/** Whether the next invocation of a batch with this record runs message by message. */
export function shouldSetAside(previous: FailureRecord | undefined): previous is FailureRecord {
  return previous !== undefined && previous.failures >= SET_ASIDE_AFTER_FAILURES;
}

/**
 * Failed invocations per batch, in this process's memory (the Functions host keeps its retry count in
 * memory too). A restart forgets them: the batch is then redelivered from its checkpoint and counted
 * again from zero, so a batch that cannot be kept costs at most `SET_ASIDE_AFTER_FAILURES` invocations per
 * process before it is set aside. Bounded: the oldest entries are forgotten first.
 */
export class BatchFailures {
  private readonly entries = new Map<string, FailureRecord>();

  constructor(private readonly capacity = 1_024) {}

  /** Undefined for a batch without coordinates (it cannot be told apart from another). */
  static key(batch: BatchInfo): string | undefined {
    if (batch.partitionId === undefined || batch.firstSequenceNumber === undefined) return undefined;
    return [
      batch.eventHubName ?? '',
      batch.consumerGroup ?? '',
      batch.partitionId,
      batch.firstSequenceNumber,
      batch.lastSequenceNumber ?? batch.firstSequenceNumber,
    ].join('/');
  }

  get(batch: BatchInfo): FailureRecord | undefined {
    const key = BatchFailures.key(batch);
    return key === undefined ? undefined : this.entries.get(key);
  }

  failed(batch: BatchInfo, error: unknown): FailureRecord {
    const key = BatchFailures.key(batch);
    const next = nextFailure(key === undefined ? undefined : this.entries.get(key), error);
    if (key !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, next);
      while (this.entries.size > this.capacity) {
        const oldest = this.entries.keys().next().value;
        if (oldest === undefined) break;
        this.entries.delete(oldest);
      }
    }
    return next;
  }

  succeeded(batch: BatchInfo): void {
    const key = BatchFailures.key(batch);
    if (key !== undefined) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
