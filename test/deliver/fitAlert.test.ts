import fc from 'fast-check';
import { FIELD_MAX_BYTES, ROW_MAX_BYTES, fitAlert, truncateUtf8 } from '../../src/deliver/fitAlert';
import { sampleAlert } from '../support/alerts';

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

describe('fitAlert', () => {
  it('returns a row that already fits unchanged (the same object)', () => {
    const row = sampleAlert(1);
    const fit = fitAlert(row);
    expect(fit.trimmed).toBe(false);
    expect(fit.row).toBe(row);
  });

  it('trims an oversized Context first, keeps its small identifying keys, and marks it', () => {
    const row = sampleAlert(2, {
      Context: {
        resource_id: 'r1',
        caller_ip: '203.0.113.9',
        properties: { requestbody: 'a'.repeat(300_000) },
      },
    });
    const { row: fitted, trimmed } = fitAlert(row);
    expect(trimmed).toBe(true);
    expect(fitted.Context).toMatchObject({
      _trimmed: true,
      resource_id: 'r1',
      caller_ip: '203.0.113.9',
      _truncatedKeys: ['properties'],
    });
    expect(fitted.Context._originalBytes).toBe(bytes(row.Context));
    expect(fitted.Context._originalSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bytes(fitted.Context)).toBeLessThanOrEqual(FIELD_MAX_BYTES);
    for (const c of ['AlertId', 'TimeGenerated', 'EventTime', 'RuleId', 'ResourceId', 'Caller'] as const) {
      expect(fitted[c]).toBe(row[c]);
    }
  });

  it('cuts another text column over 64 KB and names it in the Context', () => {
    const row = sampleAlert(3, { CaptureStorage: 'é'.repeat(40_000) });
    const { row: fitted } = fitAlert(row);
    expect(Buffer.byteLength(fitted.CaptureStorage)).toBeLessThanOrEqual(FIELD_MAX_BYTES);
    expect(fitted.CaptureStorage.endsWith('…[trimmed]')).toBe(true);
    expect(fitted.CaptureStorage).not.toContain('\uFFFD');
    expect(fitted.Context).toMatchObject({
      _trimmed: true,
      _trimmedColumns: ['CaptureStorage'],
      resource_id: row.Context.resource_id,
    });
  });

  it('brings a row of many large columns under the row limit, largest first', () => {
    const big = 'b'.repeat(63_000);
    const row = sampleAlert(4, {
      Runbook: big,
      CaptureTarget: big,
      CaptureStorage: big,
      Caller: big,
      CallerObjectId: big,
    });
    const fit = fitAlert(row);
    expect(fit.bytes).toBeLessThanOrEqual(ROW_MAX_BYTES);
    expect(fit.row.AlertId).toBe(row.AlertId);
  });

  it('is deterministic: the same alert always yields the same row', () => {
    const row = sampleAlert(5, { Context: { properties: 'x'.repeat(100_000), n: [1, 2, 3] } });
    expect(JSON.stringify(fitAlert(row).row)).toBe(JSON.stringify(fitAlert(structuredClone(row)).row));
  });

  it('is idempotent: a fitted row fits as it is (replay re-fits dead letters)', () => {
    const once = fitAlert(sampleAlert(6, { Context: { p: 'y'.repeat(200_000) } })).row;
    expect(fitAlert(once).row).toBe(once);
  });

  it('property: any alert fits the limits, keeps its identity and stays valid JSON', () => {
    const text = fc
      .string({ unit: 'binary', maxLength: 3_000 })
      .chain((s) => fc.integer({ min: 1, max: 60 }).map((k) => s.repeat(k)));
    fc.assert(
      fc.property(
        fc.record({
          Runbook: text,
          CaptureTarget: text,
          Caller: text,
          Context: fc.dictionary(
            fc.string({ maxLength: 12 }),
            fc.oneof(text, fc.jsonValue({ maxDepth: 3 })),
            { maxKeys: 8 },
          ),
        }),
        (over) => {
          const row = sampleAlert(7, over);
          const fit = fitAlert(row);
          expect(fit.bytes).toBeLessThanOrEqual(ROW_MAX_BYTES);
          expect(bytes(fit.row.Context)).toBeLessThanOrEqual(FIELD_MAX_BYTES);
          for (const [k, v] of Object.entries(fit.row)) {
            if (typeof v === 'string')
              expect(Buffer.byteLength(v)).toBeLessThanOrEqual(k === 'Context' ? Infinity : FIELD_MAX_BYTES);
          }
          expect(fit.row.AlertId).toBe(row.AlertId);
          // Survives a JSON round trip (compared as text: -0 and 0 are the same JSON).
          const text = JSON.stringify(fit.row);
          expect(JSON.stringify(JSON.parse(text))).toBe(text);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('truncateUtf8', () => {
  it('never splits a character and respects the byte limit', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.integer({ min: 12, max: 400 }),
        (s, max) => {
          const cut = truncateUtf8(s, max);
          expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
          if (Buffer.byteLength(s) <= max) expect(cut).toBe(s);
          else expect(s.startsWith(cut.slice(0, -'…[trimmed]'.length))).toBe(true);
        },
      ),
    );
  });
});
