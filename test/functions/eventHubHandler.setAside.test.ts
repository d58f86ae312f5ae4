import { InvocationContext } from '@azure/functions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEventHubHandler } from '../../src/functions/eventHubHandler';
import type { MalformedStore } from '../../src/pipeline/ports';
import { SET_ASIDE_AFTER_FAILURES } from '../../src/pipeline/setAside';
import { MemorySink, PickyStore } from '../support/memoryDelivery';

/** The handler counts failed invocations per batch and sets aside what cannot be kept (pipeline/setAside.ts). */
const capture = readFileSync(join(__dirname, '../../samples/capture-operations.eventhub.json'));

describe('the function handler with a message that cannot be kept', () => {
  const context = (invocation: number, retryCount?: number) =>
    new InvocationContext({
      functionName: 'packetCaptureDetector',
      invocationId: `inv-${invocation}`,
      logHandler: () => undefined,
      ...(retryCount === undefined ? {} : { retryContext: { retryCount, maxRetryCount: -1 } }),
      triggerMetadata: {
        partitionContext: { partitionId: '2', eventHubName: 'h', consumerGroup: 'g' },
        sequenceNumberArray: [10, 11, 12],
        offsetArray: ['1000', '1100', '1200'],
      },
    });

  it(`fails ${SET_ASIDE_AFTER_FAILURES} times, then sets it aside and lets the partition move on`, async () => {
    const sink = new MemorySink();
    const store = new PickyStore('POISON');
    const handler = createEventHubHandler(() => Promise.resolve({ sink, malformedStore: store }));
    const messages = [capture, Buffer.from('POISON{'), Buffer.from('{oops')];
    for (let i = 1; i <= SET_ASIDE_AFTER_FAILURES; i++) {
      await expect(handler(messages, context(i))).rejects.toMatchObject({ code: 'DEAD_LETTER_FAILED' });
    }
    await handler(messages, context(SET_ASIDE_AFTER_FAILURES + 1));
    expect(store.kept.map((m) => [m.sequenceNumber, m.code])).toEqual([
      [11, 'MESSAGE_SET_ASIDE'],
      [12, 'MESSAGE_NOT_JSON'],
    ]);
    // The capture was delivered on every attempt (a failed batch is sent again: same AlertIds).
    expect(new Set(sink.alerts.map((a) => a.AlertId)).size).toBe(8);
  });

  it('sets aside at once when the host says it already retried that often (the worker restarted)', async () => {
    const store = new PickyStore('POISON');
    const handler = createEventHubHandler(() =>
      Promise.resolve({ sink: new MemorySink(), malformedStore: store }),
    );
    await handler([capture, Buffer.from('POISON{'), capture], context(1, SET_ASIDE_AFTER_FAILURES));
    expect(store.kept.map((m) => m.code)).toEqual(['MESSAGE_SET_ASIDE']);
  });

  it('never sets aside while the failures differ', async () => {
    let n = 0;
    const store: MalformedStore = {
      name: 'flaky',
      keep: () => Promise.reject(Object.assign(new Error('x'), { code: `E${String(n++)}` })),
    };
    const handler = createEventHubHandler(() =>
      Promise.resolve({ sink: new MemorySink(), malformedStore: store }),
    );
    for (let i = 1; i <= SET_ASIDE_AFTER_FAILURES + 2; i++) {
      await expect(handler([Buffer.from('{oops')], context(i))).rejects.toThrow('x');
    }
  });
});
