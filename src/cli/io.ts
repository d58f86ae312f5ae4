/* What a command needs from the process (injectable, so tests run commands in-process), exit codes, totals. */
import type { BatchOutcome } from '../pipeline/ports';

/** What a command needs from the process, injectable so tests run commands in-process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
/** Some input was malformed (alerts for the good records were still produced). */
export const EXIT_MALFORMED = 1;
export const EXIT_USAGE = 2;
/** Alerts could not be delivered (and could not be dead-lettered). */
export const EXIT_DELIVERY = 3;
/** `scan`: alerts were not delivered but are safe in the dead-letter container (replay them). */
export const EXIT_DEAD_LETTERED = 4;

export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${text}\n`);
}

/** The per-batch counts a command sums over its run and prints in its summary. */
export interface OutcomeTotals {
  records: number;
  prefiltered: number;
  alerts: number;
  malformed: number;
  delivered: number;
  deadLettered: number;
}

export function emptyOutcomeTotals(): OutcomeTotals {
  return { records: 0, prefiltered: 0, alerts: 0, malformed: 0, delivered: 0, deadLettered: 0 };
}

export function addOutcome(totals: OutcomeTotals, outcome: BatchOutcome): void {
  totals.records += outcome.records;
  totals.prefiltered += outcome.prefiltered;
  totals.alerts += outcome.alerts;
  totals.malformed += outcome.malformed;
  totals.delivered += outcome.delivered;
  totals.deadLettered += outcome.deadLettered;
}
