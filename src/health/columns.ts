/*
 * The health table's contract, defined once, like the alert columns: the Log Analytics table, the DCR stream
 * declaration (`npm run columns:generate`) and the README's table (`npm run docs:generate`) derive from this
 * list, and tests fail when they drift. One row says, for one window of a few minutes and one subscription,
 * how many Activity Log records the detector saw and how fresh they were: the silence and lag rules read it.
 */
import type { ColumnDefinition } from '../alert/columns';

export const HEALTH_COLUMNS = [
  { name: 'TimeGenerated', type: 'datetime', description: 'When the detector wrote the row (UTC).' },
  {
    name: 'WindowStart',
    type: 'datetime',
    description:
      'Start of the window (`HEALTH_WINDOW_MINUTES` long) in which the detector processed the records; several rows of one window and subscription (instances, partitions) add up.',
  },
  { name: 'WindowMinutes', type: 'int', description: 'Length of the window, in minutes.' },
  {
    name: 'SubscriptionId',
    type: 'string',
    description:
      "Subscription of the records, from each record's `resourceId` (lower case); empty when a record names none.",
  },
  {
    name: 'Records',
    type: 'long',
    description:
      'Records counted, without parsing: `"resourceId"` keys in the raw Event Hub bodies (one per record of the export and REST shapes).',
  },
  {
    name: 'Messages',
    type: 'long',
    description: 'Event Hub messages that held at least one record of the subscription.',
  },
  {
    name: 'NewestRecordTime',
    type: 'datetime',
    description:
      'Newest record `time` (to the second) among those records, when the export shape says it; empty when unknown. Times more than 5 minutes ahead of the detector are ignored.',
  },
  { name: 'OldestRecordTime', type: 'datetime', description: 'Oldest record `time` among those records.' },
  {
    name: 'NewestEnqueuedTime',
    type: 'datetime',
    description: 'When Event Hubs received the newest of those messages (empty when the host does not say).',
  },
  {
    name: 'LastProcessedTime',
    type: 'datetime',
    description:
      'When the detector processed the last of those messages; minus NewestRecordTime, the ingestion lag.',
  },
  { name: 'Source', type: 'string', description: 'Which host wrote the row: function or consume.' },
  { name: 'EventHubName', type: 'string', description: 'Event Hub the records came from.' },
  { name: 'ConsumerGroup', type: 'string', description: 'Consumer group the detector read them with.' },
] as const satisfies readonly ColumnDefinition[];

export type HealthColumnName = (typeof HEALTH_COLUMNS)[number]['name'];

/** One health row; times are ISO 8601 strings, '' when unknown. */
export type HealthRow = {
  [C in (typeof HEALTH_COLUMNS)[number] as C['name']]: C['type'] extends 'int' | 'long' ? number : string;
};

/** Default names; infra and settings use the same ones. */
export const HEALTH_TABLE_NAME = 'PacketCaptureDetectorHealth_CL';
export const HEALTH_STREAM_NAME = `Custom-${HEALTH_TABLE_NAME}`;
