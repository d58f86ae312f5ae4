/*
 * The command line: one program, a command each for scanning files, sending to and consuming from an
 * Event Hub, and replaying dead letters. Commands that need an Azure SDK load it only when they run.
 */
import { errorText } from '../lib/errorText';
import { packageVersion, PROGRAM } from './command';
import { EXIT_OK, EXIT_USAGE, writeLine, type CliIo } from './io';

const HELP = `Usage: packet-capture-detector <command> [options]

Detects Azure operations that start a network packet capture or traffic mirror (MITRE ATT&CK T1040)
in Activity Log exports.

Commands:
  scan <file|dir|->...       run the detector over export files, folders (blob archive) or stdin
  send <file|dir|->...       publish export bodies to an Event Hub (smoke test, local loop)
  consume                    run the detector as a standalone Event Hubs consumer
  replay-dead-letters        re-send dead-lettered alerts to the Log Analytics table
  help [command]             show help for a command
  --version                  show the version

Run "packet-capture-detector <command> --help" for a command's options.`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  scan: async (args, io) => (await import('./scan.js')).runScan(args, io),
  send: async (args, io) => (await import('./send.js')).runSend(args, io),
  consume: async (args, io) => (await import('./consume/index.js')).runConsume(args, io),
  'replay-dead-letters': async (args, io) => (await import('./replay.js')).runReplay(args, io),
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    writeLine(command === undefined ? io.stderr : io.stdout, HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === '--version') {
    writeLine(io.stdout, `${PROGRAM} ${packageVersion()}`);
    return EXIT_OK;
  }
  if (command === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      writeLine(io.stdout, HELP);
      return EXIT_OK;
    }
    return main([topic, '--help'], io);
  }
  const run = COMMANDS[command];
  if (!run) {
    writeLine(io.stderr, `Unknown command "${command}".\n\n${HELP}`);
    return EXIT_USAGE;
  }
  return run(rest, io);
}

/** Entry for bin/: real process streams, exit code set without cutting pending output short. */
export function runCli(): void {
  // A reader that went away (`... | head -1`) is not an error of the command: no stack trace, no message.
  // Commands that write a lot stop writing on their own (scan listens too); this keeps the rest quiet.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    });
  }
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      // An unexpected failure: a one-line, redacted message (a stack trace can quote a token or a key).
      process.stderr.write(`${PROGRAM}: internal error: ${errorText(error)}\n`);
      process.exitCode = 70;
    },
  );
}
