/*
 * `scan`'s command line: its help, its options read and checked (a bad one is a usage error before any input
 * is read), and the inputs named, in the order given.
 */
import { loadSettings, type Settings } from '../../config/settings';
import { loadAllowlistFile, type Allowlist } from '../../triage/allowlist';
import { oneOf, parseCommand, positiveInteger, usageError } from '../command';
import { EXPORT_EXTENSIONS_TEXT } from '../files';
import type { CliIo } from '../io';
import { isBlobUrl, parseBlobUrl, type BlobLocation } from './blobSource';
import { timeRangeOf, type TimeRange } from './timeRange';

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

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BLOB_CONCURRENCY = 16;

export interface Sources {
  readonly stdin: boolean;
  readonly locals: string[];
  readonly blobs: BlobLocation[];
  /** In the order given, for reading in that order. */
  readonly order: readonly (
    { kind: 'stdin' } | { kind: 'local'; path: string } | { kind: 'blob'; location: BlobLocation }
  )[];
}

export function readSources(positionals: readonly string[]): Sources {
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

/** A scan's command line, checked. */
export interface ScanArgs {
  readonly format: 'jsonl' | 'table';
  readonly settings: Settings;
  readonly sources: Sources;
  readonly range: TimeRange | undefined;
  readonly concurrency: number;
  readonly allowlist: Allowlist | undefined;
  readonly positionals: readonly string[];
  /** --stdout: print alerts even when Logs Ingestion settings are present. */
  readonly stdout: boolean;
  readonly validate: boolean;
  readonly resumePath: string | undefined;
  readonly waitForDelivery: boolean;
}

/** The checked command line, or the exit status when it was help, a version or a usage error. */
export function parseScanArgs(
  args: string[],
  io: CliIo,
): { ok: true; args: ScanArgs } | { ok: false; exit: number } {
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
  if (!parsed.ok) return parsed;
  const v = parsed.values;
  try {
    // In this order, so that the first problem named is the first option's.
    const format = oneOf('--format', v.format, ['jsonl', 'table'], io.stdout.isTTY ? 'table' : 'jsonl');
    const range = timeRangeOf(v.since, v.until);
    const sources = readSources(parsed.positionals);
    const concurrency = positiveInteger(
      '--concurrency',
      v.concurrency,
      sources.blobs.length > 0 ? DEFAULT_BLOB_CONCURRENCY : DEFAULT_CONCURRENCY,
    );
    const settings = loadSettings(io.env, 'cli');
    const allowlist = v.allowlist === undefined ? settings.allowlist : loadAllowlistFile(v.allowlist);
    return {
      ok: true,
      args: {
        format,
        range,
        sources,
        concurrency,
        settings,
        allowlist,
        positionals: parsed.positionals,
        stdout: v.stdout,
        validate: v.validate,
        resumePath: v.resume,
        waitForDelivery: v['wait-for-delivery'],
      },
    };
  } catch (error) {
    return { ok: false, exit: usageError(io, 'scan', error) };
  }
}
