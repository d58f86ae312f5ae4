/*
 * `send`: publishes export bodies to an Event Hub as a diagnostic setting does (the local loop with the
 * emulator, and the smoke test after a deployment).
 */
import { randomBytes } from 'node:crypto';
import type { EventDataBatch, EventHubProducerClient } from '@azure/event-hubs';
import { bodiesFromText, type InputProblem, type OutgoingBody } from '../eventhubs/bodies';
import { createProducer, credentialFor } from '../eventhubs/clients';
import { describeTarget, resolveEventHubTarget, type EventHubTarget } from '../eventhubs/target';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { formatBytes, plural } from '../lib/text';
import { SMOKE_TEST_FIELD } from '../normalize/activityEvent';
import { parseCommand, positiveInteger, usageError } from './command';
import { expandInputs, type InputFile } from './files';
import { EXIT_DELIVERY, EXIT_MALFORMED, EXIT_OK, EXIT_USAGE, writeLine, type CliIo } from './io';

export const SEND_HELP = `Usage: packet-capture-detector send [options] <file|dir|->...

Publishes Activity Log export bodies ({"records":[...]}) to an Event Hub, as a diagnostic setting does:
the local loop with the emulator, and the smoke test after a deployment ("send samples/", then query the
alert table). A body found in the input is sent as one event, never split; loose records (JSON Lines such
as the blob archive's PT1H.json, arrays of records) are grouped into bodies. Events are packed into batches
up to the hub's maximum size. A body larger than the hub's maximum event size is an error (reported, not
sent). Directories are walked recursively (*.json, *.jsonl, *.ndjson); "-" reads standard input.

Connection (first found):
  --connection-string <cs>   Event Hubs connection string (emulator: ...;UseDevelopmentEmulator=true);
                             also read from EVENTHUB_CONNECTION_STRING or EventHubConnection
  --namespace <fqdn>         <namespace>.servicebus.windows.net, signing in with DefaultAzureCredential
                             (Azure CLI, azd, managed identity...); also EventHubConnection__fullyQualifiedNamespace
  --hub <name>               Event Hub name (default: EntityPath, EVENTHUB_NAME, insights-activity-logs)

Options:
  --records-per-event <n>    records per grouped body (default 100)
  --raw                      send each file's bytes as one event, unparsed (to test malformed input)
  --smoke-test               mark every record as the smoke test's: a top-level field
                             "${SMOKE_TEST_FIELD}": "<run id>" that no Azure record carries. The alert
                             rows keep it (column SmokeTestId) and the analytics rule skips them: the path
                             is proven without paging anyone. The run id is printed.
  --smoke-test-id <id>       the same, with this run id (letters, digits, . _ : -; at most 64)
  -h, --help                 show this help
  --version                  show the version

Progress goes to standard error (a bar on a terminal, one summary line otherwise).
Exit status: 0 everything sent, 1 some input was malformed or too large (the rest was sent),
2 usage error, 3 publishing failed.`;

const DEFAULT_RECORDS_PER_EVENT = 100;
/** Room left in a grouped body for the AMQP encoding of the event around it. */
const EVENT_OVERHEAD_BYTES = 1024;

export interface SendSummary {
  readonly events: number;
  readonly records: number;
  readonly bytes: number;
  readonly batches: number;
  readonly seconds: number;
  readonly problems: readonly InputProblem[];
}

/** A one-line progress bar redrawn in place on a terminal (no dependency, no colours). */
class ProgressBar {
  private lastDraw = 0;

  constructor(
    private readonly stream: CliIo['stderr'],
    private readonly total: number,
  ) {}

  update(sent: number, bytes: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const columns = this.stream.columns ?? 80;
    const label = ` ${sent}/${this.total} events ${formatBytes(bytes)}`;
    const width = Math.max(10, Math.min(40, columns - label.length - 4));
    const filled = this.total === 0 ? width : Math.round((sent / this.total) * width);
    this.stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${label}`);
  }

  /** Prints a line above the bar without leaving a half-drawn bar behind. */
  log(text: string): void {
    this.stream.write(`\r\x1b[K${text}\n`);
    this.lastDraw = 0;
  }

  finish(): void {
    this.stream.write('\n');
  }
}

function describeProblem(problem: InputProblem): string {
  return `send: not sent ${problem.origin}: ${problem.code}: ${problem.reason}`;
}

export async function runSend(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand(
    {
      name: 'send',
      help: SEND_HELP,
      positionals: 'required',
      positionalName: 'file, directory or -',
      options: {
        'connection-string': { type: 'string' },
        namespace: { type: 'string' },
        hub: { type: 'string' },
        'records-per-event': { type: 'string' },
        raw: { type: 'boolean', default: false },
        'smoke-test': { type: 'boolean', default: false },
        'smoke-test-id': { type: 'string' },
      },
    },
    args,
    io,
  );
  if (!parsed.ok) return parsed.exit;
  const values = parsed.values;

  const smokeTest = values['smoke-test-id'] ?? (values['smoke-test'] ? newSmokeTestId() : undefined);
  if (smokeTest !== undefined && !SMOKE_TEST_ID.test(smokeTest)) {
    return usageError(
      io,
      'send',
      `--smoke-test-id must be 1 to 64 letters, digits, '.', '_', ':' or '-', got "${smokeTest}"`,
    );
  }
  if (smokeTest !== undefined && values.raw) {
    return usageError(io, 'send', '--smoke-test marks parsed records; it cannot be combined with --raw');
  }

  let recordsPerEvent: number;
  let target: EventHubTarget;
  let files: InputFile[];
  try {
    recordsPerEvent = positiveInteger(
      '--records-per-event',
      values['records-per-event'],
      DEFAULT_RECORDS_PER_EVENT,
    );
    target = resolveEventHubTarget(
      { connectionString: values['connection-string'], namespace: values.namespace, hub: values.hub },
      io.env,
    );
    files = await expandInputs(parsed.positionals, io.stdin);
  } catch (error) {
    return usageError(io, 'send', error);
  }
  if (files.length === 0) {
    return usageError(
      io,
      'send',
      'no input files found (directories are searched for *.json, *.jsonl, *.ndjson)',
    );
  }

  let producer: EventHubProducerClient | undefined;
  try {
    producer = await createProducer(target, credentialFor(io.env));
    if (smokeTest !== undefined) {
      writeLine(
        io.stderr,
        `send: smoke test ${smokeTest}: every record carries "${SMOKE_TEST_FIELD}": "${smokeTest}"; ` +
          `its alert rows: PacketCaptureAlerts_CL | where SmokeTestId == "${smokeTest}"`,
      );
    }
    const summary = await publish(
      producer,
      target,
      files,
      { recordsPerEvent, raw: values.raw, smokeTest },
      io,
    );
    const rate = summary.seconds > 0 ? summary.events / summary.seconds : summary.events;
    writeLine(
      io.stderr,
      `sent ${plural(summary.events, 'event')} (${summary.records} records, ${formatBytes(summary.bytes)}) ` +
        `in ${plural(summary.batches, 'batch', 'batches')} to ${describeTarget(target)} ` +
        `in ${summary.seconds.toFixed(2)} s (${rate.toFixed(1)} events/s)` +
        (summary.problems.length > 0 ? `; ${plural(summary.problems.length, 'input problem')} not sent` : ''),
    );
    return summary.problems.length > 0 ? EXIT_MALFORMED : EXIT_OK;
  } catch (error) {
    const sent = error instanceof PublishError ? ` after ${error.eventsSent} events were sent` : '';
    const code = error instanceof DetectorError ? `${error.code}: ` : '';
    writeLine(
      io.stderr,
      `send: publishing to ${describeTarget(target)} failed${sent}: ${code}${errorText(error)}`,
    );
    return error instanceof DetectorError && error.code === 'USAGE' ? EXIT_USAGE : EXIT_DELIVERY;
  } finally {
    await producer?.close().catch(() => undefined);
  }
}

const SMOKE_TEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** `smoke-<UTC time>-<random>`: sortable, and distinct for two runs in the same second. */
function newSmokeTestId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return `smoke-${stamp}-${randomBytes(3).toString('hex')}`;
}

class PublishError extends Error {
  constructor(
    readonly eventsSent: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'PublishError';
  }
}

async function publish(
  producer: EventHubProducerClient,
  target: EventHubTarget,
  files: readonly InputFile[],
  options: { recordsPerEvent: number; raw: boolean; smokeTest: string | undefined },
  io: CliIo,
): Promise<SendSummary> {
  const started = Date.now();
  // The hub's limit comes from the link: an empty batch reports it before anything is read or sent.
  let batch: EventDataBatch = await producer.createBatch();
  const maxBodyBytes = Math.max(1024, batch.maxSizeInBytes - EVENT_OVERHEAD_BYTES);

  const bodies: OutgoingBody[] = [];
  const problems: InputProblem[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await file.read();
    } catch (error) {
      problems.push({ origin: file.path, code: 'USAGE', reason: `Cannot read: ${errorText(error)}` });
      continue;
    }
    if (options.raw) {
      bodies.push({ origin: file.path, records: 0, bytes });
      continue;
    }
    const found = bodiesFromText(file.path, bytes, {
      recordsPerEvent: options.recordsPerEvent,
      maxBodyBytes,
      ...(options.smokeTest === undefined
        ? {}
        : { mark: { field: SMOKE_TEST_FIELD, value: options.smokeTest } }),
    });
    for (const body of found.bodies) bodies.push(body);
    for (const problem of found.problems) problems.push(problem);
  }
  for (const problem of problems) writeLine(io.stderr, describeProblem(problem));

  const progress = io.stderr.isTTY ? new ProgressBar(io.stderr, bodies.length) : undefined;
  let sentEvents = 0;
  let sentRecords = 0;
  let sentBytes = 0;
  let batches = 0;
  let pending: OutgoingBody[] = [];

  const flush = async (): Promise<void> => {
    if (batch.count === 0) return;
    try {
      await producer.sendBatch(batch);
    } catch (error) {
      throw new PublishError(sentEvents, error);
    }
    batches += 1;
    for (const body of pending) {
      sentEvents += 1;
      sentRecords += body.records;
      sentBytes += body.bytes.length;
    }
    pending = [];
    progress?.update(sentEvents, sentBytes);
    batch = await producer.createBatch();
  };

  for (const body of bodies) {
    const event = { body: body.bytes, contentType: 'application/json' };
    if (batch.tryAdd(event)) {
      pending.push(body);
      continue;
    }
    await flush();
    if (batch.tryAdd(event)) {
      pending.push(body);
      continue;
    }
    const tooLarge: InputProblem = {
      origin: body.origin,
      code: 'MESSAGE_TOO_LARGE',
      reason: `The body is ${body.bytes.length} bytes; ${describeTarget(target)} accepts events up to ${batch.maxSizeInBytes} bytes (AMQP encoding included). Split it into smaller {"records":[...]} bodies.`,
    };
    problems.push(tooLarge);
    if (progress) progress.log(describeProblem(tooLarge));
    else writeLine(io.stderr, describeProblem(tooLarge));
  }
  await flush();
  if (progress) {
    progress.update(sentEvents, sentBytes, true);
    progress.finish();
  }
  return {
    events: sentEvents,
    records: sentRecords,
    bytes: sentBytes,
    batches,
    seconds: (Date.now() - started) / 1000,
    problems,
  };
}
