/*
 * Where `consume` keeps its checkpoints: a blob container of the same storage account the function uses
 * (the settings' host storage) unless flags name another, through the official BlobCheckpointStore.
 */
import type { TokenCredential } from '@azure/identity';
import { ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { CONTAINER_NAME, CONTAINER_NAME_RULE, type StorageEndpoint } from '../../config/settings';
import { DetectorError } from '../../lib/errors';
import { errorText } from '../../lib/errorText';
import { nonEmpty } from '../../lib/text';

export const DEFAULT_CHECKPOINT_CONTAINER = 'packet-capture-detector-checkpoints';

/**
 * A failed checkpoint write only means a batch may be read again, so checkpoints retry briefly instead of
 * the SDK's default of about 16 s, which also kept a wrong storage setting from being reported promptly.
 */
const CHECKPOINT_STORAGE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4_000, tryTimeoutInMs: 30_000 },
};

export interface CheckpointFlags {
  readonly connectionString?: string;
  readonly blobServiceUri?: string;
  readonly container?: string;
}

export interface CheckpointLocation {
  readonly client: Promise<ContainerClient>;
  /** For messages: the container's URL (never with a key or SAS). */
  readonly where: string;
}

/** The flags' storage first, then the settings' host storage (`AzureWebJobsStorage…`). */
export function checkpointStorage(
  flags: CheckpointFlags,
  hostStorage: StorageEndpoint | undefined,
): StorageEndpoint {
  const connectionString = nonEmpty(flags.connectionString);
  const serviceUri = nonEmpty(flags.blobServiceUri);
  if (connectionString !== undefined && serviceUri !== undefined) {
    throw new DetectorError(
      'USAGE',
      'Give either --storage-connection-string or --blob-service-uri, not both',
    );
  }
  if (serviceUri !== undefined) return { kind: 'serviceUri', serviceUri };
  if (connectionString !== undefined) return { kind: 'connectionString', connectionString };
  if (hostStorage !== undefined) return hostStorage;
  throw new DetectorError(
    'USAGE',
    'No checkpoint storage given: use --storage-connection-string (or AzureWebJobsStorage, e.g. UseDevelopmentStorage=true for Azurite) or --blob-service-uri (identity-based)',
  );
}

export function checkpointContainer(
  storage: StorageEndpoint,
  containerFlag: string | undefined,
  credential: () => Promise<TokenCredential>,
): CheckpointLocation {
  const container = nonEmpty(containerFlag) ?? DEFAULT_CHECKPOINT_CONTAINER;
  if (!CONTAINER_NAME.test(container)) {
    throw new DetectorError(
      'USAGE',
      `--checkpoint-container must be a valid blob container name (${CONTAINER_NAME_RULE}), got "${container}"`,
    );
  }
  if (storage.kind === 'serviceUri') {
    if (!URL.canParse(storage.serviceUri)) {
      throw new DetectorError(
        'USAGE',
        `--blob-service-uri must be an absolute URL, got "${storage.serviceUri}"`,
      );
    }
    const url = `${storage.serviceUri.replace(/\/+$/, '')}/${container}`;
    return {
      client: credential().then((c) => new ContainerClient(url, c, CHECKPOINT_STORAGE_OPTIONS)),
      where: url,
    };
  }
  let client: ContainerClient;
  try {
    client = new ContainerClient(storage.connectionString, container, CHECKPOINT_STORAGE_OPTIONS);
  } catch (error) {
    throw new DetectorError('USAGE', `The storage connection string is not valid: ${errorText(error)}`, {
      cause: error,
    });
  }
  return { client: Promise.resolve(client), where: client.url };
}
