import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings } from '../../src/config/settings';
import { createDelivery } from '../../src/deliver/index';
import { LOG_DEAD_LETTERED, LOG_DEAD_LETTER_FAILED } from '../../src/deliver/logsIngestionSink';
import type { MalformedStore } from '../../src/pipeline/ports';
import { runBatch } from '../../src/pipeline/runBatch';
import { LOG_SET_ASIDE, runBatchSettingAside, SET_ASIDE_AFTER_FAILURES } from '../../src/pipeline/setAside';
import { analyzeKql, describeDiagnostics, type TableSchema } from '../infra/helpers/kusto';
import { CapturingLogger, startHarness, type Harness } from '../support/deliveryHarness';
import { makeWorkload } from '../faults/workload';

/** docs/reliability.md promises log lines and queries; these tests hold the code and the queries to it. */
const doc = readFileSync(path.join(__dirname, '../../docs/reliability.md'), 'utf8');
const queries = [...doc.matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

/** Application Insights `traces`, the columns the queries may use. */
const TRACES: TableSchema = {
  name: 'traces',
  columns: [
    { name: 'timestamp', type: 'datetime' },
    { name: 'message', type: 'string' },
    { name: 'severityLevel', type: 'int' },
    { name: 'itemType', type: 'string' },
    { name: 'customDimensions', type: 'dynamic' },
    { name: 'operation_Name', type: 'string' },
    { name: 'operation_Id', type: 'string' },
    { name: 'cloud_RoleName', type: 'string' },
    { name: 'cloud_RoleInstance', type: 'string' },
  ],
};

describe('docs/reliability.md', () => {
  it('has KQL that parses and binds against Application Insights traces', () => {
    expect(queries.length).toBeGreaterThanOrEqual(2);
    for (const q of queries) expect(describeDiagnostics(q, analyzeKql(q, [TRACES]).errors)).toEqual([]);
  });

  describe('the log lines the queries read', () => {
    let h: Harness;
    const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    beforeAll(async () => {
      h = await startHarness({ li: { retryAfterSeconds: 0 } });
      const [batch] = makeWorkload({
        caseId: 'doc',
        batches: 1,
        messagesPerBatch: 2,
        capturesPerMessage: 2,
        seed: 9,
        malformedRate: 0,
      });
      const info = {
        source: 'eventhub' as const,
        partitionId: '1',
        firstSequenceNumber: 10,
        lastSequenceNumber: 11,
        invocationId: 'i',
      };
      const metas = batch!.messages.map((_, i) => ({ partitionId: '1', sequenceNumber: 10 + i }));
      const capture = new CapturingLogger();
      h.li.setDown(true);
      // Logs Ingestion down: dead-lettered; then the dead-letter store unreachable too: the batch fails.
      await runBatch(batch!.messages, metas, info, h.delivery(capture, { budgetMs: 200 }), capture);
      const broken = loadSettings(
        {
          ...h.env,
          AzureWebJobsStorage: h.azurite.connectionString.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:9'),
        },
        'cli',
      );
      const failing = createDelivery(broken, capture, {
        ...h.overrides,
        retry: { ...h.overrides.retry, budgetMs: 200 },
      });
      await runBatch(batch!.messages, metas, info, failing, capture).catch(() => undefined);
      // A message whose content cannot be kept: set aside with its coordinates only.
      const working = h.delivery(capture);
      const picky: MalformedStore = {
        name: 'picky',
        keep: (messages, b) =>
          messages.some((m) => m.raw.length > 0)
            ? Promise.reject(new Error('content refused'))
            : working.malformedStore.keep(messages, b),
      };
      await runBatchSettingAside(
        [Buffer.from('{poison')],
        [{ partitionId: '1', sequenceNumber: 12 }],
        { ...info, firstSequenceNumber: 12, lastSequenceNumber: 12 },
        { sink: working.sink, malformedStore: picky },
        capture,
        { failures: SET_ASIDE_AFTER_FAILURES, signature: 'Error', error: 'content refused' },
      );
      for (const l of capture.lines)
        lines.push({ level: l.level, message: l.message, fields: l.fields ?? {} });
    }, 60_000);
    afterAll(async () => {
      await h.stop();
    });

    it('every message prefix a query filters on is logged, at the level the doc says', () => {
      const prefixes = [...queries.join('\n').matchAll(/message startswith "([^"]+)"/g)].map((m) =>
        (m[1] ?? '').trim(),
      );
      expect(prefixes).toEqual(
        expect.arrayContaining([
          LOG_DEAD_LETTERED,
          LOG_DEAD_LETTER_FAILED,
          LOG_SET_ASIDE,
          'batch processed',
          'batch failed',
        ]),
      );
      for (const prefix of prefixes) expect(lines.some((l) => l.message.startsWith(prefix))).toBe(true);
      // A dead-lettered alert and a failed batch are errors (App Insights severityLevel 3).
      const levels = (prefix: string): string[] => [
        ...new Set(lines.filter((l) => l.message.startsWith(prefix)).map((l) => l.level)),
      ];
      for (const prefix of [LOG_DEAD_LETTERED, LOG_DEAD_LETTER_FAILED, LOG_SET_ASIDE, 'batch failed'])
        expect([prefix, levels(prefix)]).toEqual([prefix, ['error']]);
    });

    it('every field a query reads is present on the lines it reads it from', () => {
      const fieldsOf = (prefixes: string[]): Set<string> =>
        new Set(
          lines
            .filter((l) => prefixes.some((p) => l.message.startsWith(p)))
            .flatMap((l) => Object.keys(l.fields)),
        );
      const [alerting, metrics] = queries;
      const alertFields = fieldsOf([LOG_DEAD_LETTERED, LOG_DEAD_LETTER_FAILED]);
      for (const f of [...(alerting ?? '').matchAll(/\bd\.(\w+)/g)].map((m) => m[1] ?? '')) {
        expect(
          f === 'blob'
            ? lines.some((l) => l.message === LOG_DEAD_LETTERED && 'blob' in l.fields)
            : alertFields.has(f),
        ).toBe(true);
      }
      const batchFields = fieldsOf(['batch processed']);
      for (const f of [...(metrics ?? '').matchAll(/\bd\.(\w+)/g)].map((m) => m[1] ?? ''))
        expect([f, batchFields.has(f)]).toEqual([f, true]);
    });
  });
});
