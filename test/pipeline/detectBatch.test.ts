import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PROBLEMS_KEPT } from '../../src/decode/decode';
import { RULES } from '../../src/detect/registry';
import type { DetectionRule } from '../../src/detect/types';
import { detectBatch } from '../../src/pipeline/detectBatch';

const samples = join(__dirname, '../../samples');
const capture = readFileSync(join(samples, 'capture-operations.eventhub.json'));
const noise = readFileSync(join(samples, 'benign-noise.eventhub.json'));
const seed = readFileSync(join(samples, 'seed-tests.eventhub.json'));

describe('detectBatch', () => {
  it('finds one alert per capture-starting success across formats', () => {
    const result = detectBatch(
      [capture, noise.toString('utf8'), JSON.parse(seed.toString()) as unknown],
      () => ({}),
    );
    expect(result.counts).toMatchObject({ messages: 3, malformed: 0, duplicates: 0 });
    // 8 documented operations (Start/Accept/Success each) → 8; seed → 3; noise → 0.
    expect(result.alerts).toHaveLength(11);
    expect(result.alerts.every((a) => a.ResultType.toLowerCase().startsWith('succe'))).toBe(true);
    expect(new Set(result.alerts.map((a) => a.CaptureKind))).toEqual(
      new Set([
        'NetworkWatcher',
        'VirtualNetworkGateway',
        'GatewayConnection',
        'VpnGateway',
        'VpnConnection',
        'AzureFirewall',
        'VirtualNetworkTap',
        'NetworkInterfaceTap',
      ]),
    );
  });

  it('evaluates every good record beside malformed messages and records', () => {
    const good = JSON.parse(seed.toString()) as { records: unknown[] };
    const messages = [
      'not json at all',
      Buffer.from('{"records": [ {"truncated": '),
      { records: [null, 7, ...good.records, { operationName: ['wrong'] }] },
      { records: 'nope' },
      capture,
    ];
    const result = detectBatch(messages, (i) => ({
      partitionId: '3',
      offset: String(1000 + i),
      sequenceNumber: 50 + i,
    }));
    expect(result.alerts).toHaveLength(3 + 8);
    // One entry per malformed message, its problems listed with their positions.
    expect(
      result.malformed.map((m) => [
        m.code,
        m.sequenceNumber,
        m.problemCount,
        m.problems.map((p) => [p.code, p.record]),
      ]),
    ).toEqual([
      ['MESSAGE_NOT_JSON', 50, 1, [['MESSAGE_NOT_JSON', undefined]]],
      ['MESSAGE_NOT_JSON', 51, 1, [['MESSAGE_NOT_JSON', undefined]]],
      [
        'RECORD_NOT_OBJECT',
        52,
        3,
        [
          ['RECORD_NOT_OBJECT', 0],
          ['RECORD_NOT_OBJECT', 1],
          ['RECORD_INVALID', 6],
        ],
      ],
      ['BODY_RECORDS_NOT_ARRAY', 53, 1, [['BODY_RECORDS_NOT_ARRAY', undefined]]],
    ]);
    expect(result.malformed[0]).toMatchObject({ partitionId: '3', offset: '1000', raw: 'not json at all' });
    // The message is kept as it arrived: the same Buffer, not a copy.
    expect(result.malformed[1]?.raw).toBe(messages[1]);
    expect(result.malformed[2]?.reason).toMatch(/\(and 2 more problems\)$/);
    expect(result.counts).toMatchObject({ messages: 5, malformed: 6, malformedMessages: 4 });
  });

  it('keeps a message with a hundred thousand bad records once, with the first problems and the count', () => {
    const zeros = Buffer.from(`[${new Array(500_000).fill('0').join(',')}]`);
    const objects = Buffer.from(`[${new Array(100_000).fill('{}').join(',')}]`);
    const result = detectBatch([zeros, objects, capture], (i) => ({ sequenceNumber: i }));
    expect(result.alerts).toHaveLength(8);
    expect(
      result.malformed.map((m) => [m.sequenceNumber, m.code, m.problemCount, m.problems.length]),
    ).toEqual([
      [0, 'RECORD_NOT_OBJECT', 500_000, MAX_PROBLEMS_KEPT],
      [1, 'RECORD_INVALID', 100_000, MAX_PROBLEMS_KEPT],
    ]);
    expect(result.malformed[0]?.raw).toBe(zeros);
    expect(result.counts).toMatchObject({ malformed: 600_000, malformedMessages: 2 });
  });

  it('turns a failure inside a rule into a problem of that record, and evaluates the others', () => {
    const throwing: DetectionRule = {
      ...RULES[0]!,
      id: 'Throwing',
      evaluate: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const result = detectBatch([seed], (i) => ({ sequenceNumber: i }), { rules: [throwing, RULES[0]!] });
    expect(result.alerts).toHaveLength(3);
    expect(result.malformed).toHaveLength(1);
    expect(result.malformed[0]).toMatchObject({
      code: 'MESSAGE_PROCESSING_FAILED',
      // The seed's three capture records (the fourth, another operation, is gated before any rule).
      problemCount: 3,
    });
    expect(result.malformed[0]?.problems[0]?.reason).toMatch(
      /^Rule Throwing failed on this record: RangeError/,
    );
  });

  it('turns a failure of the host metadata or inside decoding into a kept message, never a throw', () => {
    const hostile = {
      get records(): unknown {
        throw new Error('getter');
      },
    };
    const result = detectBatch([hostile, capture], () => {
      throw new Error('metadata');
    });
    expect(result.alerts).toHaveLength(8);
    expect(result.malformed.map((m) => m.code)).toEqual(['MESSAGE_PROCESSING_FAILED']);
  });

  it('deduplicates the same record delivered twice in one batch', () => {
    const result = detectBatch([seed, seed], () => ({}));
    expect(result.alerts).toHaveLength(3);
    expect(result.counts.duplicates).toBe(3);
  });

  it('gives the same AlertIds when the batch is redelivered', () => {
    const first = detectBatch([capture], () => ({}), { now: new Date('2026-01-01T00:00:00Z') });
    const again = detectBatch([capture], () => ({}), { now: new Date('2026-01-02T00:00:00Z') });
    expect(again.alerts.map((a) => a.AlertId)).toEqual(first.alerts.map((a) => a.AlertId));
  });
});
