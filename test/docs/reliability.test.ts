import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadSettings } from '../../src/config/settings';
import { createDelivery } from '../../src/deliver/index';
import { LOG_DEAD_LETTERED, LOG_DEAD_LETTER_FAILED } from '../../src/deliver/logsIngestionSink';
import type { MalformedStore } from '../../src/pipeline/ports';
import { LOG_BATCH_FAILED, LOG_BATCH_PROCESSED, runBatch } from '../../src/pipeline/runBatch';
import { LOG_SET_ASIDE, runBatchSettingAside, SET_ASIDE_AFTER_FAILURES } from '../../src/pipeline/setAside';
import { LOG_MESSAGE_LETS, renderLogMessagesKql } from '../../scripts/log-messages-kql';
import { analyzeKql, describeDiagnostics } from '../infra/helpers/kusto';
import { TRACES } from '../infra/helpers/schemas';
import { CapturingLogger, startHarness, type Harness } from '../support/deliveryHarness';
import { makeWorkload } from '../faults/workload';

/**
 * docs/reliability.md and the operator alerts promise log lines and queries; these tests hold the code and
 * the queries to them. The alerting queries are the deployed ones (infra/queries/operator-*.kql after the
 * generated log messages); the document keeps only the per-batch figures query.
 */
const doc = readFileSync(path.join(__dirname, '../../docs/reliability.md'), 'utf8');
const docQueries = [...doc.matchAll(/```kusto\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
const operatorQuery = (name: string) =>
  renderLogMessagesKql() + readFileSync(path.join(__dirname, '../../infra/queries', name), 'utf8');
const deadLettered = operatorQuery('operator-alerts-dead-lettered.kql');
const batchesFailed = operatorQuery('operator-batches-failed.kql');
const retrying = operatorQuery('operator-retrying-batch.kql');
const malformed = operatorQuery('operator-malformed-input.kql');
const setAside = operatorQuery('operator-message-set-aside.kql');

describe('docs/reliability.md', () => {
  it('has KQL that parses and binds against Application Insights traces, and no copy of an alert query', () => {
    expect(docQueries).toHaveLength(1);
    for (const q of docQueries) expect(describeDiagnostics(q, analyzeKql(q, [TRACES]).errors)).toEqual([]);
    expect(doc).not.toMatch(/message startswith "alerts dead-lettered/);
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

    it('every message a query filters on is logged, at the level the operator alert expects', () => {
      const inDoc = [...docQueries.join('\n').matchAll(/message startswith "([^"]+)"/g)].map((m) =>
        (m[1] ?? '').trim(),
      );
      expect([...new Set(inDoc)]).toEqual(['batch processed', 'batch failed']);
      // The messages the deployed operator queries match (through the generated lets).
      const used = Object.entries(LOG_MESSAGE_LETS)
        .filter(([name]) =>
          [deadLettered, batchesFailed, retrying, malformed, setAside].some((q) =>
            new RegExp(`strcat\\(${name}, " \\{"\\)`).test(q),
          ),
        )
        .map(([, message]) => message);
      expect(used.sort()).toEqual(
        [LOG_BATCH_FAILED, LOG_BATCH_PROCESSED, LOG_DEAD_LETTERED, LOG_SET_ASIDE].sort(),
      );
      const prefixes = [...inDoc, ...used];
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
      const read = (q: string) => [...q.matchAll(/\bd\.(\w+)/g)].map((m) => m[1] ?? '');
      const deadLetterFields = fieldsOf([LOG_DEAD_LETTERED]);
      for (const f of read(deadLettered)) expect([f, deadLetterFields.has(f)]).toEqual([f, true]);
      const failedFields = fieldsOf([LOG_BATCH_FAILED]);
      for (const f of [...read(batchesFailed), ...read(retrying)])
        expect([f, failedFields.has(f)]).toEqual([f, true]);
      const setAsideFields = fieldsOf([LOG_SET_ASIDE]);
      for (const f of read(setAside)) expect([f, setAsideFields.has(f)]).toEqual([f, true]);
      const batchFields = fieldsOf(['batch processed']);
      for (const f of [...read(docQueries[0] ?? ''), ...read(malformed)])
        expect([f, batchFields.has(f)]).toEqual([f, true]);
    });
  });
});
