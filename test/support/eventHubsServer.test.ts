import {
  EventHubConsumerClient,
  EventHubProducerClient,
  earliestEventPosition,
  latestEventPosition,
  type EventPosition,
  type ReceivedEventData,
  type Subscription,
} from '@azure/event-hubs';
import {
  startEventHubsServer,
  startIndexForFilter,
  type EventHubsServer,
  type StoredEvent,
} from './eventHubsServer';

const CONSUMER_GROUP = 'packet-capture-detector';

/** Reads one partition with the real consumer until `count` events arrived (or fails after `timeoutMs`). */
async function readPartition(
  connectionString: string,
  partitionId: string,
  startPosition: EventPosition,
  count: number,
  timeoutMs = 15_000,
): Promise<ReceivedEventData[]> {
  const consumer = new EventHubConsumerClient(CONSUMER_GROUP, connectionString);
  const received: ReceivedEventData[] = [];
  let subscription: Subscription | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`received ${received.length} of ${count} events`));
      }, timeoutMs);
      subscription = consumer.subscribe(
        partitionId,
        {
          processEvents: (events) => {
            received.push(...events);
            if (received.length >= count) resolve();
            return Promise.resolve();
          },
          processError: (error) => {
            reject(error);
            return Promise.resolve();
          },
        },
        { startPosition, maxWaitTimeInSeconds: 1 },
      );
    });
  } finally {
    clearTimeout(timer);
    await subscription?.close();
    await consumer.close();
  }
  return received;
}

describe('in-process Event Hubs server with the real @azure/event-hubs clients', () => {
  let server: EventHubsServer;

  beforeEach(async () => {
    server = await startEventHubsServer({ partitionCount: 3, consumerGroups: [CONSUMER_GROUP] });
  });

  afterEach(async () => {
    await server.close();
  });

  it('reports hub and partition properties through $management', async () => {
    const producer = new EventHubProducerClient(server.connectionString);
    try {
      const hub = await producer.getEventHubProperties();
      expect(hub.name).toBe('insights-activity-logs');
      expect(hub.partitionIds).toEqual(['0', '1', '2']);
      expect(hub.createdOn.getTime()).toBeLessThanOrEqual(Date.now());

      const empty = await producer.getPartitionProperties('1');
      expect(empty).toMatchObject({ partitionId: '1', isEmpty: true, lastEnqueuedSequenceNumber: -1 });

      const batch = await producer.createBatch({ partitionId: '1' });
      expect(batch.tryAdd({ body: { records: [] } })).toBe(true);
      expect(batch.tryAdd({ body: { records: [{ a: 1 }] } })).toBe(true);
      await producer.sendBatch(batch);

      const filled = await producer.getPartitionProperties('1');
      expect(filled).toMatchObject({
        partitionId: '1',
        eventHubName: 'insights-activity-logs',
        isEmpty: false,
        beginningSequenceNumber: 0,
        lastEnqueuedSequenceNumber: 1,
        lastEnqueuedOffset: server.events('1')[1]?.offset,
      });
      expect(filled.lastEnqueuedOnUtc.getTime()).toBe(server.events('1')[1]?.enqueuedTime.getTime());
    } finally {
      await producer.close();
    }
  });

  it('round-trips a batch from the producer to the consumer with bodies, properties and annotations', async () => {
    const producer = new EventHubProducerClient(server.connectionString);
    const batch = await producer.createBatch();
    expect(batch.maxSizeInBytes).toBe(1024 * 1024);
    for (let i = 0; i < 20; i += 1) {
      expect(batch.tryAdd({ body: { records: [{ n: i }] }, properties: { index: i } })).toBe(true);
    }
    await producer.sendBatch(batch);
    await producer.close();

    // One batch lands in one partition, in order.
    const holding = server.partitionIds.filter((id) => server.events(id).length > 0);
    expect(holding).toHaveLength(1);
    const partitionId = holding[0]!;
    const received = await readPartition(server.connectionString, partitionId, earliestEventPosition, 20);

    expect(received.map((e) => e.body as unknown)).toEqual(
      Array.from({ length: 20 }, (_, n) => ({ records: [{ n }] })),
    );
    expect(received.map((e) => e.properties?.index as unknown)).toEqual(
      Array.from({ length: 20 }, (_, n) => n),
    );
    expect(received.map((e) => e.sequenceNumber)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    const stored = server.events(partitionId);
    expect(received.map((e) => e.offset)).toEqual(stored.map((e) => e.offset));
    // Offsets are byte positions, not sequence numbers: code that confuses the two fails here.
    expect(received[1]?.offset).not.toBe('1');
    expect(
      received.every((e) => e.enqueuedTimeUtc instanceof Date && !Number.isNaN(e.enqueuedTimeUtc.getTime())),
    ).toBe(true);
  });

  it('spreads batches round robin and keeps a partition key on one partition', async () => {
    const producer = new EventHubProducerClient(server.connectionString);
    try {
      for (let i = 0; i < 3; i += 1) await producer.sendBatch([{ body: `rr-${i}` }]);
      for (let i = 0; i < 3; i += 1)
        await producer.sendBatch([{ body: `pk-${i}` }], { partitionKey: 'subscription-a' });
    } finally {
      await producer.close();
    }
    const roundRobin = server.allEvents().filter((e) => e.partitionKey === undefined);
    expect(new Set(roundRobin.map((e) => e.partitionId)).size).toBe(3);
    const keyed = server.allEvents().filter((e) => e.partitionKey === 'subscription-a');
    expect(keyed).toHaveLength(3);
    expect(new Set(keyed.map((e) => e.partitionId)).size).toBe(1);

    const partitionId = keyed[0]!.partitionId;
    const received = await readPartition(
      server.connectionString,
      partitionId,
      earliestEventPosition,
      server.events(partitionId).length,
    );
    expect(received.filter((e) => e.partitionKey === 'subscription-a').map((e) => e.body as unknown)).toEqual(
      ['pk-0', 'pk-1', 'pk-2'],
    );
  });

  it('resumes after a checkpoint position (offset or sequence number, exclusive or inclusive)', async () => {
    const producer = new EventHubProducerClient(server.connectionString);
    try {
      await producer.sendBatch(
        Array.from({ length: 10 }, (_, i) => ({ body: i })),
        { partitionId: '2' },
      );
    } finally {
      await producer.close();
    }
    const stored = server.events('2');
    const checkpoint = stored[3]!;

    const afterOffset = await readPartition(server.connectionString, '2', { offset: checkpoint.offset }, 6);
    expect(afterOffset.map((e) => e.body as unknown)).toEqual([4, 5, 6, 7, 8, 9]);

    const fromOffset = await readPartition(
      server.connectionString,
      '2',
      { offset: checkpoint.offset, isInclusive: true },
      7,
    );
    expect(fromOffset.map((e) => e.body as unknown)).toEqual([3, 4, 5, 6, 7, 8, 9]);

    const afterSequence = await readPartition(server.connectionString, '2', { sequenceNumber: 7 }, 2);
    expect(afterSequence.map((e) => e.body as unknown)).toEqual([8, 9]);
  });

  it('delivers only new events from the latest position', async () => {
    const producer = new EventHubProducerClient(server.connectionString);
    try {
      await producer.sendBatch([{ body: 'old' }], { partitionId: '0' });
      const reading = readPartition(server.connectionString, '0', latestEventPosition, 1);
      // The receiver link must be attached before the new event is sent.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await producer.sendBatch([{ body: 'new' }], { partitionId: '0' });
      const received = await reading;
      expect(received.map((e) => e.body as unknown)).toEqual(['new']);
    } finally {
      await producer.close();
    }
  });

  it('refuses a message larger than the link maximum', async () => {
    await server.close();
    server = await startEventHubsServer({ partitionCount: 1, maxMessageSize: 2048 });
    const producer = new EventHubProducerClient(server.connectionString, { retryOptions: { maxRetries: 0 } });
    try {
      const batch = await producer.createBatch();
      expect(batch.maxSizeInBytes).toBe(2048);
      expect(batch.tryAdd({ body: 'x'.repeat(4096) })).toBe(false);
      // Bypassing the batch's own check: the server rejects the transfer like the service does.
      await expect(producer.sendBatch([{ body: 'x'.repeat(4096) }])).rejects.toThrow(
        /exceeds the limit|size/i,
      );
      expect(server.stats.transfersRejected).toBe(1);
      expect(server.allEvents()).toHaveLength(0);
    } finally {
      await producer.close();
    }
  });

  it('refuses clients whose SAS key is wrong', async () => {
    const wrong = server.connectionString.replace(
      'SharedAccessKey=SAS_KEY_VALUE',
      'SharedAccessKey=not-the-key',
    );
    const producer = new EventHubProducerClient(wrong, {
      retryOptions: { maxRetries: 0, timeoutInMs: 5000 },
    });
    try {
      await expect(producer.getEventHubProperties()).rejects.toThrow();
      expect(server.stats.tokensRefused).toBeGreaterThan(0);
      expect(server.stats.tokensAccepted).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it('lets a receiver with a higher owner level take a partition from a lower one (link stolen)', async () => {
    const first = new EventHubConsumerClient(CONSUMER_GROUP, server.connectionString);
    const second = new EventHubConsumerClient(CONSUMER_GROUP, server.connectionString);
    try {
      const stolen = new Promise<Error>((resolve) => {
        first.subscribe(
          '0',
          {
            processEvents: () => Promise.resolve(),
            processError: (error) => {
              resolve(error);
              return Promise.resolve();
            },
          },
          { ownerLevel: 1, maxWaitTimeInSeconds: 1 },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      second.subscribe(
        '0',
        { processEvents: () => Promise.resolve(), processError: () => Promise.resolve() },
        { ownerLevel: 2, maxWaitTimeInSeconds: 1 },
      );
      const error = await stolen;
      expect((error as Error & { code?: string }).code).toBe('ReceiverDisconnectedError');
      expect(error.message).toMatch(/epoch 2 stole partition 0/);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('keeps serving clients that reconnect after the server drops every connection', async () => {
    const producer = new EventHubProducerClient(server.connectionString, {
      retryOptions: { retryDelayInMs: 100 },
    });
    try {
      await producer.sendBatch([{ body: 'before' }], { partitionId: '0' });
      server.dropConnections();
      // The client learns of the close, reconnects and re-authenticates on its next send.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await producer.sendBatch([{ body: 'after' }], { partitionId: '0' });
    } finally {
      await producer.close();
    }
    const received = await readPartition(server.connectionString, '0', earliestEventPosition, 2);
    expect(received.map((e) => e.body as unknown)).toEqual(['before', 'after']);
    expect(server.stats.connectionsOpened).toBeGreaterThanOrEqual(3);
  }, 20_000);

  it('refuses an unknown consumer group', async () => {
    const consumer = new EventHubConsumerClient('no-such-group', server.connectionString);
    try {
      const error = await new Promise<Error>((resolve) => {
        const subscription = consumer.subscribe('0', {
          processEvents: () => Promise.resolve(),
          processError: async (err) => {
            await subscription.close();
            resolve(err);
          },
        });
      });
      expect(error.message).toMatch(
        /^The messaging entity 'sb:\/\/127\.0\.0\.1:\d+\/insights-activity-logs\/consumergroups\/no-such-group\/partitions\/0' could not be found/,
      );
    } finally {
      await consumer.close();
    }
  });
});

describe('startIndexForFilter', () => {
  const events: StoredEvent[] = [0, 10, 25].map((offset, i) => ({
    partitionId: '0',
    sequenceNumber: i,
    offset: String(offset),
    enqueuedTime: new Date(1000 * (i + 1)),
    partitionKey: undefined,
    message: {} as StoredEvent['message'],
    size: 10,
  }));

  it.each([
    [`amqp.annotation.x-opt-offset > '-1'`, 0],
    [`amqp.annotation.x-opt-offset > '@latest'`, 3],
    [`amqp.annotation.x-opt-offset > '10'`, 2],
    [`amqp.annotation.x-opt-offset >= '10'`, 1],
    [`amqp.annotation.x-opt-sequence-number > '0'`, 1],
    [`amqp.annotation.x-opt-sequence-number >= '0'`, 0],
    [`amqp.annotation.x-opt-sequence-number > '2'`, 3],
    [`amqp.annotation.x-opt-enqueued-time > '1500'`, 1],
  ])('%s starts at index %i', (filter, index) => {
    expect(startIndexForFilter(filter, events)).toBe(index);
  });

  it('rejects a filter it does not understand', () => {
    expect(() => startIndexForFilter(`amqp.annotation.x-opt-foo > '1'`, events)).toThrow(
      /Unsupported selector/,
    );
  });
});
