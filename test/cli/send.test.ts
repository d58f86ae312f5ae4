import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { expandInputs } from '../../src/cli/files';
import { decodeMessage } from '../../src/decode/decode';
import { detectBatch } from '../../src/pipeline/detectBatch';
import { captureIo } from '../e2e/cliHarness';
import { startEventHubsServer, type EventHubsServer, type StoredEvent } from '../support/eventHubsServer';

const samples = join(__dirname, '../../samples');

/** The bytes the producer put in the event's data section. */
function bodyBytes(event: StoredEvent): Buffer {
  const body: unknown = event.message.body;
  if (typeof body === 'object' && body !== null && 'content' in body && Buffer.isBuffer(body.content)) {
    return body.content;
  }
  throw new Error('event body is not a data section');
}

function sortedJson(values: readonly unknown[]): string[] {
  return values.map((v) => JSON.stringify(v)).sort();
}

async function recordsInFiles(paths: string[]): Promise<unknown[]> {
  const files = await expandInputs(paths, process.stdin);
  const records: unknown[] = [];
  for (const file of files) records.push(...decodeMessage(await file.read()).records);
  return records;
}

describe('packet-capture-detector send', () => {
  let server: EventHubsServer;

  afterEach(async () => {
    await server.close();
  });

  it('publishes samples/ so that the hub holds exactly the records the detector reads from the files', async () => {
    server = await startEventHubsServer();
    const run = captureIo({ env: { EVENTHUB_CONNECTION_STRING: server.connectionString } });
    const code = await main(['send', samples], run.io);
    expect(run.stderr()).not.toMatch(/not sent/);
    expect(code).toBe(0);

    const events = server.allEvents();
    const bodies = events.map((e) => JSON.parse(bodyBytes(e).toString('utf8')) as { records: unknown[] });
    for (const body of bodies) expect(Array.isArray(body.records)).toBe(true);
    expect(sortedJson(bodies.flatMap((b) => b.records))).toEqual(sortedJson(await recordsInFiles([samples])));
    // Whole bodies in the files are sent byte for byte.
    const seed = readFileSync(join(samples, 'seed-tests.eventhub.json'), 'utf8').trim();
    expect(events.some((e) => bodyBytes(e).toString('utf8') === seed)).toBe(true);
    expect(events.every((e) => e.message.content_type === 'application/json')).toBe(true);

    const summary = run.stderr().trim();
    expect(summary.split('\n')).toHaveLength(1);
    expect(summary).toMatch(
      new RegExp(
        `^sent ${events.length} events \\(\\d+ records, [\\d.]+ KB\\) in \\d+ batch(es)? to 127\\.0\\.0\\.1:\\d+/insights-activity-logs in [\\d.]+ s`,
      ),
    );
    expect(summary).not.toContain('\r');
    expect(run.stdout()).toBe('');
    expect(`${run.stdout()}${run.stderr()}`).not.toContain('SAS_KEY_VALUE');
  });

  it('packs events into batches within the hub maximum, never splitting a body, and reports a body too large', async () => {
    server = await startEventHubsServer({ maxMessageSize: 16 * 1024 });
    const dir = mkdtempSync(join(tmpdir(), 'pcd-send-'));
    const lines = Array.from({ length: 300 }, (_, n) =>
      JSON.stringify({
        time: '2025-12-22T11:00:00.0000000Z',
        operationName: 'X/READ',
        n,
        pad: 'p'.repeat(200),
      }),
    );
    writeFileSync(join(dir, 'PT1H.json'), `${lines.join('\n')}\n`);
    const wholeBody = { records: Array.from({ length: 30 }, (_, n) => ({ whole: n, pad: 'w'.repeat(100) })) };
    writeFileSync(join(dir, 'whole.json'), JSON.stringify(wholeBody));
    const hugeBody = { records: [{ pad: 'h'.repeat(40_000) }] };
    writeFileSync(join(dir, 'zz-huge.json'), JSON.stringify(hugeBody));

    const run = captureIo({ env: { EventHubConnection: server.namespaceConnectionString } });
    const code = await main(['send', '--records-per-event', '25', dir], run.io);
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(
      /not sent .*zz-huge\.json: MESSAGE_TOO_LARGE: The body is 40\d\d\d bytes; .* up to 16384 bytes/,
    );
    expect(run.stderr()).toMatch(/; 1 input problem not sent$/m);

    expect(server.stats.transfersRejected).toBe(0);
    expect(server.stats.transfersAccepted).toBeGreaterThan(1);
    const bodies = server
      .allEvents()
      .map((e) => JSON.parse(bodyBytes(e).toString('utf8')) as { records: unknown[] });
    // The whole body arrived as one event, the loose records in groups of at most 25, all of them.
    expect(bodies.filter((b) => JSON.stringify(b) === JSON.stringify(wholeBody))).toHaveLength(1);
    const grouped = bodies.filter((b) => JSON.stringify(b) !== JSON.stringify(wholeBody));
    expect(grouped.every((b) => b.records.length <= 25)).toBe(true);
    // Batches spread over partitions, so compare the set; each group keeps its records in file order.
    for (const group of grouped) {
      const ns = (group.records as { n: number }[]).map((r) => r.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
    expect(
      grouped
        .flatMap((b) => b.records as { n: number }[])
        .map((r) => r.n)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 300 }, (_, n) => n));
    expect(bodies.some((b) => JSON.stringify(b).includes('hhhh'))).toBe(false);
  });

  it('draws a progress bar on a terminal and reads JSON Lines from stdin', async () => {
    server = await startEventHubsServer();
    const stdin = [{ a: 1 }, { a: 2 }, { a: 3 }].map((r) => JSON.stringify(r)).join('\n');
    const run = captureIo({
      env: { EVENTHUB_CONNECTION_STRING: server.connectionString },
      stdin,
      stderrTty: true,
    });
    const code = await main(['send', '--records-per-event', '2', '-'], run.io);
    expect(code).toBe(0);
    expect(run.stderr()).toMatch(/\r\[#+\] 2\/2 events \d+ B\n/);
    expect(run.stderr()).toMatch(/sent 2 events \(3 records/);
    expect(server.allEvents()).toHaveLength(2);
  });

  it('marks every record with --smoke-test, says which run, and every alert row of the run keeps it', async () => {
    server = await startEventHubsServer();
    const run = captureIo({ env: { EVENTHUB_CONNECTION_STRING: server.connectionString } });
    expect(await main(['send', '--smoke-test', samples], run.io)).toBe(0);
    const id = /^send: smoke test (smoke-\d{8}T\d{6}Z-[0-9a-f]{6}): /m.exec(run.stderr())?.[1];
    expect(id).toBeDefined();
    expect(run.stderr()).toContain(`PacketCaptureAlerts_CL | where SmokeTestId == "${id ?? ''}"`);

    const bodies = server.allEvents().map((e) => bodyBytes(e));
    const records = bodies.flatMap((b) => decodeMessage(b).records) as Record<string, unknown>[];
    const original = (await recordsInFiles([samples])) as Record<string, unknown>[];
    expect(records).toHaveLength(original.length);
    for (const r of records) expect(r.packetCaptureDetectorSmokeTest).toBe(id);
    // Apart from the marker, the records are the files' records.
    expect(sortedJson(records.map(({ packetCaptureDetectorSmokeTest: _m, ...rest }) => rest))).toEqual(
      sortedJson(original),
    );

    // What the detector makes of them: the same alerts as the unmarked samples, each one marked, new ids.
    const marked = detectBatch(bodies, () => ({})).alerts;
    const unmarked = detectBatch(
      original.map((r) => JSON.stringify({ records: [r] })),
      () => ({}),
    ).alerts;
    expect(marked.length).toBeGreaterThan(5);
    expect(marked).toHaveLength(unmarked.length);
    expect(new Set(marked.map((a) => a.SmokeTestId))).toEqual(new Set([id]));
    expect(unmarked.every((a) => a.SmokeTestId === '')).toBe(true);
    const realIds = new Set(unmarked.map((a) => a.AlertId));
    expect(marked.filter((a) => realIds.has(a.AlertId))).toEqual([]);
  });

  it('takes a given run id, and refuses a bad one or --raw with it', async () => {
    server = await startEventHubsServer();
    const env = { EVENTHUB_CONNECTION_STRING: server.connectionString };
    const given = captureIo({ env });
    expect(
      await main(
        ['send', '--smoke-test-id', 'deploy-42', join(samples, 'seed-tests.eventhub.json')],
        given.io,
      ),
    ).toBe(0);
    const body = JSON.parse(bodyBytes(server.allEvents()[0]!).toString('utf8')) as {
      records: Record<string, unknown>[];
    };
    expect(body.records.map((r) => r.packetCaptureDetectorSmokeTest)).toEqual(
      body.records.map(() => 'deploy-42'),
    );
    const bad = captureIo({ env });
    expect(await main(['send', '--smoke-test-id', 'a b"', samples], bad.io)).toBe(2);
    expect(bad.stderr()).toMatch(/--smoke-test-id must be 1 to 64 letters/);
    const raw = captureIo({ env });
    expect(await main(['send', '--smoke-test', '--raw', samples], raw.io)).toBe(2);
    expect(raw.stderr()).toMatch(/cannot be combined with --raw/);
  });

  it('sends files unparsed with --raw (to exercise the detector on malformed messages)', async () => {
    server = await startEventHubsServer();
    const dir = mkdtempSync(join(tmpdir(), 'pcd-send-raw-'));
    writeFileSync(join(dir, 'broken.json'), '{"records": [ {"time": ');
    const run = captureIo({ env: { EVENTHUB_CONNECTION_STRING: server.connectionString } });
    expect(await main(['send', '--raw', join(dir, 'broken.json')], run.io)).toBe(0);
    expect(server.allEvents().map((e) => bodyBytes(e).toString('utf8'))).toEqual(['{"records": [ {"time": ']);
  });

  it('fails with exit 3 and no secret in the output when the hub refuses the key', async () => {
    server = await startEventHubsServer();
    const wrong = server.connectionString.replace('SAS_KEY_VALUE', 'wrong-secret-value');
    const run = captureIo();
    const code = await main(['send', '--connection-string', wrong, samples], run.io);
    expect(code).toBe(3);
    expect(run.stderr()).toMatch(
      /^send: publishing to 127\.0\.0\.1:\d+\/insights-activity-logs failed: UnauthorizedError: InvalidSignature: signature mismatch\n$/,
    );
    expect(run.stderr()).not.toContain('wrong-secret-value');
    expect(server.allEvents()).toHaveLength(0);
  }, 30_000);

  it('rejects usage errors before connecting', async () => {
    server = await startEventHubsServer();
    const env = { EVENTHUB_CONNECTION_STRING: server.connectionString };
    const noInput = captureIo({ env });
    expect(await main(['send'], noInput.io)).toBe(2);
    expect(noInput.stderr()).toMatch(/expected at least one file/);
    const noHub = captureIo();
    expect(await main(['send', samples], noHub.io)).toBe(2);
    expect(noHub.stderr()).toMatch(/No Event Hub given/);
    const badCount = captureIo({ env });
    expect(await main(['send', '--records-per-event', '0', samples], badCount.io)).toBe(2);
    const missing = captureIo({ env });
    expect(await main(['send', join(samples, 'does-not-exist.json')], missing.io)).toBe(2);
    expect(missing.stderr()).toMatch(/Cannot read input/);
    const help = captureIo();
    expect(await main(['send', '--help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/Usage: packet-capture-detector send/);
    expect(server.stats.connectionsOpened).toBe(0);
  });
});
