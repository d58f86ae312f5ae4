import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DetectorError } from '../../src/lib/errors';
import type { BatchInfo } from '../../src/pipeline/ports';
import {
  BatchFailures,
  failureSignature,
  LOG_SET_ASIDE,
  LOG_SETTING_ASIDE,
  nextFailure,
  runBatchSettingAside,
  SET_ASIDE_AFTER_FAILURES,
} from '../../src/pipeline/setAside';
import { memoryLogger, MemorySink, PickyStore } from '../support/memoryDelivery';

const capture = readFileSync(join(__dirname, '../../samples/capture-operations.eventhub.json'));
const batch: BatchInfo = {
  source: 'eventhub',
  eventHubName: 'h',
  consumerGroup: 'g',
  partitionId: '2',
  firstSequenceNumber: 10,
  lastSequenceNumber: 12,
};

describe('failure signatures', () => {
  it('are the same for the same failure whatever its message says, different otherwise', () => {
    const a = new DetectorError('DEAD_LETTER_FAILED', 'write 1 failed after 1234 ms', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    const b = new DetectorError('DEAD_LETTER_FAILED', 'write 2 failed after 99 ms', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2'), { code: 'ECONNREFUSED' }),
    });
    const c = new DetectorError('DEAD_LETTER_FAILED', 'x', {
      cause: new RangeError('Invalid string length'),
    });
    expect(failureSignature(a)).toBe(failureSignature(b));
    expect(failureSignature(a)).not.toBe(failureSignature(c));
    expect(failureSignature(new AggregateError([a, c], ''))).toContain('RangeError');
  });

  it('count on only while the failures are the same', () => {
    const same = new DetectorError('DEAD_LETTER_FAILED', 'x');
    let r = nextFailure(undefined, same);
    r = nextFailure(r, same);
    expect(r.failures).toBe(2);
    expect(nextFailure(r, new Error('other')).failures).toBe(1);
  });
});

describe('BatchFailures', () => {
  it('counts per batch, forgets on success, and stays bounded', () => {
    const failures = new BatchFailures(3);
    const error = new DetectorError('DEAD_LETTER_FAILED', 'x');
    failures.failed(batch, error);
    failures.failed(batch, error);
    expect(failures.get(batch)?.failures).toBe(2);
    expect(failures.get({ ...batch, partitionId: '3' })).toBeUndefined();
    failures.succeeded(batch);
    expect(failures.get(batch)).toBeUndefined();
    for (let i = 0; i < 10; i++) failures.failed({ ...batch, firstSequenceNumber: i }, error);
    expect(failures.size).toBe(3);
    // A batch without coordinates cannot be told from another: never counted.
    failures.failed({ source: 'eventhub' }, error);
    expect(failures.get({ source: 'eventhub' })).toBeUndefined();
  });
});

describe('runBatchSettingAside', () => {
  const previous = {
    failures: SET_ASIDE_AFTER_FAILURES,
    signature: 'DetectorError:DEAD_LETTER_FAILED',
    error: 'x',
  };
  const metas = [10, 11, 12].map((s) => ({ partitionId: '2', sequenceNumber: s, offset: String(s * 100) }));

  it('delivers and keeps every message that goes through, and sets aside the one that does not', async () => {
    const sink = new MemorySink();
    const store = new PickyStore('POISON');
    const logger = memoryLogger();
    const messages = [Buffer.from('{oops'), Buffer.from('POISON{'), capture];
    const outcome = await runBatchSettingAside(
      messages,
      metas,
      batch,
      { sink, malformedStore: store },
      logger,
      previous,
    );
    expect(sink.alerts).toHaveLength(8);
    expect(store.kept.map((m) => [m.sequenceNumber, m.code])).toEqual([
      [10, 'MESSAGE_NOT_JSON'],
      [11, 'MESSAGE_SET_ASIDE'],
    ]);
    // Its content could not be written: kept as coordinates and size.
    expect(store.kept[1]).toMatchObject({ offset: '1100', raw: '', rawOmitted: { bytes: 7 } });
    expect(store.kept[1]?.reason).toMatch(/failed 3 times the same way .*this message failed on its own too/);
    expect(outcome).toMatchObject({
      messages: 3,
      alerts: 8,
      delivered: 8,
      setAside: 1,
      malformedMessages: 2,
    });
    expect(logger.entries.map((e) => e.message)).toEqual(
      expect.arrayContaining([LOG_SETTING_ASIDE, LOG_SET_ASIDE, 'batch processed']),
    );
    // One summary for the batch, not one per message.
    expect(logger.entries.filter((e) => e.message === 'batch processed')).toHaveLength(1);
  });

  it('fails the invocation when even the coordinates cannot be kept (the store is down)', async () => {
    const store = new PickyStore('POISON');
    store.down = true;
    await expect(
      runBatchSettingAside(
        [Buffer.from('{oops')],
        metas,
        batch,
        { sink: new MemorySink(), malformedStore: store },
        memoryLogger(),
        previous,
      ),
    ).rejects.toMatchObject({ code: 'DEAD_LETTER_FAILED' });
  });
});
