import { InvocationContext } from '@azure/functions';
import { PassThrough } from 'node:stream';
import { runReplay } from '../../src/cli/replay';
import { loadSettings } from '../../src/config/settings';
import { createDelivery } from '../../src/deliver/index';
import type { RetrySettings } from '../../src/deliver/uploader';
import { createEventHubHandler } from '../../src/functions/eventHubHandler';
import { AZURITE_ACCOUNT_KEY } from '../support/azurite';
import { FAST_RETRY, startHarness, type Harness } from '../support/deliveryHarness';
import { ALL_FAULTS, type FaultPlan } from '../support/logsIngestionFake';
import { FAKE_MI_TOKEN_MARKER } from '../support/managedIdentityFake';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';
import { LEAK_CANARY_SIG, makeWorkload, type EventBatch } from './workload';

/**
 * The fault matrix: real handler, real LogsIngestionClient + ManagedIdentityCredential against the HTTPS
 * fake, real blob client against Azurite (through a proxy that can take it down). Each case pushes a
 * workload through the function's handler, with the Functions host's retry policy emulated (a batch whose
 * invocation throws is invoked again; its checkpoint does not move), then replays the dead letters, and
 * checks every expected AlertId: after the run it is in the table or in a dead letter, after replay it is
 * in the table. `npm test` runs a fast subset; FAULTS_FULL=1 (npm run test:faults) runs every case.
 */
const FULL = process.env.FAULTS_FULL === '1';
const MAX_HOST_ATTEMPTS = 12;

interface Case {
  readonly name: string;
  readonly faults?: FaultPlan;
  readonly down?: boolean;
  /** The dead-letter store is unreachable for this many invocations of every batch. */
  readonly storageDownAttempts?: number;
  readonly retry?: Partial<RetrySettings>;
}

export interface Figures {
  readonly case: string;
  readonly batches: number;
  readonly expected: number;
  readonly faults: number;
  readonly retries: number;
  readonly hostRetries: number;
  readonly deadLettered: number;
  readonly malformedKept: number;
  readonly replayed: number;
  readonly lost: number;
  readonly duplicates: number;
}

const cases: Case[] = [
  ...(FULL
    ? ALL_FAULTS.map((kind, i): Case => ({
        name: `${kind} alone (30%)`,
        faults: { rate: 0.3, kinds: [kind], seed: 101 + i },
      }))
    : []),
  { name: 'all faults mixed (30%)', faults: { rate: 0.3, kinds: ALL_FAULTS, seed: 7 } },
  { name: 'endpoint down for the whole budget', down: true, retry: { budgetMs: 600 } },
  {
    name: 'endpoint and dead-letter store down',
    down: true,
    storageDownAttempts: 2,
    retry: { budgetMs: 400 },
  },
];

const workloadSize = FULL
  ? { batches: 40, messagesPerBatch: 5, capturesPerMessage: 2 }
  : { batches: 8, messagesPerBatch: 4, capturesPerMessage: 2 };

describe('fault matrix: zero alerts lost', () => {
  let h: Harness;
  let proxy: TcpProxy;
  const figures: Figures[] = [];
  const logText: string[] = [];
  const blobText: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ li: { retryAfterSeconds: 0, slowMs: 1_500 } });
    proxy = await startTcpProxy(Number(/127\.0\.0\.1:(\d+)/.exec(h.azurite.blobEndpoint)?.[1]));
  }, 60_000);

  afterAll(async () => {
    await proxy.stop();
    await h.stop();
    if (figures.length > 0) {
      console.log(`Fault matrix (${FULL ? 'full' : 'fast subset'}):\n${formatFigures(figures)}`);
    }
  });

  async function runBatches(c: Case, batches: EventBatch[], env: NodeJS.ProcessEnv) {
    const settings = loadSettings(env, 'cli');
    const handler = createEventHubHandler((logger) =>
      Promise.resolve(
        createDelivery(settings, logger, { ...h.overrides, retry: { ...FAST_RETRY, ...c.retry } }),
      ),
    );
    let hostRetries = 0;
    let retries = 0;
    let malformedKept = 0;
    for (const batch of batches) {
      for (let attempt = 1; ; attempt++) {
        if (c.storageDownAttempts !== undefined) proxy.setDown(attempt <= c.storageDownAttempts);
        const lines: string[] = [];
        const context = new InvocationContext({
          functionName: 'packetCaptureDetector',
          invocationId: `${c.name}-${batch.index}-${attempt}`,
          logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
          triggerMetadata: {
            partitionContext: {
              partitionId: batch.partitionId,
              eventHubName: 'insights-activity-logs',
              consumerGroup: 'pcd',
            },
            offsetArray: batch.messages.map((_, i) => String((batch.firstSequenceNumber + i) * 1024)),
            sequenceNumberArray: batch.messages.map((_, i) => batch.firstSequenceNumber + i),
            enqueuedTimeUtcArray: batch.messages.map(() => '2025-12-22T10:31:00.123'),
          },
        });
        let failed = false;
        try {
          await handler(batch.messages, context);
        } catch {
          failed = true;
        }
        logText.push(...lines);
        for (const line of lines) {
          const fields = /^alert delivery (\{.*\})$/.exec(line)?.[1];
          if (fields) retries += (JSON.parse(fields) as { retried: number }).retried;
        }
        if (!failed) {
          malformedKept += batch.malformedMessages;
          break;
        }
        hostRetries++;
        if (attempt >= MAX_HOST_ATTEMPTS)
          throw new Error(`batch ${batch.index} still failing after ${attempt} invocations`);
      }
    }
    proxy.setDown(false);
    return { hostRetries, retries, malformedKept };
  }

  it.each(cases.map((c, i) => [c.name, c, i] as const))(
    '%s',
    async (_name, c, caseIndex) => {
      await h.clearDeadLetters();
      h.li.setFaults(c.faults);
      h.li.setDown(c.down ?? false);
      const faultsBefore = h.li.totalFaults();
      const batches = makeWorkload({
        caseId: `c${caseIndex}`,
        seed: 1_000 + caseIndex,
        malformedRate: 0.1,
        ...workloadSize,
      });
      const expected = batches.flatMap((b) => b.expectedAlertIds);
      expect(new Set(expected).size).toBe(expected.length);
      const env = { ...h.env, AzureWebJobsStorage: proxy.route(h.azurite.connectionString) };

      const run = await runBatches(c, batches, env);
      const faults = h.li.totalFaults() - faultsBefore;
      h.li.setFaults(undefined);
      h.li.setDown(false);

      // After the run: every alert is in the table or in a dead letter.
      const inTable = h.li.countsByAlertId();
      const deadLettered = await h.deadLetteredIds();
      const deadSet = new Set(deadLettered);
      const lostBeforeReplay = expected.filter((id) => !inTable.has(id) && !deadSet.has(id));
      expect(lostBeforeReplay).toEqual([]);
      blobText.push(await h.allBlobText());
      const malformedDocs = await h.malformedDeadLetters();
      const malformedKept = malformedDocs.reduce((n, d) => n + d.doc.messages.length, 0);
      expect(malformedKept).toBe(run.malformedKept);

      // Replay: everything into the table.
      const out = new PassThrough();
      let outText = '';
      out.on('data', (d: Buffer) => (outText += d.toString()));
      const code = await runReplay(
        ['--budget-seconds', '20'],
        { stdout: out, stderr: out, stdin: new PassThrough(), env },
        { ...h.overrides, retry: undefined },
      );
      logText.push(outText);
      expect({ code, outText }).toMatchObject({ code: 0 });
      const replayed = Number(/^replay: .*?(\d+) alerts accepted/m.exec(outText)?.[1] ?? NaN);

      const after = h.li.countsByAlertId();
      const lost = expected.filter((id) => !after.has(id));
      const duplicates = expected.reduce((n, id) => n + Math.max(0, (after.get(id) ?? 0) - 1), 0);
      figures.push({
        case: c.name,
        batches: batches.length,
        expected: expected.length,
        faults,
        retries: run.retries,
        hostRetries: run.hostRetries,
        deadLettered: deadLettered.length,
        malformedKept,
        replayed,
        lost: lost.length,
        duplicates,
      });
      expect(lost).toEqual([]);
      expect(await h.blobNames('alerts/')).toEqual([]);
      expect(h.li.violations).toEqual([]);
      expect(replayed).toBe(deadLettered.length);
      if (c.down) expect(deadLettered.length).toBe(expected.length);
      if (c.storageDownAttempts) expect(run.hostRetries).toBe(batches.length * c.storageDownAttempts);
      if (c.faults) expect(faults).toBeGreaterThan(0);
    },
    240_000,
  );

  it('no token, key or SAS in logs, dead letters or the table', () => {
    const haystack = [...logText, ...blobText, JSON.stringify(h.li.rows)].join('\n');
    expect(haystack.length).toBeGreaterThan(1_000);
    const secrets = [
      FAKE_MI_TOKEN_MARKER,
      h.mi.identityHeader,
      AZURITE_ACCOUNT_KEY,
      LEAK_CANARY_SIG,
      ...h.mi.issuedTokens,
    ];
    expect(h.mi.issuedTokens.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => haystack.includes(s))).toEqual([]);
    expect(haystack.match(/[?&]sig=(?!REDACTED)[^&"\s]+/g) ?? []).toEqual([]);
    expect(haystack.match(/Bearer\s+(?!REDACTED)[A-Za-z0-9._-]{8,}/g) ?? []).toEqual([]);
  });
});

export function formatFigures(rows: readonly Figures[]): string {
  const headers = [
    'case',
    'batches',
    'expected',
    'faults',
    'retries',
    'hostRetries',
    'deadLettered',
    'malformedKept',
    'replayed',
    'lost',
    'duplicates',
  ] as const;
  const cells = [headers.map(String), ...rows.map((r) => headers.map((k) => String(r[k])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]): string => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const totals = headers.map((k) => (k === 'case' ? 'TOTAL' : String(rows.reduce((n, r) => n + r[k], 0))));
  return [
    line(cells[0] ?? []),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.slice(1).map(line),
    line(totals),
  ].join('\n');
}
