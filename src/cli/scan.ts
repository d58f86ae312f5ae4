import { parseArgs } from 'node:util';
import type { AlertRow } from '../alert/columns';
import { loadSettings, type Settings } from '../config/settings';
import { DetectorError } from '../errors';
import { processEventBatch, type Delivery } from '../handler/eventHubHandler';
import { StdoutSink } from '../deliver/stdoutSink';
import type {
  AlertSink,
  BatchInfo,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MalformedStore,
} from '../deliver/types';
import { expandInputs } from './files';
import {
  addOutcome,
  emptyOutcomeTotals,
  EXIT_DELIVERY,
  EXIT_MALFORMED,
  EXIT_OK,
  EXIT_USAGE,
  writeLine,
  type CliIo,
} from './io';

export const SCAN_HELP = `Usage: packet-capture-detector scan [options] <file|dir|->...

Runs the detector over Activity Log exports: Event Hubs bodies ({"records":[...]}), single records, arrays,
JSON Lines (the blob archive's PT1H.json) and AzureActivity-shaped rows. Directories are walked recursively
(*.json, *.jsonl, *.ndjson); "-" reads standard input.

Alerts go to standard output, or to the Log Analytics table when LOGS_INGESTION_ENDPOINT and
LOGS_INGESTION_RULE_ID are set (the same delivery code as the function, so it also needs a dead-letter
store for alerts it cannot deliver: DEAD_LETTER_BLOB_SERVICE_URI, AzureWebJobsStorage__blobServiceUri or
AzureWebJobsStorage). A summary goes to standard error.

Options:
  --format jsonl|table   jsonl: one alert row per line (default when stdout is not a terminal)
                         table: a readable table (default on a terminal)
  --stdout               print alerts even when Logs Ingestion settings are present
  --validate             parse and validate every file; by default a well-formed file with no capture
                         operation is skipped unparsed (the byte prefilter), so damage inside it is not reported
  -h, --help             show this help

Exit status: 0 all input read, 1 some input was malformed (alerts for good records are still printed),
2 usage error, 3 alerts could not be delivered.`;

export type DeliveryFactoryFromSettings = (settings: Settings, logger: Logger) => Promise<Delivery>;

/** Alerts held until the end, then printed as a table sorted by time. */
class TableSink implements AlertSink {
  readonly name = 'table';
  readonly rows: AlertRow[] = [];
  deliver(alerts: readonly AlertRow[]): Promise<DeliveryReport> {
    this.rows.push(...alerts);
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
}

/** The scan's input files keep malformed lines already; the summary names where they are. */
class CountingMalformedStore implements MalformedStore {
  readonly name = 'input files';
  keep(_messages: readonly MalformedMessage[], _batch: BatchInfo): Promise<void> {
    return Promise.resolve();
  }
}

export async function runScan(
  args: string[],
  io: CliIo,
  deliveryFactory: DeliveryFactoryFromSettings,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        stdout: { type: 'boolean', default: false },
        validate: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    writeLine(io.stderr, `scan: ${error instanceof Error ? error.message : String(error)}\n\n${SCAN_HELP}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) {
    writeLine(io.stdout, SCAN_HELP);
    return EXIT_OK;
  }
  const format = parsed.values.format ?? (io.stdout.isTTY ? 'table' : 'jsonl');
  if (format !== 'jsonl' && format !== 'table') {
    writeLine(io.stderr, `scan: --format must be jsonl or table, got "${format}"`);
    return EXIT_USAGE;
  }
  if (parsed.positionals.length === 0) {
    writeLine(io.stderr, `scan: expected at least one file, directory or -\n\n${SCAN_HELP}`);
    return EXIT_USAGE;
  }

  let settings: Settings;
  let files;
  try {
    settings = loadSettings(io.env, 'cli');
    files = await expandInputs(parsed.positionals, io.stdin);
  } catch (error) {
    writeLine(io.stderr, `scan: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }

  const logger: Logger = {
    info: () => undefined,
    warn: (message, fields) => {
      writeLine(io.stderr, typeof fields?.summary === 'string' ? fields.summary : message);
    },
    error: (message, fields) => {
      writeLine(io.stderr, `${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
    },
  };
  const table = new TableSink();
  const toTable = settings.logsIngestion === undefined || parsed.values.stdout;
  let delivery: Delivery;
  try {
    delivery = toTable
      ? {
          sink: format === 'table' ? table : new StdoutSink(io.stdout),
          malformedStore: new CountingMalformedStore(),
        }
      : // Malformed lines stay in the scanned files (named on stderr); only alerts go to the table.
        {
          sink: (await deliveryFactory(settings, logger)).sink,
          malformedStore: new CountingMalformedStore(),
        };
  } catch (error) {
    writeLine(io.stderr, `scan: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }

  const totals = { files: files.length, ...emptyOutcomeTotals() };
  let deliveryFailed = false;
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await file.read();
    } catch (error) {
      writeLine(
        io.stderr,
        `scan: cannot read ${file.path}: ${error instanceof Error ? error.message : String(error)}`,
      );
      totals.malformed++;
      continue;
    }
    try {
      const outcome = await processEventBatch(
        [bytes],
        [{ origin: file.path }],
        { source: 'file' },
        delivery,
        logger,
        { prefilter: !parsed.values.validate },
      );
      addOutcome(totals, outcome);
    } catch (error) {
      deliveryFailed = true;
      const code = error instanceof DetectorError ? `${error.code}: ` : '';
      writeLine(
        io.stderr,
        `scan: delivery failed for ${file.path}: ${code}${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  if (format === 'table' && toTable) writeTable(io, table.rows);
  writeLine(
    io.stderr,
    `scanned ${totals.files} file${totals.files === 1 ? '' : 's'} (${totals.prefiltered} skipped by the prefilter): ${totals.records} records decoded, ${totals.alerts} alerts, ${totals.malformed} malformed` +
      (toTable
        ? ''
        : `; delivered ${totals.delivered} to ${delivery.sink.name}, dead-lettered ${totals.deadLettered}`),
  );
  if (deliveryFailed) return EXIT_DELIVERY;
  return totals.malformed > 0 ? EXIT_MALFORMED : EXIT_OK;
}

const TABLE_COLUMNS: readonly (keyof AlertRow)[] = [
  'EventTime',
  'Severity',
  'CaptureKind',
  'Location',
  'Caller',
  'CallerIpAddress',
  'ResourceGroup',
  'ResourceName',
  'AlertId',
];

function writeTable(io: CliIo, rows: readonly AlertRow[]): void {
  if (rows.length === 0) {
    writeLine(io.stdout, 'No alerts.');
    return;
  }
  const sorted = [...rows].sort((a, b) =>
    a.EventTime < b.EventTime ? -1 : a.EventTime > b.EventTime ? 1 : 0,
  );
  const cells = sorted.map((r) => TABLE_COLUMNS.map((c) => cellText(r[c])));
  const widths = TABLE_COLUMNS.map((c, i) =>
    Math.min(40, Math.max(c.length, ...cells.map((row) => row[i]?.length ?? 0))),
  );
  const fmt = (values: readonly string[]) =>
    values
      .map((v, i) => {
        const w = widths[i] ?? 0;
        return v.length > w ? `${v.slice(0, w - 1)}…` : v.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  writeLine(io.stdout, fmt(TABLE_COLUMNS));
  writeLine(io.stdout, fmt(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) writeLine(io.stdout, fmt(row));
  writeLine(
    io.stdout,
    `\n${rows.length} alert${rows.length === 1 ? '' : 's'} (use --format jsonl for every column)`,
  );
}

function cellText(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, ' ');
}
