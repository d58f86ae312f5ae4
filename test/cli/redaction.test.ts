import { captureIo } from '../e2e/cliHarness';
import { main } from '../../src/cli/main';

/**
 * Every command prints its errors through the one redacting error-to-text: a secret that reaches an error
 * message (here through a value the command echoes back) never reaches the terminal.
 */
const SECRETS = {
  sas: {
    text: 'https://acct.blob.core.windows.net/c?sv=2024-01-01&sig=SASsecret123',
    secret: 'SASsecret123',
  },
  accountKey: { text: 'AccountName=a;AccountKey=KEYsecret456==', secret: 'KEYsecret456' },
  bearer: { text: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.TOKsecret789', secret: 'TOKsecret789' },
} as const;

/** For each command, arguments whose error message quotes `value`. */
const COMMANDS: readonly (readonly [string, (value: string) => string[]])[] = [
  ['scan', (v) => ['scan', '--format', v, 'samples']],
  ['scan (input path)', (v) => ['scan', `/no/such/input/${v}`]],
  ['send', (v) => ['send', '--records-per-event', v, 'samples']],
  ['send (connection string)', (v) => ['send', '--connection-string', v, 'samples']],
  ['consume', (v) => ['consume', '--start-position', v]],
  ['replay-dead-letters', (v) => ['replay-dead-letters', '--max', v]],
];

describe.each(COMMANDS)('%s', (_name, argsFor) => {
  it.each(Object.entries(SECRETS))('prints a %s in an error redacted', async (_kind, { text, secret }) => {
    const run = captureIo({
      env: {
        EVENTHUB_CONNECTION_STRING:
          'Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=k;SharedAccessKey=x;UseDevelopmentEmulator=true',
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      },
    });
    const code = await main(argsFor(text), run.io);
    expect(code).not.toBe(0);
    const printed = run.stderr() + run.stdout();
    // The value was quoted in the error (so the secret did reach a message) and masked there.
    expect(printed).toMatch(/REDACTED/);
    expect(printed).not.toContain(secret);
  });
});
