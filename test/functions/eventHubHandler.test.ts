import { InvocationContext } from '@azure/functions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEventHubHandler, readTriggerMetadata } from '../../src/functions/eventHubHandler';
import { MemoryMalformedStore, MemorySink } from '../support/memoryDelivery';

const seed = readFileSync(join(__dirname, '../../samples/seed-tests.eventhub.json'));

function context(logs: { level: string; text: string }[], count: number) {
  return new InvocationContext({
    functionName: 'packetCaptureDetector',
    invocationId: 'inv-1',
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
    triggerMetadata: {
      partitionContext: {
        partitionId: '2',
        eventHubName: 'insights-activity-logs',
        consumerGroup: 'packet-capture-detector',
      },
      offsetArray: Array.from({ length: count }, (_, i) => String(4096 * (i + 1))),
      sequenceNumberArray: Array.from({ length: count }, (_, i) => 700 + i),
      enqueuedTimeUtcArray: Array.from({ length: count }, () => '2025-12-22T10:31:00.123'),
    },
  });
}

describe('event hub handler', () => {
  it('delivers alerts, keeps malformed messages and logs one summary', async () => {
    const sink = new MemorySink();
    const store = new MemoryMalformedStore();
    const handler = createEventHubHandler(() => Promise.resolve({ sink, malformedStore: store }));
    const logs: { level: string; text: string }[] = [];
    await handler([seed, Buffer.from('{oops'), seed.toString('utf8')], context(logs, 3));

    expect(sink.alerts).toHaveLength(3);
    expect(sink.batches[0]).toMatchObject({
      source: 'eventhub',
      invocationId: 'inv-1',
      partitionId: '2',
      firstSequenceNumber: 700,
      lastSequenceNumber: 702,
    });
    expect(store.kept).toHaveLength(1);
    expect(store.kept[0]).toMatchObject({
      code: 'MESSAGE_NOT_JSON',
      partitionId: '2',
      offset: '8192',
      sequenceNumber: 701,
      enqueuedTimeUtc: '2025-12-22T10:31:00.123',
    });
    expect(store.kept[0]?.raw.toString()).toBe('{oops');

    const warn = logs.find((l) => l.level === 'warning');
    expect(warn?.text).toContain('"sequenceNumber":701');
    const summaries = logs.filter((l) => l.text.startsWith('batch processed'));
    expect(summaries).toHaveLength(1);
    const fields = JSON.parse(summaries[0]!.text.slice('batch processed '.length)) as Record<string, unknown>;
    expect(fields).toMatchObject({
      messages: 3,
      records: 8,
      alerts: 3,
      malformed: 1,
      duplicates: 3,
      delivered: 3,
      partitionId: '2',
      firstSequenceNumber: 700,
      lastSequenceNumber: 702,
    });
  });

  it('fails the invocation when alerts cannot be delivered, so the retry policy holds the checkpoint', async () => {
    const sink = new MemorySink();
    sink.failWith = new Error('dead-letter store unreachable');
    const store = new MemoryMalformedStore();
    const handler = createEventHubHandler(() => Promise.resolve({ sink, malformedStore: store }));
    const logs: { level: string; text: string }[] = [];
    await expect(handler([seed, 'garbage'], context(logs, 2))).rejects.toThrow(
      'dead-letter store unreachable',
    );
    // The malformed message was still kept, and the failure was logged at error level.
    expect(store.kept).toHaveLength(1);
    expect(logs.some((l) => l.level === 'error' && l.text.includes('dead-letter store unreachable'))).toBe(
      true,
    );
  });

  it('copes with missing or odd trigger metadata', () => {
    const ctx = new InvocationContext({ triggerMetadata: { offsetArray: 'nope' } });
    const info = readTriggerMetadata(ctx, 2);
    expect(info.metas).toEqual([
      { partitionId: undefined, offset: undefined, sequenceNumber: undefined, enqueuedTimeUtc: undefined },
      { partitionId: undefined, offset: undefined, sequenceNumber: undefined, enqueuedTimeUtc: undefined },
    ]);
    expect(info.batch.source).toBe('eventhub');
  });
});
