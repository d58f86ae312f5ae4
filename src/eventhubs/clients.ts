/*
 * Event Hubs clients for the send and consume commands, loaded with those commands only (main.ts imports
 * them lazily), never by the function.
 */
import {
  EventHubConsumerClient,
  EventHubProducerClient,
  RetryMode,
  type CheckpointStore,
  type EventHubConsumerClientOptions,
  type RetryOptions,
} from '@azure/event-hubs';
import type { TokenCredential } from '@azure/identity';
import { chooseCredential, lazyCredential } from '../deliver/credential';
import { nonEmpty } from '../lib/text';
import type { EventHubTarget } from './target';

/**
 * The SDK retries even UnauthorizedError (keys may be rotating) with a fixed 30 s delay by default, so a
 * mistyped key took 90 s to report. Exponential from 0.5 s: a wrong key fails in about 4 s, while a
 * transient fault still gets the same number of attempts.
 */
export const CLI_RETRY_OPTIONS: RetryOptions = {
  maxRetries: 3,
  mode: RetryMode.Exponential,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 10_000,
};

/** The credential for identity-based connections: managed identity in Azure, the developer's sign-in elsewhere. */
export function credentialFor(env: NodeJS.ProcessEnv): () => Promise<TokenCredential> {
  return lazyCredential(chooseCredential(env, nonEmpty(env.AZURE_CLIENT_ID)));
}

export async function createProducer(
  target: EventHubTarget,
  credential: () => Promise<TokenCredential>,
): Promise<EventHubProducerClient> {
  if (target.kind === 'connectionString') {
    return target.eventHubName === undefined
      ? new EventHubProducerClient(target.connectionString, { retryOptions: CLI_RETRY_OPTIONS })
      : new EventHubProducerClient(target.connectionString, target.eventHubName, {
          retryOptions: CLI_RETRY_OPTIONS,
        });
  }
  return new EventHubProducerClient(target.fullyQualifiedNamespace, target.hub, await credential(), {
    retryOptions: CLI_RETRY_OPTIONS,
  });
}

export async function createConsumer(
  target: EventHubTarget,
  consumerGroup: string,
  checkpointStore: CheckpointStore,
  credential: () => Promise<TokenCredential>,
  options: EventHubConsumerClientOptions,
): Promise<EventHubConsumerClient> {
  if (target.kind === 'connectionString') {
    return target.eventHubName === undefined
      ? new EventHubConsumerClient(consumerGroup, target.connectionString, checkpointStore, options)
      : new EventHubConsumerClient(
          consumerGroup,
          target.connectionString,
          target.eventHubName,
          checkpointStore,
          options,
        );
  }
  return new EventHubConsumerClient(
    consumerGroup,
    target.fullyQualifiedNamespace,
    target.hub,
    await credential(),
    checkpointStore,
    options,
  );
}
