/*
 * `scan`: the detector over export files, folders (the blob archive) or stdin, with the same pipeline and
 * delivery as the function.
 */
import type { AlertRow } from '../alert/columns';
import { loadSettings, type Settings } from '../config/settings';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { plural } from '../lib/text';
import type {
  AlertSink,
  BatchInfo,
  Delivery,
  DeliveryReport,
  Logger,
  MalformedMessage,
  MalformedStore,
} from '../pipeline/ports';
import { runBatch } from '../pipeline/runBatch';
import { oneOf, parseCommand, usageError } from './command';
import { expandInputs } from './files';
import {
  addOutcome,
  emptyOutcomeTotals,
  EXIT_DELIVERY,
  EXIT_MALFORMED,
  EXIT_OK,
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
  --version              show the version

Exit status: 0 all input read, 1 some input was malformed (alerts for good records are still printed),
2 usage error, 3 alerts could not be delivered.`;

/**
 * The run's alerts, held until the whole input was read: one row per AlertId, the most complete (highest
 * AlertRevision) when the lifecycle join completed an alert from a later file.
 */
class RunCollector implements AlertSink {
  readonly name = 'stdout';
  private readonly byId = new Map<string, AlertRow>();
  deliver(alerts: readonly AlertRow[]): Promise<DeliveryReport> {
    for (const alert of alerts) {
      const current = this.byId.get(alert.AlertId);
      if (!current || alert.AlertRevision >= current.AlertRevision) this.byId.set(alert.AlertId, alert);
    }
    return Promise.resolve({ delivered: alerts.length, retried: 0, deadLettered: 0 });
  }
  get rows(): AlertRow[] {
    return [...this.byId.values()];
  }
}

/** The scan's input files keep malformed lines already; the summary names where they are. */
class InputFilesMalformedStore implements MalformedStore {
  readonly name = 'input files';
  keep(_messages: readonly MalformedMessage[], _batch: BatchInfo): Promise<void> {
    return Promise.resolve();
  }
}

export async function runScan(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'scan',
      help: SCAN_HELP,
      positionals: 'required',
      positionalName: 'file, directory or -',
      options: {
        format: { type: 'string' },
        stdout: { type: 'boolean', default: false },
        validate: { type: 'boolean', default: false },
      },
    },
    args,
    io,
  );
  if (!parsed.ok) return parsed.exit;
  let format: 'jsonl' | 'table';
  let settings: Settings;
  let files;
  try {
    format = oneOf('--format', parsed.values.format, ['jsonl', 'table'], io.stdout.isTTY ? 'table' : 'jsonl');
    settings = loadSettings(io.env, 'cli');
    files = await expandInputs(parsed.positionals, io.stdin);
  } catch (error) {
    return usageError(io, 'scan', error);
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
  const collected = new RunCollector();
  const toTable = settings.logsIngestion === undefined || parsed.values.stdout;
  let delivery: Delivery;
  try {
    // The delivery code loads the Azure SDK clients on first use; imported only when scan is run.
    const { createDelivery, MemoryOperationStateStore } = await import('../deliver/index.js');
    delivery = createDelivery(settings, logger, {
      local: parsed.values.stdout,
      localSink: collected,
      // The join spans the whole input, whatever the order of its files, and nothing else.
      operationState: new MemoryOperationStateStore(),
      // Malformed lines stay in the scanned files (named on stderr); only alerts are delivered.
      malformedStore: new InputFilesMalformedStore(),
    });
  } catch (error) {
    return usageError(io, 'scan', error);
  }

  const totals = { files: files.length, ...emptyOutcomeTotals() };
  let deliveryFailed = false;
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await file.read();
    } catch (error) {
      writeLine(io.stderr, `scan: cannot read ${file.path}: ${errorText(error)}`);
      totals.malformed++;
      continue;
    }
    try {
      const outcome = await runBatch([bytes], [{ origin: file.path }], { source: 'file' }, delivery, logger, {
        prefilter: !parsed.values.validate,
        context: { protectedResourceIds: settings.protectedResourceIds },
      });
      addOutcome(totals, outcome);
    } catch (error) {
      deliveryFailed = true;
      const code = error instanceof DetectorError ? `${error.code}: ` : '';
      writeLine(io.stderr, `scan: delivery failed for ${file.path}: ${code}${errorText(error)}`);
    }
  }

  if (toTable) {
    if (format === 'table') writeTable(io, collected.rows);
    else for (const row of collected.rows) writeLine(io.stdout, JSON.stringify(row));
  }
  writeLine(
    io.stderr,
    `scanned ${plural(totals.files, 'file')} (${totals.prefiltered} skipped by the prefilter): ${totals.records} records decoded, ${plural(totals.alerts, 'alert')}, ${totals.malformed} malformed` +
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
  writeLine(io.stdout, `\n${plural(rows.length, 'alert')} (use --format jsonl for every column)`);
}

function cellText(value: unknown): string {
  return (typeof value === 'string' ? value : JSON.stringify(value)).replace(/\s+/g, ' ');
}
