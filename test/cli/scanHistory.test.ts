import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { AlertRow } from '../../src/alert/columns';
import type { CliIo } from '../../src/cli/io';
import { main } from '../../src/cli/main';
import { startAzuriteTables, type AzuriteTablesInstance } from '../support/azurite';

/**
 * The callers' history through `scan`: in memory by default (its own input), and in the host storage's table
 * when one is configured, where a `scan --stdout` of an archive fills the history the function reads.
 */
const samples = join(__dirname, '../../samples');

async function scan(env: NodeJS.ProcessEnv): Promise<AlertRow[]> {
  const stdout = Object.assign(new PassThrough(), { isTTY: false });
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  const io: CliIo = { stdout, stderr: new PassThrough(), stdin: Readable.from(['']), env };
  expect(await main(['scan', '--stdout', '--format', 'jsonl', samples], io)).toBe(0);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AlertRow);
}

const mallory = (rows: readonly AlertRow[]) =>
  rows
    .filter((r) => r.Caller === 'mallory@contoso.example')
    .map((r) => r.CallerPriorCaptures)
    .sort((a, b) => a - b);

describe('scan and the callers history', () => {
  let azurite: AzuriteTablesInstance;

  beforeAll(async () => {
    azurite = await startAzuriteTables();
  }, 60_000);

  afterAll(async () => {
    await azurite.stop();
  });

  it('answers from its own input without table storage: the same caller, capture after capture', async () => {
    const rows = await scan({});
    // The samples hold 8 captures by one caller in one operation batch each, at distinct times.
    expect(mallory(rows)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rows.every((r) => r.CallerPriorCaptures >= 0 || r.Caller === '')).toBe(true);
  });

  it('records into the host storage table when there is one, so a second run sees the first', async () => {
    const env = { AzureWebJobsStorage: azurite.connectionString };
    const first = await scan(env);
    expect(mallory(first)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The same operations again: each is itself, never its own history, so the answers do not grow.
    const again = await scan(env);
    expect(mallory(again)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 60_000);
});
