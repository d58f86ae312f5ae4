/*
 * `scan`: the detector over export files, folders, the blob archive where it lives, or stdin, with the
 * same pipeline and delivery as the function. This file is the command's run: delivery or printing, the
 * stop signal, the status line, what is printed at the end and the exit status. The rest is in scan/: the
 * command line (args), the inputs named (sources, inputs, blobSource, framing), the run (run, detect, its
 * alert collector and delivery budget), the state file of --resume, and what is said on standard error
 * (report, status, table).
 */
import type { AlertRow } from '../alert/columns';
import type { DeliveryOverrides } from '../deliver/index';
import { createCaptureHistoryStore } from '../deliver/index';
import { errorText } from '../lib/errorText';
import { plural } from '../lib/text';
import { MemoryOperationStateStore } from '../state/memoryStore';
import { usageError } from './command';
import { EXPORT_EXTENSIONS_TEXT } from './files';
import { EXIT_DEAD_LETTERED, EXIT_DELIVERY, EXIT_MALFORMED, EXIT_OK, writeLine, type CliIo } from './io';
import { EXIT_INTERRUPTED, stopControl } from './consume/stop';
import { parseScanArgs } from './scan/args';
import { isBlobUrl, parseBlobUrl, type ListingCounts } from './scan/blobSource';
import { RunAlertCollector } from './scan/collector';
import { notes, ScanReporter, summaryLine } from './scan/report';
import { ResumeState } from './scan/resume';
import { emptyTotals, runScanInputs } from './scan/run';
import { RunDelivery } from './scan/runDelivery';
import { scanInputs } from './scan/sources';
import type { Progress } from './scan/status';
import { renderAlerts } from './scan/table';
import { describeRange } from './scan/timeRange';

export { SCAN_HELP } from './scan/args';

export interface ScanOptions {
  /** Aborting it stops the scan as SIGINT does. When given, no process signal handlers are installed. */
  readonly signal?: AbortSignal;
  /** Tests: trust the local Logs Ingestion fake's certificate, shorter timings. */
  readonly deliveryOverrides?: DeliveryOverrides;
}

/** As the program reports an unexpected failure (main.ts). */
const EXIT_INTERNAL = 70;
const DEFAULT_TABLE_WIDTH = 100;

export async function runScan(args: string[], io: CliIo, options: ScanOptions = {}): Promise<number> {
  const parsed = parseScanArgs(args, io);
  if (!parsed.ok) return parsed.exit;
  const a = parsed.args;
  const { settings } = a;
  const reporter = new ScanReporter(io.stderr);
  const say = (text: string) => {
    reporter.say(text);
  };
  const logger = reporter.logger;

  const toStdout = settings.logsIngestion === undefined || a.stdout;
  let delivery: RunDelivery | undefined;
  let resume: ResumeState | undefined;
  try {
    if (!toStdout) {
      delivery = new RunDelivery(settings, logger, {
        budgetMs: settings.deliveryTimeBudgetMs,
        wait: a.waitForDelivery,
        overrides: { env: io.env, ...options.deliveryOverrides },
      });
    }
    if (a.resumePath !== undefined) {
      const destination = delivery
        ? `logs-ingestion ${delivery.target.ruleId} ${delivery.target.streamName}`
        : 'stdout';
      resume = ResumeState.open(a.resumePath, destination);
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

  const started = Date.now();
  const progress = (): Progress => ({
    inputsDone: totals.scanned + totals.resumed + totals.unreadable,
    inputsTotal: totals.listingDone ? totals.listed : undefined,
    bytesDone: totals.bytes + totals.resumedBytes,
    bytesTotal: totals.listingDone && totals.listedUnsized === 0 ? totals.listedBytes : undefined,
    alerts: collector.size,
    elapsedMs: Date.now() - started,
    ...reporter.deliveryNote(delivery),
  });
  const timer = reporter.status.live
    ? setInterval(() => {
        reporter.status.update(progress());
      }, 250)
    : undefined;
  timer?.unref();

  let failure: unknown;
  try {
    await runScanInputs({
      inputs: scanInputs(a.sources, {
        io,
        settings,
        range: a.range,
        resume,
        totals,
        listing,
        say,
        signal: stop.signal,
        ...(options.deliveryOverrides?.blobClientOptions
          ? { blobClientOptions: options.deliveryOverrides.blobClientOptions }
          : {}),
      }),
      concurrency: a.concurrency,
      operationState: new MemoryOperationStateStore(),
      ...(a.allowlist === undefined ? {} : { allowlist: a.allowlist }),
      // The host storage's history when one is configured (a backfill fills it), else the run's own.
      captureHistory: createCaptureHistoryStore(settings),
      prefilter: !a.validate,
      context: { protectedResourceIds: settings.protectedResourceIds },
      collector,
      delivery,
      resume,
      status: reporter.status,
      logger,
      signal: stop.signal,
      totals,
    });
  } catch (error) {
    failure = error;
  } finally {
    if (timer) clearInterval(timer);
    stop.dispose();
    reporter.status.clear();
  }
  const interrupted = stop.signal.aborted;
  if (failure !== undefined) say(`stopped by an unexpected error: ${errorText(failure)}`);

  const noInput = totals.listed === 0 && !interrupted && failure === undefined;
  if (noInput) {
    const where = a.positionals.map((p) => (isBlobUrl(p) ? parseBlobUrl(p).display : p)).join(', ');
    const outside = listing.outsideRange + listing.undated;
    return usageError(
      io,
      'scan',
      outside > 0
        ? `no input found in ${describeRange(a.range ?? {})} (${plural(outside, 'file')} or folders outside it${listing.undated > 0 ? `, ${listing.undated} without the y=/m=/d=/h= layout` : ''}) in ${where}`
        : `no input found in ${where} (directories are searched for ${EXPORT_EXTENSIONS_TEXT}; blob URLs for every blob under the prefix)`,
    );
  }

  if (toStdout) {
    const alerts = collector.all();
    if (a.format === 'table') {
      const width = io.stdout.columns ?? (Number(io.env.COLUMNS) || DEFAULT_TABLE_WIDTH);
      out(`${renderAlerts(alerts, width).join('\n')}\n`);
    } else if (alerts.length > 0) {
      out(`${alerts.map((a) => JSON.stringify(a)).join('\n')}\n`);
    }
  }
  const stranded = collector.undelivered();
  if (stranded.length > 0) out(`${stranded.map((a) => JSON.stringify(a)).join('\n')}\n`);

  writeLine(io.stderr, summaryLine(totals, collector, listing, a.range, delivery, Date.now() - started));
  for (const note of notes(totals, delivery, resume, interrupted, a.resumePath))
    writeLine(io.stderr, `scan: ${note}`);

  if (interrupted) return EXIT_INTERRUPTED;
  if (failure !== undefined) return EXIT_INTERNAL;
  if (totals.undelivered > 0) return EXIT_DELIVERY;
  if (totals.deadLettered > 0) return EXIT_DEAD_LETTERED;
  if (totals.malformed > 0 || totals.unreadable > 0) return EXIT_MALFORMED;
  return EXIT_OK;
}
