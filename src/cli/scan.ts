/*
 * `scan`: the detector over export files, folders, the blob archive where it lives, or stdin, with the
 * same pipeline and delivery as the function. This file is the command: its options, where the inputs
 * come from, what is printed and the exit status. The engine is in scan/ (inputs, framing, the run, its
 * alert collector and delivery budget, the state file of --resume, the status line and the table).
 */
import type { AlertRow } from '../alert/columns';
import { loadSettings, type Settings } from '../config/settings';
import type { DeliveryOverrides } from '../deliver/index';
import { LOG_DEAD_LETTERED, LOG_RETRY } from '../deliver/logsIngestionSink';
import { errorText } from '../lib/errorText';
import { redactText } from '../lib/redact';
import { formatBytes, plural } from '../lib/text';
import type { Logger } from '../pipeline/ports';
import { LOG_MALFORMED } from '../pipeline/runBatch';
import { oneOf, parseCommand, positiveInteger, usageError } from './command';
import { EXPORT_EXTENSIONS_TEXT, describeNotice, walkPaths } from './files';
import { EXIT_DEAD_LETTERED, EXIT_DELIVERY, EXIT_MALFORMED, EXIT_OK, writeLine, type CliIo } from './io';
import { EXIT_INTERRUPTED, stopControl } from './consume/stop';
import {
  blobInput,
  isBlobUrl,
  listArchive,
  openArchive,
  parseBlobUrl,
  type BlobArchive,
  type BlobLocation,
  type ListingCounts,
} from './scan/blobSource';
import { createCaptureHistoryStore } from '../deliver/index';
import { MemoryOperationStateStore } from '../state/memoryStore';
import { loadAllowlistFile, type Allowlist } from '../triage/allowlist';
import { RunAlertCollector } from './scan/collector';
import { localInput, stdinInput, type ScanInput } from './scan/inputs';
import { ResumeState } from './scan/resume';
import { emptyTotals, runScanInputs, type ScanTotals } from './scan/run';
import { RunDelivery } from './scan/runDelivery';
import { StatusLine, thousands, type Progress } from './scan/status';
import { renderAlerts } from './scan/table';
import { describeRange, selectedByPath, timeRangeOf, type TimeRange } from './scan/timeRange';

export const SCAN_HELP = `Usage: packet-capture-detector scan [options] <file|dir|url|->...

Runs the detector over Activity Log exports: Event Hubs bodies ({"records":[...]}), single records, arrays,
JSON Lines (the blob archive's PT1H.json) and AzureActivity-shaped rows, plain or gzip-compressed, of any
size (read in chunks). Directories are walked recursively (${EXPORT_EXTENSIONS_TEXT}), following
symbolic links; "-" reads standard input. A URL reads a blob archive where it lives:
  https://<account>.blob.core.windows.net/<container>[/<prefix>]    e.g. .../insights-activity-logs
  http://127.0.0.1:<port>/devstoreaccount1/<container>[/<prefix>]   (Azurite)
signing in with the SAS in the URL, else AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential
(Storage Blob Data Reader).

Alerts go to standard output at the end of the run, each AlertId once, or to the Log Analytics table when
LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are set (the same delivery code as the function, so it
also needs a dead-letter store: DEAD_LETTER_BLOB_SERVICE_URI, AzureWebJobsStorage__blobServiceUri or
AzureWebJobsStorage). The run shares one delivery budget (DELIVERY_TIME_BUDGET_SECONDS): once Logs
Ingestion has been failing that long, the rest of the run is dead-lettered at once. Progress goes to
standard error on a terminal; a one-line summary at the end.

Options:
  --format jsonl|table     jsonl: one alert row per line (default when stdout is not a terminal)
                           table: a table that fits the terminal (default on a terminal)
  --since <time>           only the archive's hours from this time on (by the y=/m=/d=/h= path, before
                           anything is read): 2025-12-22, 2025-12-22T11:00Z, or 36h / 7d before now
  --until <time>           only hours before this time (same forms)
  --resume <state file>    record each finished file there, and skip those an earlier run finished: a
                           stopped backfill continues where it was (created if missing)
  --concurrency <n>        files or blobs read at once (default 4, 16 for a blob archive)
  --wait-for-delivery      when Logs Ingestion keeps failing, wait for it instead of dead-lettering
  --allowlist <file>       apply this allowlist CSV (README › Tuning) instead of ALLOWLIST_PATH: alerts a row
                           matches are still output, with Suppressed true and the row's reason and line;
                           a bad row is a usage error naming its line
  --stdout                 print alerts even when Logs Ingestion settings are present
  --validate               parse and validate everything; by default a well-formed part with no capture
                           operation is skipped unparsed (the byte prefilter), so damage inside it is not reported
  -h, --help               show this help
  --version                show the version

Exit status: 0 all input read and every alert delivered or printed, 1 some input was malformed or could not
be read (the rest was scanned), 2 usage error or no input found, 3 some alerts could be neither delivered
nor dead-lettered (they are printed to standard output instead), 4 some alerts were dead-lettered (replay
them with replay-dead-letters), 130 stopped by a signal.`;

export interface ScanOptions {
  /** Aborting it stops the scan as SIGINT does. When given, no process signal handlers are installed. */
  readonly signal?: AbortSignal;
  /** Tests: trust the local Logs Ingestion fake's certificate, shorter timings. */
  readonly deliveryOverrides?: DeliveryOverrides;
}

/** As the program reports an unexpected failure (main.ts). */
const EXIT_INTERNAL = 70;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BLOB_CONCURRENCY = 16;
const DEFAULT_TABLE_WIDTH = 100;
/** Retry messages while Logs Ingestion fails are shown at most this often. */
const RETRY_NOTE_MS = 10_000;

interface Sources {
  readonly stdin: boolean;
  readonly locals: string[];
  readonly blobs: BlobLocation[];
  /** In the order given, for reading in that order. */
  readonly order: readonly (
    { kind: 'stdin' } | { kind: 'local'; path: string } | { kind: 'blob'; location: BlobLocation }
  )[];
}

function readSources(positionals: readonly string[]): Sources {
  const order: Sources['order'][number][] = [];
  let stdin = false;
  const locals: string[] = [];
  const blobs: BlobLocation[] = [];
  for (const arg of positionals) {
    if (arg === '-') {
      // Standard input can be read once; "-" twice means it once.
      if (!stdin) order.push({ kind: 'stdin' });
      stdin = true;
    } else if (isBlobUrl(arg)) {
      const location = parseBlobUrl(arg);
      blobs.push(location);
      order.push({ kind: 'blob', location });
    } else {
      locals.push(arg);
      order.push({ kind: 'local', path: arg });
    }
  }
  return { stdin, locals, blobs, order };
}

export async function runScan(args: string[], io: CliIo, options: ScanOptions = {}): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'scan',
      help: SCAN_HELP,
      positionals: 'required',
      positionalName: 'file, directory, URL or -',
      options: {
        format: { type: 'string' },
        stdout: { type: 'boolean', default: false },
        validate: { type: 'boolean', default: false },
        since: { type: 'string' },
        until: { type: 'string' },
        resume: { type: 'string' },
        concurrency: { type: 'string' },
        allowlist: { type: 'string' },
        'wait-for-delivery': { type: 'boolean', default: false },
      },
    },
    args,
    io,
  );
  if (!parsed.ok) return parsed.exit;
  const v = parsed.values;

  let format: 'jsonl' | 'table';
  let settings: Settings;
  let sources: Sources;
  let range: TimeRange | undefined;
  let concurrency: number;
  let allowlist: Allowlist | undefined;
  try {
    format = oneOf('--format', v.format, ['jsonl', 'table'], io.stdout.isTTY ? 'table' : 'jsonl');
    range = timeRangeOf(v.since, v.until);
    sources = readSources(parsed.positionals);
    concurrency = positiveInteger(
      '--concurrency',
      v.concurrency,
      sources.blobs.length > 0 ? DEFAULT_BLOB_CONCURRENCY : DEFAULT_CONCURRENCY,
    );
    settings = loadSettings(io.env, 'cli');
    allowlist = v.allowlist === undefined ? settings.allowlist : loadAllowlistFile(v.allowlist);
  } catch (error) {
    return usageError(io, 'scan', error);
  }

  const status = new StatusLine(io.stderr);
  const say = (text: string) => {
    status.log(redactText(`scan: ${text}`));
  };
  let lastRetryNote = 0;
  let retryNote: string | undefined;
  let firstDeadLetterSaid = false;
  const logger: Logger = {
    info: () => undefined,
    warn: (message, fields) => {
      // Malformed input is printed with its location by the run; retries would flood an outage.
      if (message === LOG_MALFORMED) return;
      if (message === LOG_RETRY) {
        retryNote = `Logs Ingestion failing, retrying (${typeof fields?.reason === 'string' ? fields.reason : 'no reason given'})`;
        if (Date.now() - lastRetryNote >= RETRY_NOTE_MS) {
          lastRetryNote = Date.now();
          say(retryNote);
        }
        return;
      }
      say(`${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
    },
    error: (message, fields) => {
      if (message === LOG_DEAD_LETTERED) {
        if (!firstDeadLetterSaid) {
          firstDeadLetterSaid = true;
          const reasons = Array.isArray(fields?.reasons) ? fields.reasons.map(String).join(' | ') : '';
          say(`alerts are being dead-lettered: ${reasons}`);
        }
        return;
      }
      say(`${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
    },
  };

  const toStdout = settings.logsIngestion === undefined || v.stdout;
  let delivery: RunDelivery | undefined;
  let resume: ResumeState | undefined;
  try {
    if (!toStdout) {
      delivery = new RunDelivery(settings, logger, {
        budgetMs: settings.deliveryTimeBudgetMs,
        wait: v['wait-for-delivery'],
        overrides: { env: io.env, ...options.deliveryOverrides },
      });
    }
    if (v.resume !== undefined) {
      const destination = delivery
        ? `logs-ingestion ${delivery.target.ruleId} ${delivery.target.streamName}`
        : 'stdout';
      resume = ResumeState.open(v.resume, destination);
    }
  } catch (error) {
    return usageError(io, 'scan', error);
  }

  const collector = new RunAlertCollector();
  if (resume) {
    if (toStdout) collector.seed(resume.finishedAlerts(), -1);
    else
      collector.seed(
        resume.finishedAlertIds().map((id) => ({ AlertId: id }) as AlertRow),
        -1,
      );
  }
  const totals = emptyTotals();
  const listing: ListingCounts = { selected: 0, outsideRange: 0, undated: 0 };
  const stop = stopControl(logger, options.signal);
  if (options.signal?.aborted === true) stop.request('abort signal');
  let stopSaid = false;
  stop.signal.addEventListener(
    'abort',
    () => {
      if (stopSaid) return;
      stopSaid = true;
      say('stopping: finishing what is in flight (press Ctrl-C again to stop at once)');
    },
    { once: true },
  );

  let stdoutClosed = false;
  // Left in place after the run: a pipe reports a failed write after the write returned.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    // The reader went away (`scan | head -1`): nothing more to print, nothing to complain about.
    stdoutClosed = true;
    if (error.code !== 'EPIPE') say(`standard output failed: ${errorText(error)}`);
  };
  io.stdout.on('error', onStdoutError);
  const out = (text: string) => {
    if (stdoutClosed) return;
    try {
      io.stdout.write(text);
    } catch {
      stdoutClosed = true;
    }
  };

  const stopped = (): boolean => stop.signal.aborted;
  const seenFiles = new Set<string>();
  const seenBlobs = new Set<string>();
  async function* inputs(): AsyncGenerator<ScanInput> {
    for (const source of sources.order) {
      if (stopped()) return;
      if (source.kind === 'stdin') {
        if (resume) say('standard input cannot be resumed: it is read in full every time');
        yield stdinInput(io.stdin);
        continue;
      }
      if (source.kind === 'local') {
        for await (const file of walkPaths([source.path], (notice) => {
          if (notice.kind === 'unreadable') totals.unreadable++;
          say(describeNotice(notice));
        })) {
          if (seenFiles.has(file.identity)) continue; // named twice: read once
          seenFiles.add(file.identity);
          const selected = selectedByPath(range, file.path);
          if (selected === true) yield localInput(file);
          else if (selected === 'unknown') listing.undated++;
          else listing.outsideRange++;
        }
        continue;
      }
      const opened: { archive?: BlobArchive } = {};
      try {
        const archive = await openArchive(source.location, {
          env: io.env,
          connectionString: settings.archiveConnectionString,
          managedIdentityClientId: settings.managedIdentityClientId,
          ...(options.deliveryOverrides?.blobClientOptions
            ? { clientOptions: options.deliveryOverrides.blobClientOptions }
            : {}),
        });
        opened.archive = archive;
        for await (const item of listArchive(archive, range, listing, stop.signal)) {
          const input = blobInput(archive, item);
          if (input.key !== undefined && seenBlobs.has(input.key)) continue; // under two URLs given: read once
          if (input.key !== undefined) seenBlobs.add(input.key);
          yield input;
        }
      } catch (error) {
        if (stopped()) return;
        totals.unreadable++;
        say(
          `cannot list ${source.location.display}${opened.archive ? ` (signed in with ${opened.archive.auth})` : ''}: ${errorText(error)}`,
        );
      }
    }
  }

  const started = Date.now();
  const progress = (): Progress => ({
    inputsDone: totals.scanned + totals.resumed + totals.unreadable,
    inputsTotal: totals.listingDone ? totals.listed : undefined,
    bytesDone: totals.bytes + totals.resumedBytes,
    bytesTotal: totals.listingDone && totals.listedUnsized === 0 ? totals.listedBytes : undefined,
    alerts: collector.size,
    elapsedMs: Date.now() - started,
    ...(delivery?.exhausted === true
      ? { note: 'dead-lettering: delivery budget spent' }
      : retryNote !== undefined && Date.now() - lastRetryNote < RETRY_NOTE_MS
        ? { note: 'Logs Ingestion failing, retrying' }
        : {}),
  });
  const timer = status.live
    ? setInterval(() => {
        status.update(progress());
      }, 250)
    : undefined;
  timer?.unref();

  let failure: unknown;
  try {
    await runScanInputs({
      inputs: inputs(),
      concurrency,
      operationState: new MemoryOperationStateStore(),
      ...(allowlist === undefined ? {} : { allowlist }),
      // The host storage's history when one is configured (a backfill fills it), else the run's own.
      captureHistory: createCaptureHistoryStore(settings),
      prefilter: !v.validate,
      context: { protectedResourceIds: settings.protectedResourceIds },
      collector,
      delivery,
      resume,
      status,
      logger,
      signal: stop.signal,
      totals,
    });
  } catch (error) {
    failure = error;
  } finally {
    if (timer) clearInterval(timer);
    stop.dispose();
    status.clear();
  }
  const interrupted = stop.signal.aborted;
  if (failure !== undefined) say(`stopped by an unexpected error: ${errorText(failure)}`);

  const noInput = totals.listed === 0 && !interrupted && failure === undefined;
  if (noInput) {
    const where = parsed.positionals.map((p) => (isBlobUrl(p) ? parseBlobUrl(p).display : p)).join(', ');
    const outside = listing.outsideRange + listing.undated;
    return usageError(
      io,
      'scan',
      outside > 0
        ? `no input found in ${describeRange(range ?? {})} (${plural(outside, 'file')} or folders outside it${listing.undated > 0 ? `, ${listing.undated} without the y=/m=/d=/h= layout` : ''}) in ${where}`
        : `no input found in ${where} (directories are searched for ${EXPORT_EXTENSIONS_TEXT}; blob URLs for every blob under the prefix)`,
    );
  }

  if (toStdout) {
    const alerts = collector.all();
    if (format === 'table') {
      const width = io.stdout.columns ?? (Number(io.env.COLUMNS) || DEFAULT_TABLE_WIDTH);
      out(`${renderAlerts(alerts, width).join('\n')}\n`);
    } else if (alerts.length > 0) {
      out(`${alerts.map((a) => JSON.stringify(a)).join('\n')}\n`);
    }
  }
  const stranded = collector.undelivered();
  if (stranded.length > 0) out(`${stranded.map((a) => JSON.stringify(a)).join('\n')}\n`);

  writeLine(io.stderr, summaryLine(totals, collector, listing, range, delivery, Date.now() - started));
  for (const note of notes(totals, delivery, resume, interrupted, v.resume))
    writeLine(io.stderr, `scan: ${note}`);

  if (interrupted) return EXIT_INTERRUPTED;
  if (failure !== undefined) return EXIT_INTERNAL;
  if (totals.undelivered > 0) return EXIT_DELIVERY;
  if (totals.deadLettered > 0) return EXIT_DEAD_LETTERED;
  if (totals.malformed > 0 || totals.unreadable > 0) return EXIT_MALFORMED;
  return EXIT_OK;
}

function summaryLine(
  t: ScanTotals,
  collector: RunAlertCollector,
  listing: ListingCounts,
  range: TimeRange | undefined,
  delivery: RunDelivery | undefined,
  elapsedMs: number,
): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? ` (${formatBytes(t.bytes / seconds)}/s)` : '';
  const parts = [
    `scanned ${plural(t.scanned, 'file')}, ${formatBytes(t.bytes)} in ${seconds.toFixed(1)} s${rate}: ${thousands(t.records)} records decoded, ${thousands(t.prefiltered)} of ${thousands(t.messages)} parts skipped by the prefilter`,
  ];
  const dup =
    t.duplicates > 0
      ? ` (${t.duplicates} more ${t.duplicates === 1 ? 'copy' : 'copies'} of them ignored)`
      : '';
  const earlier = collector.seeded > 0 ? ` (${collector.seeded} found by the earlier run)` : '';
  parts.push(
    `${plural(collector.size, 'alert')}${earlier}${dup}, ${t.malformed} malformed, ${t.unreadable} unreadable`,
  );
  if (delivery) {
    parts.push(
      `delivered ${t.delivered} to ${delivery.name}, dead-lettered ${t.deadLettered}${t.undelivered > 0 ? `, ${t.undelivered} neither` : ''}`,
    );
  }
  if (t.resumed > 0) parts.push(`${plural(t.resumed, 'file')} finished by an earlier run skipped`);
  if (range && listing.outsideRange + listing.undated > 0) {
    parts.push(
      `${listing.outsideRange + listing.undated} files or folders outside ${describeRange(range)} not read`,
    );
  }
  return parts.join('; ');
}

function notes(
  t: ScanTotals,
  delivery: RunDelivery | undefined,
  resume: ResumeState | undefined,
  interrupted: boolean,
  resumePath: string | undefined,
): string[] {
  const lines: string[] = [];
  if (delivery && t.deadLettered > 0) {
    const blobs = delivery.deadLetterBlobs;
    const first = blobs[0] ?? '';
    lines.push(
      `${plural(t.deadLettered, 'alert was', 'alerts were')} not delivered and dead-lettered to ${delivery.deadLetterLocation} (${plural(blobs.length, 'blob')}${first === '' ? '' : `, first ${first}`}). Once Logs Ingestion accepts them, replay with the same settings: packet-capture-detector replay-dead-letters (replay-dead-letters --list shows them)`,
    );
  }
  if (t.undelivered > 0) {
    lines.push(
      `${plural(t.undelivered, 'alert')} could be neither delivered nor dead-lettered: written to standard output as JSON Lines instead; keep them`,
    );
  }
  if (interrupted) {
    lines.push(
      resume
        ? `stopped before the end: run the same command again to continue (finished files are recorded in ${resumePath ?? resume.path})`
        : 'stopped before the end: add --resume <state file> to be able to continue where a stopped run left off',
    );
  }
  return lines;
}
