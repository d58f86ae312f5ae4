import { CALL_MAX_BYTES, chunkRows } from '../../src/deliver/uploader';
import { sampleAlerts } from '../support/alerts';

describe('chunkRows', () => {
  it('keeps every row once, in order, and each call under the limit with its JSON framing', () => {
    const rows = sampleAlerts(40).map((a, i) => ({ ...a, Runbook: 'r'.repeat(20_000 + i * 1_000) }));
    const chunks = chunkRows(rows);
    expect(chunks.flat()).toEqual(rows);
    for (const c of chunks) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThanOrEqual(CALL_MAX_BYTES);
    expect(chunks.length).toBeGreaterThan(1);
  });
  it('puts a row larger than the limit alone in its call (it will be reported, not lost)', () => {
    const [a, b] = sampleAlerts(2);
    const big = { ...a!, Runbook: 'x'.repeat(CALL_MAX_BYTES) };
    expect(chunkRows([b!, big, b!]).map((c) => c.length)).toEqual([1, 1, 1]);
  });
  it('makes no call for no rows', () => {
    expect(chunkRows([])).toEqual([]);
  });
});
