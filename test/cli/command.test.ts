import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { oneOf, packageVersion, positiveInteger } from '../../src/cli/command';
import { main } from '../../src/cli/main';
import { plural } from '../../src/lib/text';
import { captureIo } from '../e2e/cliHarness';

const version = (
  JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }
).version;

describe('the command scaffold', () => {
  it('reads the package version', () => {
    expect(packageVersion()).toBe(version);
  });

  it.each([
    [['--version']],
    [['scan', '--version']],
    [['send', '--version']],
    [['consume', '--version']],
    [['replay-dead-letters', '--version']],
  ])('%j prints the version and exits 0', async (args) => {
    const run = captureIo();
    expect(await main(args, run.io)).toBe(0);
    expect(run.stdout().trim()).toBe(`packet-capture-detector ${version}`);
  });

  it.each([['scan'], ['send'], ['consume'], ['replay-dead-letters']])(
    '%s --help prints its usage and exits 0; an unknown option is a usage error with the help',
    async (command) => {
      const help = captureIo();
      expect(await main([command, '--help'], help.io)).toBe(0);
      expect(help.stdout()).toMatch(new RegExp(`^Usage: packet-capture-detector ${command}`));
      const bad = captureIo();
      expect(await main([command, '--no-such-option'], bad.io)).toBe(2);
      expect(bad.stderr()).toMatch(new RegExp(`^${command}: .*--no-such-option[\\s\\S]*Usage:`));
    },
  );

  it('reads positive integers and fixed choices, naming the option and the value on error', () => {
    expect(positiveInteger('--max', undefined, 7)).toBe(7);
    expect(positiveInteger('--max', '12', 7)).toBe(12);
    for (const bad of ['0', '-1', '1.5', 'x', ''])
      expect(() => positiveInteger('--max', bad, 7)).toThrow(
        `--max must be a whole number of at least 1, got "${bad}"`,
      );
    expect(oneOf('--format', 'table', ['jsonl', 'table'], 'jsonl')).toBe('table');
    expect(() => oneOf('--level', 'x', ['info', 'warn', 'error'], 'info')).toThrow(
      '--level must be info, warn or error, got "x"',
    );
  });

  it('counts in words', () => {
    expect(plural(1, 'alert')).toBe('1 alert');
    expect(plural(0, 'alert')).toBe('0 alerts');
    expect(plural(2, 'batch', 'batches')).toBe('2 batches');
  });
});
