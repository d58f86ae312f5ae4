/*
 * `replay-dead-letters`: re-sends dead-lettered alerts once the cause is fixed, deleting each dead letter
 * only after all of its alerts were accepted.
 */
import { redactAlertRow } from '../alert/buildAlert';
import type { AlertRow } from '../alert/columns';
import { loadSettings, type Settings } from '../config/settings';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { ALERTS_PREFIX, MALFORMED_PREFIX, type BlobDeadLetterStore } from '../deliver/deadLetter';
import { fitAlert } from '../deliver/fitAlert';
import { createDeadLetterStore, createDeliveryParts, type DeliveryOverrides } from '../deliver/index';
import { retrySettings } from '../deliver/logsIngestionSink';
import { uploadWithRetry, type UploadClient } from '../deliver/uploader';
import { nonNegativeInteger, parseCommand, positiveInteger, usageError } from './command';
import { EXIT_OK, EXIT_USAGE, writeLine, type CliIo } from './io';

export const REPLAY_HELP = `Usage: packet-capture-detector replay-dead-letters [options]

Re-sends dead-lettered alerts to the Log Analytics table, oldest first, and deletes each dead letter only
after all of its alerts were accepted. Safe to run twice and while the function runs: each dead letter is
leased while it is replayed, and a re-sent alert keeps its AlertId (the analytics rule deduplicates).
Malformed-message dead letters are listed and left in place for a person (see docs/reliability.md).

Uses the function's settings: LOGS_INGESTION_ENDPOINT, LOGS_INGESTION_RULE_ID, LOGS_INGESTION_STREAM_NAME,
DEAD_LETTER_BLOB_SERVICE_URI (or AzureWebJobsStorage...), DEAD_LETTER_CONTAINER, AZURE_CLIENT_ID. Signs in
with DefaultAzureCredential (e.g. "az login"); needs Monitoring Metrics Publisher on the DCR and Storage
Blob Data Contributor on the container.

Options:
  --list                 list dead letters without sending anything (needs only the storage settings)
  --prefix <prefix>      only alert dead letters whose name starts with it (e.g. alerts/2025-01-31/)
  --max <n>              replay at most n dead letters
  --budget-seconds <s>   retry budget per dead letter (default 60)
  --keep-time            keep each alert's TimeGenerated; by default it is set to the replay time so the
                         analytics rule's lookback window sees the alert (EventTime keeps the operation time)
  --lease-wait-seconds <s>
                         how long to keep trying dead letters another replay holds (leased) before giving
                         up on them (default 75: a stopped replay's lease expires within 60 s); 0: do not wait
  -h, --help             show this help
  --version              show the version

Exit status: 0 every alert dead letter replayed (or listed), 1 some alerts are still undelivered or some
dead letters could not be claimed (leased; they remain), 2 usage or configuration error.`;

export const EXIT_REPLAY_INCOMPLETE = 1;
/** A killed replay's lease (60 s) has expired by then; a live replay has usually finished its dead letter. */
const DEFAULT_LEASE_WAIT_SECONDS = 75;
/** Consecutive dead letters with nothing accepted before the replay stops (the service is likely down). */
const STOP_AFTER_FAILED_IN_A_ROW = 3;

export interface ReplaySummary {
  readonly deadLetters: number;
  readonly replayedDeadLetters: number;
  readonly alertsReplayed: number;
  readonly alertsRemaining: number;
  readonly retried: number;
  /** Held by another replay (leased) or gone when first tried. */
  readonly skipped: number;
  /** Still leased at the end (after waiting): not replayed, so the run is not complete. */
  readonly leased: number;
  /** Blobs under alerts/ that are not dead-letter documents (left in place). */
  readonly invalid: number;
  readonly malformedDeadLetters: number;
  readonly stoppedEarly: boolean;
}

export interface ReplayOptions {
  readonly prefix?: string;
  readonly max?: number;
  readonly budgetMs: number;
  readonly keepTime: boolean;
  readonly leaseSeconds?: number;
  /** How long to keep trying dead letters that were leased when first tried (default: not at all). */
  readonly leaseWaitMs?: number;
  readonly now?: () => Date;
}

/** How often a leased dead letter is tried again while waiting. */
const LEASE_POLL_MS = 1_000;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function listNames(store: BlobDeadLetterStore, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of store.list(prefix)) names.push(blob.name);
  return names.sort();
}

type ClaimOutcome = 'replayed' | 'kept' | 'leased' | 'gone' | 'invalid';

/** The replay itself, separate from argument parsing so tests and tools can call it. */
export async function replayDeadLetters(
  client: () => Promise<UploadClient>,
  store: BlobDeadLetterStore,
  target: { ruleId: string; streamName: string },
  options: ReplayOptions,
  report: (line: string) => void,
): Promise<ReplaySummary> {
  const prefix = options.prefix ?? ALERTS_PREFIX;
  if (!prefix.startsWith(ALERTS_PREFIX)) {
    throw new DetectorError('USAGE', `--prefix must start with ${ALERTS_PREFIX} (got "${prefix}")`);
  }
  const names = (await listNames(store, prefix)).slice(0, options.max ?? Number.POSITIVE_INFINITY);
  const malformed = await listNames(store, MALFORMED_PREFIX);
  const leaseSeconds = options.leaseSeconds ?? 60;
  let replayedDeadLetters = 0;
  let alertsReplayed = 0;
  let alertsRemaining = 0;
  let retried = 0;
  let skipped = 0;
  let invalid = 0;
  let failedInARow = 0;
  let stoppedEarly = false;

  /** Claims one dead letter and replays it; what happened to it. */
  const replayOne = async (name: string): Promise<ClaimOutcome> => {
    let claim;
    try {
      claim = await store.claim(name, leaseSeconds);
    } catch (error) {
      // A blob someone edited by hand (or a future format) must not stop the others from being replayed.
      if (!(error instanceof DetectorError)) throw error;
      invalid++;
      report(`left ${name}: ${error.message}`);
      return 'invalid';
    }
    if (!claim) return (await store.exists(name)) ? 'leased' : 'gone';
    const replayTime = (options.now?.() ?? new Date()).toISOString();
    const originals = claim.document.alerts;
    // Redacted once more: a dead letter written by an older version may hold what this one masks.
    const rows = originals.map(
      (a) => fitAlert(redactAlertRow(options.keepTime ? a : { ...a, TimeGenerated: replayTime })).row,
    );
    const originalOf = new Map<AlertRow, AlertRow>(rows.map((r, idx) => [r, originals[idx] ?? r]));
    let outcome;
    try {
      outcome = await uploadWithRetry(client, target.ruleId, target.streamName, rows, {
        ...retrySettings(options.budgetMs),
      });
    } catch (error) {
      await claim.release();
      throw error;
    }
    retried += outcome.retried;
    alertsReplayed += outcome.accepted.length;
    if (outcome.failed.length === 0) {
      await claim.complete();
      replayedDeadLetters++;
      failedInARow = 0;
      report(
        `replayed ${name}: ${rows.length} alert${rows.length === 1 ? '' : 's'} accepted, dead letter deleted`,
      );
      return 'replayed';
    }
    const remaining = outcome.failed.flatMap((f) => f.rows.map((r) => originalOf.get(r) ?? r));
    const reason = [...new Set(outcome.failed.map((f) => f.reason))].join(' | ');
    alertsRemaining += remaining.length;
    failedInARow = outcome.accepted.length === 0 ? failedInARow + 1 : 0;
    await claim.keepRemaining(remaining, reason);
    report(
      `kept ${name}: ${outcome.accepted.length} accepted, ${remaining.length} still undelivered (${reason})`,
    );
    return 'kept';
  };

  let leasedNames: string[] = [];
  for (const [i, name] of names.entries()) {
    if (failedInARow >= STOP_AFTER_FAILED_IN_A_ROW) {
      stoppedEarly = true;
      report(
        `stopping: ${failedInARow} dead letters in a row had no alert accepted; ${names.length - i} not tried`,
      );
      break;
    }
    const outcome = await replayOne(name);
    if (outcome === 'leased') {
      skipped++;
      leasedNames.push(name);
      report(
        `skipped ${name} for now: leased (by another replay, or by one that stopped before releasing it)`,
      );
    } else if (outcome === 'gone') {
      skipped++;
      report(`skipped ${name}: already gone (another replay completed it)`);
    }
  }

  // A lease outlives a replay that was killed by at most its duration; another replay finishes its dead
  // letter sooner. Either way, waiting a little lets this run claim or see them gone.
  const waitUntil = Date.now() + (options.leaseWaitMs ?? 0);
  while (leasedNames.length > 0 && !stoppedEarly && Date.now() < waitUntil) {
    await sleep(Math.min(LEASE_POLL_MS, Math.max(0, waitUntil - Date.now())));
    const still: string[] = [];
    for (const name of leasedNames) {
      const outcome = await replayOne(name);
      if (outcome === 'leased') still.push(name);
      else if (outcome === 'gone') report(`${name}: completed by another replay`);
    }
    leasedNames = still;
    if (failedInARow >= STOP_AFTER_FAILED_IN_A_ROW) stoppedEarly = true;
  }
  for (const name of leasedNames) {
    report(
      `not replayed ${name}: still leased; run again once the other replay has finished or its lease (at most ${leaseSeconds} s) has expired`,
    );
  }
  if (malformed.length > 0) {
    report(
      `${malformed.length} malformed-message dead letter${malformed.length === 1 ? '' : 's'} left in place under ${MALFORMED_PREFIX} (not alerts; inspect them, see docs/reliability.md)`,
    );
  }
  return {
    deadLetters: names.length,
    replayedDeadLetters,
    alertsReplayed,
    alertsRemaining,
    retried,
    skipped,
    leased: leasedNames.length,
    invalid,
    malformedDeadLetters: malformed.length,
    stoppedEarly,
  };
}

function formatSummary(s: ReplaySummary): string {
  return `replay: ${s.replayedDeadLetters}/${s.deadLetters} dead letters replayed, ${s.alertsReplayed} alerts accepted, ${s.alertsRemaining} still undelivered, ${s.leased} still leased, ${s.retried} retries, ${s.skipped} skipped, ${s.invalid} unreadable, ${s.malformedDeadLetters} malformed dead letters left in place`;
}

/** `--list`: the dead letters, one per line (name, size, time written), from the storage settings alone. */
async function listDeadLetters(
  settings: Settings,
  prefix: string | undefined,
  io: CliIo,
  overrides: DeliveryOverrides | undefined,
): Promise<number> {
  let store: BlobDeadLetterStore;
  try {
    store = createDeadLetterStore(settings, { env: io.env, ...overrides });
  } catch (error) {
    return usageError(io, 'replay-dead-letters', error);
  }
  try {
    for (const p of prefix ? [prefix] : [ALERTS_PREFIX, MALFORMED_PREFIX]) {
      for await (const blob of store.list(p)) {
        writeLine(
          io.stdout,
          `${blob.name}\t${blob.size} bytes${blob.createdOn ? `\t${blob.createdOn.toISOString()}` : ''}`,
        );
      }
    }
  } catch (error) {
    writeLine(io.stderr, `replay-dead-letters: cannot list ${store.location}: ${errorText(error)}`);
    return EXIT_REPLAY_INCOMPLETE;
  }
  return EXIT_OK;
}

/**
 * `packet-capture-detector replay-dead-letters`. `overrides` exists for tests (trusting a local
 * certificate); the CLI passes none.
 */
export async function runReplay(args: string[], io: CliIo, overrides?: DeliveryOverrides): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'replay-dead-letters',
      help: REPLAY_HELP,
      positionals: 'none',
      options: {
        list: { type: 'boolean', default: false },
        prefix: { type: 'string' },
        max: { type: 'string' },
        'budget-seconds': { type: 'string' },
        'keep-time': { type: 'boolean', default: false },
        'lease-wait-seconds': { type: 'string' },
      },
    },
    args,
    io,
  );
  if (!parsed.ok) return parsed.exit;
  const v = parsed.values;

  let settings: Settings;
  let max: number;
  let budgetSeconds: number;
  let leaseWaitSeconds: number;
  try {
    max = positiveInteger('--max', v.max, Number.MAX_SAFE_INTEGER);
    budgetSeconds = positiveInteger('--budget-seconds', v['budget-seconds'], 60);
    leaseWaitSeconds = nonNegativeInteger(
      '--lease-wait-seconds',
      v['lease-wait-seconds'],
      DEFAULT_LEASE_WAIT_SECONDS,
    );
    settings = loadSettings(io.env, 'cli');
  } catch (error) {
    return usageError(io, 'replay-dead-letters', error);
  }
  // Listing sends nothing: it needs the storage settings only, not Logs Ingestion's.
  if (v.list) return listDeadLetters(settings, v.prefix, io, overrides);
  try {
    if (!settings.logsIngestion) {
      throw new DetectorError(
        'CONFIG_INVALID',
        'LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are required to replay dead letters',
      );
    }
  } catch (error) {
    return usageError(io, 'replay-dead-letters', error);
  }
  const target = settings.logsIngestion;

  let parts;
  try {
    parts = createDeliveryParts(settings, { env: io.env, ...overrides });
  } catch (error) {
    return usageError(io, 'replay-dead-letters', error);
  }
  const store = parts.deadLetters;

  let summary: ReplaySummary;
  try {
    summary = await replayDeadLetters(
      parts.client,
      store,
      target,
      {
        ...(v.prefix === undefined ? {} : { prefix: v.prefix }),
        max,
        budgetMs: budgetSeconds * 1000,
        keepTime: v['keep-time'],
        leaseWaitMs: leaseWaitSeconds * 1000,
      },
      (line) => {
        writeLine(io.stdout, line);
      },
    );
  } catch (error) {
    const code = error instanceof DetectorError ? error.code : undefined;
    writeLine(io.stderr, `replay-dead-letters: ${errorText(error)}`);
    return code === 'USAGE' ? EXIT_USAGE : EXIT_REPLAY_INCOMPLETE;
  }
  writeLine(io.stdout, formatSummary(summary));
  return summary.alertsRemaining > 0 || summary.stoppedEarly || summary.invalid > 0 || summary.leased > 0
    ? EXIT_REPLAY_INCOMPLETE
    : EXIT_OK;
}
