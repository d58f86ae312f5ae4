/* `consume`'s command line: its help, its flags, and what they resolve to (hub, checkpoints, batching). */
import type { TokenCredential } from '@azure/identity';
import { loadSettings, type Settings } from '../../config/settings';
import { resolveEventHubTarget, type EventHubTarget } from '../../eventhubs/target';
import { nonEmpty } from '../../lib/text';
import { oneOf, parseCommand, positiveInteger, usageError, type CommandArgs } from '../command';
import type { CliIo } from '../io';
import { LOG_LEVELS, type LogLevel } from '../logger';
import {
  checkpointContainer,
  checkpointStorage,
  DEFAULT_CHECKPOINT_CONTAINER,
  type CheckpointLocation,
} from './checkpoints';

export const CONSUME_HELP = `Usage: packet-capture-detector consume [options]

Runs the detector as a standalone Event Hubs consumer (a container, Kubernetes, a laptop without Azure
Functions): reads every partition with a consumer group, passes each batch through the same pipeline and
delivery as the function, and checkpoints a batch in Blob Storage only after its alerts were delivered (or
dead-lettered). SIGINT/SIGTERM stop it gracefully: no new batches, in-flight batches finish and are
checkpointed, then it exits (a second signal exits at once with status 130; unfinished batches are read
again next time).

Event Hub (first found):
  --connection-string <cs>        also EVENTHUB_CONNECTION_STRING or EventHubConnection
  --namespace <fqdn>              DefaultAzureCredential / managed identity; also
                                  EventHubConnection__fullyQualifiedNamespace
  --hub <name>                    default: EntityPath, EVENTHUB_NAME, insights-activity-logs
  --consumer-group <name>         default: EVENTHUB_CONSUMER_GROUP, packet-capture-detector

Checkpoints (Blob Storage, official BlobCheckpointStore):
  --storage-connection-string <cs>  also AzureWebJobsStorage (UseDevelopmentStorage=true for Azurite)
  --blob-service-uri <url>          identity-based; also AzureWebJobsStorage__blobServiceUri or
                                    AzureWebJobsStorage__accountName
  --checkpoint-container <name>     default ${DEFAULT_CHECKPOINT_CONTAINER} (created if missing)

Options:
  --start-position earliest|latest  where a partition without a checkpoint starts (default earliest)
  --max-batch-size <n>              events per batch (default 100)
  --max-wait-seconds <n>            wait for a batch to fill (default 5)
  --stdout                          print alerts even when Logs Ingestion settings are present
  --log-level info|warn|error       JSON log lines on standard error (default info)
  -h, --help                        show this help
  --version                         show the version

Alerts go to the Log Analytics table when LOGS_INGESTION_ENDPOINT and LOGS_INGESTION_RULE_ID are set,
otherwise to standard output as JSON Lines.
Exit status: 0 stopped by a signal after finishing, 2 usage error, 3 the hub or checkpoint storage could not
be used (or refused access while running), 130 stopped by a second signal.`;

export interface ConsumeConfig {
  readonly settings: Settings;
  readonly target: EventHubTarget;
  readonly consumerGroup: string;
  readonly checkpoints: CheckpointLocation;
  readonly startPosition: 'earliest' | 'latest';
  readonly maxBatchSize: number;
  readonly maxWaitTimeInSeconds: number;
  readonly toStdout: boolean;
  readonly logLevel: LogLevel;
}

const SPEC = {
  name: 'consume',
  help: CONSUME_HELP,
  positionals: 'none',
  options: {
    'connection-string': { type: 'string' },
    namespace: { type: 'string' },
    hub: { type: 'string' },
    'consumer-group': { type: 'string' },
    'storage-connection-string': { type: 'string' },
    'blob-service-uri': { type: 'string' },
    'checkpoint-container': { type: 'string' },
    'start-position': { type: 'string' },
    'max-batch-size': { type: 'string' },
    'max-wait-seconds': { type: 'string' },
    stdout: { type: 'boolean', default: false },
    'log-level': { type: 'string' },
  },
} as const;

/** The command line and the environment resolved, or the exit code when the command must not run. */
export function readConsumeArgs(
  args: readonly string[],
  io: CliIo,
  credential: () => Promise<TokenCredential>,
): { ok: true; config: ConsumeConfig } | { ok: false; exit: number } {
  const parsed: CommandArgs<(typeof SPEC)['options']> = parseCommand(SPEC, args, io);
  if (!parsed.ok) return parsed;
  const v = parsed.values;
  try {
    const settings = loadSettings(io.env, 'cli');
    const target = resolveEventHubTarget(
      { connectionString: v['connection-string'], namespace: v.namespace, hub: v.hub },
      io.env,
    );
    const storage = checkpointStorage(
      { connectionString: v['storage-connection-string'], blobServiceUri: v['blob-service-uri'] },
      settings.hostStorage,
    );
    return {
      ok: true,
      config: {
        settings,
        target,
        consumerGroup: nonEmpty(v['consumer-group']) ?? settings.consumerGroup,
        checkpoints: checkpointContainer(storage, v['checkpoint-container'], credential),
        maxBatchSize: positiveInteger('--max-batch-size', v['max-batch-size'], 100),
        maxWaitTimeInSeconds: positiveInteger('--max-wait-seconds', v['max-wait-seconds'], 5),
        startPosition: oneOf('--start-position', v['start-position'], ['earliest', 'latest'], 'earliest'),
        logLevel: oneOf('--log-level', v['log-level'], LOG_LEVELS, 'info'),
        toStdout: v.stdout,
      },
    };
  } catch (error) {
    return { ok: false, exit: usageError(io, 'consume', error) };
  }
}
