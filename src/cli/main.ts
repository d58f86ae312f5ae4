import { SCAN_HELP, runScan, type DeliveryFactoryFromSettings } from './scan';
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

Run "packet-capture-detector <command> --help" for a command's options.`;

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Delivery loads the Azure SDK clients; imported only when a command is about to deliver. */
const deliveryFactory: DeliveryFactoryFromSettings = async (settings, logger) => {
  const { createDelivery } = await import('../deliver/index.js');
  return createDelivery(settings, logger);
};

const COMMANDS: Readonly<Record<string, Command>> = {
  scan: (args, io) => runScan(args, io, deliveryFactory),
  send: async (args, io) => (await import('./send.js')).runSend(args, io),
  consume: async (args, io) => (await import('./consume.js')).runConsume(args, io),
  'replay-dead-letters': async (args, io) => (await import('./replay.js')).runReplay(args, io),
};

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    writeLine(command === undefined ? io.stderr : io.stdout, HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      writeLine(io.stdout, HELP);
      return EXIT_OK;
    }
    if (topic === 'scan') {
      writeLine(io.stdout, SCAN_HELP);
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
      process.stderr.write(
        `packet-capture-detector: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 70;
    },
  );
}
