import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    expect(result.malformed.map((m) => [m.code, m.sequenceNumber])).toEqual([
      ['MESSAGE_NOT_JSON', 50],
      ['MESSAGE_NOT_JSON', 51],
      ['RECORD_NOT_OBJECT', 52],
      ['RECORD_NOT_OBJECT', 52],
      ['RECORD_INVALID', 52],
      ['BODY_RECORDS_NOT_ARRAY', 53],
    ]);
    expect(result.malformed[0]).toMatchObject({ partitionId: '3', offset: '1000', raw: 'not json at all' });
    expect(result.counts).toMatchObject({ messages: 5, malformed: 6 });
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
