/*
 * The Azure Function: registers the Activity Log batch trigger and nothing else. Settings (and the allowlist
 * they name) are read at import so a bad deployment fails the worker's start with one message naming every bad
 * or missing setting and every bad allowlist line.
 */
import { resolve } from 'node:path';
import { app, type EventHubFunctionOptions } from '@azure/functions';
import { EVENTHUB_CONNECTION, loadSettings } from '../config/settings';
import { createEventHubHandler, FUNCTION_NAME } from './eventHubHandler';

// The bundle is dist/function/packetCaptureDetector.js: two folders up is the package root, where the
// deployment ships the allowlist (a relative ALLOWLIST_PATH is resolved there, not against the worker's cwd).
const settings = loadSettings(process.env, 'function', { baseDir: resolve(__dirname, '..', '..') });

/**
 * `dataType: 'binary'` (passed through to the binding though absent from the typings) hands over raw bytes
 * so the worker does not parse bodies the detector will skip. The retry policy is what keeps the checkpoint
 * from moving past a batch whose alerts could not be delivered or dead-lettered: the trigger checkpoints
 * even when the function throws.
 */
export const packetCaptureDetectorOptions = {
  connection: EVENTHUB_CONNECTION,
  eventHubName: '%EVENTHUB_NAME%',
  consumerGroup: '%EVENTHUB_CONSUMER_GROUP%',
  cardinality: 'many',
  dataType: 'binary',
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: -1,
    minimumInterval: { seconds: 10 },
    maximumInterval: { minutes: 15 },
  },
  handler: createEventHubHandler(
    async (logger) => {
      const { createDelivery } = await import('../deliver/index.js');
      return createDelivery(settings, logger, {
        health: {
          source: 'function',
          eventHubName: settings.eventHubName,
          consumerGroup: settings.consumerGroup,
        },
      });
    },
    { context: { protectedResourceIds: settings.protectedResourceIds } },
  ),
} satisfies EventHubFunctionOptions & { dataType: string };

app.eventHub(FUNCTION_NAME, packetCaptureDetectorOptions);
