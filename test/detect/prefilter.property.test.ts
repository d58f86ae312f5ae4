import fc from 'fast-check';
import { decodeMessage } from '../../src/decode/decode';
import { prefilterFor } from '../../src/detect/prefilter';
import { RULES } from '../../src/detect/registry';
import type { ActivityEvent } from '../../src/normalize/activityEvent';
import { detectBatch, type BatchResult } from '../../src/pipeline/detectBatch';
import { FIXTURE_CONTEXT, FIXTURES_BY_RULE } from '../detect/fixtureIndex';
import { prng } from '../../bench/prng';

/**
 * The prefilter must never skip what the full path would alert on, however the JSON is written: any
 * casing, `\/` and `\uXXXX` escapes anywhere, characters that upper-case to ASCII (`ſ` → `S`), records
 * anywhere in the body, needle fragments split across fields, and noise around them. The reference is the
 * same pipeline with the prefilter off. Every rule's fixtures take part, evaluated with the fixtures'
 * protected scope: the integrity rules' records are found by their resource ids (the scope's needles, the
 * subscription-level check), and their resource ids are respelled as operation names are.
 */

const NOW = new Date('2026-01-01T00:00:00Z');
const prefilter = prefilterFor(RULES, FIXTURE_CONTEXT);
const RUNS = Number(process.env.PREFILTER_PROPERTY_RUNS ?? 300);

/** Whose findings depend on the resource id: those logs keep theirs (respelled) rather than move it. */
const SCOPED_RULES = new Set(RULES.filter((r) => r.resourceScope).map((r) => r.id));
const fixtureLogs = (positive: boolean) =>
  Object.entries(FIXTURES_BY_RULE).flatMap(([id, fixtures]) =>
    fixtures
      .filter((f) => (f.kind === 'positive') === positive)
      .map((f) => ({ log: f.log, scoped: SCOPED_RULES.has(id) })),
  );
const POSITIVE_LOGS = fixtureLogs(true);
const OTHER_LOGS = fixtureLogs(false);
const PATTERNS = RULES.flatMap((r) => r.operationPatterns.map((p) => p.pattern));

interface Encoding {
  /** Probability of writing a character as `\uXXXX` (and of writing `/` as `\/`). */
  readonly escapeRate: number;
  /** False: only characters that are not ASCII letters or digits are escaped (as Azure's exporter does). */
  readonly escapeLetters: boolean;
  readonly upperHex: boolean;
  readonly spaces: boolean;
}

/** JSON text of `value` with escapes and whitespace chosen at random; always parses back to `value`. */
function encode(value: unknown, rand: () => number, enc: Encoding): string {
  const ws = () => (enc.spaces && rand() < 0.3 ? [' ', '\n', '\t', '\r\n'][Math.floor(rand() * 4)] : '');
  if (typeof value === 'string') {
    let out = '"';
    for (const ch of value) {
      const code = ch.codePointAt(0)!;
      const mustEscape = ch === '"' || ch === '\\' || code < 0x20;
      if (code > 0xffff) out += ch;
      else if (mustEscape || ((enc.escapeLetters || !/[A-Za-z0-9]/.test(ch)) && rand() < enc.escapeRate)) {
        const hex = code.toString(16).padStart(4, '0');
        out += `\\u${enc.upperHex ? hex.toUpperCase() : hex}`;
      } else if (ch === '/' && rand() < enc.escapeRate * 4) out += '\\/';
      else out += ch;
    }
    return `${out}"`;
  }
  if (Array.isArray(value))
    return `[${ws()}${value.map((v) => encode(v, rand, enc)).join(`,${ws()}`)}${ws()}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(
      ([k, v]) => `${encode(k, rand, enc)}${ws()}:${ws()}${encode(v, rand, enc)}`,
    );
    return `{${ws()}${entries.join(`,${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(value);
}

/** Characters the rule's `toUpperCase()` turns into the given ASCII letters. */
const FOLDS: readonly (readonly [RegExp, string, number])[] = [
  [/fi/gi, '\ufb01', 1],
  [/ff/gi, '\ufb00', 1],
  [/fl/gi, '\ufb02', 1],
  [/st/gi, '\ufb06', 1],
  [/ss/gi, '\u00df', 1],
  [/s/gi, '\u017f', 1],
  [/i/gi, '\u0131', 1],
  // Kelvin sign: upper-cases to itself, so it breaks the match (a negative case); kept rare.
  [/k/gi, '\u212a', 0.05],
];

function mixCase(text: string, rand: () => number): string {
  let out = '';
  for (const ch of text) out += rand() < 0.5 ? ch.toLowerCase() : ch.toUpperCase();
  return out;
}

function respell(operation: string, rand: () => number, foldRate: number): string {
  let out = rand() < 0.7 ? mixCase(operation, rand) : operation;
  if (foldRate === 0) return out;
  for (const [pattern, replacement, weight] of FOLDS) {
    out = out.replace(pattern, (m) => (rand() < foldRate * weight ? replacement : m));
  }
  return out;
}

/** The record in one of the shapes normalize reads: export, REST (`{value}`), or AzureActivity row. */
function reshape(
  log: Readonly<Record<string, unknown>>,
  operation: string,
  shape: number,
): Record<string, unknown> {
  if (shape === 0) return { ...log, operationName: operation };
  if (shape === 1) return { ...log, operationName: { value: operation, localizedValue: 'Op' } };
  return {
    TimeGenerated: log.time ?? log.eventTimestamp,
    OperationNameValue: operation,
    OperationName: 'Display name',
    ActivityStatusValue: log.resultType,
    _ResourceId: log.resourceId,
    CategoryValue: log.category,
    CorrelationId: log.correlationId,
    CallerIpAddress: log.callerIpAddress,
    TenantId: log.tenantId,
  };
}

/** Noise that shares letters and fragments with the needles but never a whole operation pattern. */
const noiseText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    'PACKET',
    'CAPTURE',
    'packetcaptur',
    'TAPCONFIG',
    'virtualnetworktap',
    'Groß Işık ﬁ ſ',
    "it's & <b>",
  ),
  fc.string({
    unit: fc.constantFrom('P', 'A', 'C', 'K', 'E', 'T', 'U', 'R', 'S', 'ſ', 'ı', '/', '\\', '"'),
    maxLength: 30,
  }),
);

interface RecordPlan {
  readonly base: { readonly log: Readonly<Record<string, unknown>>; readonly scoped: boolean };
  readonly operation: string;
  readonly shape: number;
  readonly noise: readonly string[];
  readonly split: boolean;
  /** Moves the record to a resource whose id holds no needle (fixtures sit on capture resources). */
  readonly benignResource: boolean;
}

const recordPlan = (positive: boolean): fc.Arbitrary<RecordPlan> =>
  fc.record({
    base: fc.constantFrom(...(positive ? POSITIVE_LOGS : OTHER_LOGS)),
    operation: positive
      ? fc.constant('')
      : fc.oneof(
          fc.constant(''),
          fc.constantFrom(
            'MICROSOFT.WEB/SITES/WRITE',
            'Microsoft.Compute/virtualMachines/start/action',
            'x',
            'Microsoft.Network/networkWatchers/packetCaptures/read',
          ),
          fc.constantFrom(
            'MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION',
            'Microsoft.Network/networkWatchers/write',
          ),
        ),
    shape: fc.integer({ min: 0, max: 2 }),
    noise: fc.array(noiseText, { maxLength: 3 }),
    split: fc.constantFrom(false, false, false, true),
    benignResource: fc.boolean(),
  });

interface BodyPlan {
  readonly records: readonly RecordPlan[];
  readonly framing: 'records' | 'array' | 'lines' | 'single' | 'bodies';
  readonly form: 'buffer' | 'string' | 'uint8array';
  readonly seed: number;
  readonly escapeRate: number;
  readonly escapeLetters: boolean;
  readonly foldRate: number;
  readonly upperHex: boolean;
  readonly spaces: boolean;
  readonly bom: boolean;
}

const bodyPlan: fc.Arbitrary<BodyPlan> = fc.record({
  records: fc
    .tuple(fc.array(recordPlan(false), { maxLength: 4 }), fc.array(recordPlan(true), { maxLength: 2 }))
    .chain(([neg, pos]) => fc.shuffledSubarray([...neg, ...pos], { minLength: neg.length + pos.length })),
  framing: fc.constantFrom('records', 'records', 'array', 'lines', 'single', 'bodies'),
  form: fc.constantFrom('buffer', 'string', 'uint8array'),
  seed: fc.integer(),
  escapeRate: fc.constantFrom(0, 0.01, 0.05, 0.3),
  escapeLetters: fc.constantFrom(false, false, true),
  foldRate: fc.constantFrom(0, 0, 0.2, 0.5),
  upperHex: fc.boolean(),
  spaces: fc.boolean(),
  bom: fc.boolean(),
});

const holdsNeedle = (text: string) => prefilter.needles.some((n) => text.toUpperCase().includes(n));

/**
 * Bodies where one capture record is the only place a needle could be, so that hiding it (folding
 * characters, escapes) is what decides: the cases a careless prefilter gets wrong.
 */
const hardRecord = (positive: boolean): fc.Arbitrary<RecordPlan> =>
  recordPlan(positive).map((r) => ({
    ...r,
    operation: positive ? '' : 'MICROSOFT.WEB/SITES/WRITE',
    benignResource: true,
    split: false,
    noise: r.noise.filter((n) => !holdsNeedle(n)),
  }));

const hardBodyPlan: fc.Arbitrary<BodyPlan> = fc.record({
  records: fc
    .tuple(fc.array(hardRecord(false), { maxLength: 3 }), fc.option(hardRecord(true), { freq: 3 }))
    .chain(([neg, pos]) => {
      const all = pos ? [...neg, pos] : neg;
      return fc.shuffledSubarray(all, { minLength: all.length });
    }),
  framing: fc.constantFrom('records', 'array', 'lines'),
  form: fc.constantFrom('buffer', 'string', 'uint8array'),
  seed: fc.integer(),
  escapeRate: fc.constantFrom(0, 0, 0.02, 0.1),
  escapeLetters: fc.boolean(),
  foldRate: fc.constantFrom(0, 0.3, 0.6, 1),
  upperHex: fc.boolean(),
  spaces: fc.boolean(),
  bom: fc.boolean(),
});

/** The operation of a fixture log, in whichever shape it is written. */
function readOperation(log: Readonly<Record<string, unknown>>): string {
  const op = log.operationName;
  if (typeof op === 'string') return op;
  if (typeof op === 'object' && op !== null && typeof (op as { value?: unknown }).value === 'string')
    return (op as { value: string }).value;
  return '';
}

function buildRecord(plan: RecordPlan, rand: () => number, foldRate: number): Record<string, unknown> {
  const log = plan.base.log;
  const operation = respell(plan.operation || readOperation(log), rand, foldRate);
  // A scoped rule's record keeps its resource, spelled another way (its needles are there).
  const base =
    plan.base.scoped && !plan.operation
      ? {
          ...log,
          resourceId: respell(typeof log.resourceId === 'string' ? log.resourceId : '', rand, foldRate),
        }
      : plan.benignResource
        ? {
            ...log,
            resourceId: '/SUBSCRIPTIONS/0000/RESOURCEGROUPS/RG-WEB/PROVIDERS/MICROSOFT.WEB/SITES/APP1',
          }
        : log;
  const rec = reshape(base, operation, plan.shape);
  plan.noise.forEach((n, i) => {
    rec[`noise${i}`] = n;
  });
  if (plan.split) {
    // A pattern torn across two fields (and, reversed, across their boundary): never a match by itself.
    const pattern = PATTERNS[Math.floor(rand() * PATTERNS.length)]!;
    const cut = 1 + Math.floor(rand() * (pattern.length - 1));
    rec.splitA = pattern.slice(0, cut);
    rec.splitB = pattern.slice(cut);
  }
  return rec;
}

function buildBody(plan: BodyPlan): Buffer | string | Uint8Array {
  const rand = prng(plan.seed);
  const enc: Encoding = {
    escapeRate: plan.escapeRate,
    escapeLetters: plan.escapeLetters,
    upperHex: plan.upperHex,
    spaces: plan.spaces,
  };
  const records = plan.records.map((r) => buildRecord(r, rand, plan.foldRate));
  let text: string;
  switch (plan.framing) {
    case 'records':
      text = encode({ records }, rand, enc);
      break;
    case 'array':
      text = encode(records, rand, enc);
      break;
    case 'lines':
      text = records.map((r) => encode(r, rand, { ...enc, spaces: false })).join('\n');
      break;
    case 'single':
      text = encode(records[0] ?? {}, rand, enc);
      break;
    case 'bodies':
      text = encode(
        records.map((r) => ({ records: [r] })),
        rand,
        enc,
      );
      break;
  }
  if (plan.bom) text = `\uFEFF${text}`;
  if (plan.form === 'string') return text;
  const bytes = Buffer.from(text, 'utf8');
  return plan.form === 'buffer' ? bytes : new Uint8Array(bytes);
}

const run = (messages: unknown[], prefilterOn: boolean): BatchResult =>
  detectBatch(messages, (i) => ({ sequenceNumber: i }), {
    now: NOW,
    prefilter: prefilterOn,
    context: FIXTURE_CONTEXT,
  });

type Problem = BatchResult['malformed'][number]['problems'][number];

/** Each problem the run found, keyed by message, code, line and record. */
function problemKeys(result: BatchResult): Set<string> {
  const keys = new Set<string>();
  for (const m of result.malformed) {
    for (const p of m.problems)
      keys.add(JSON.stringify([m.sequenceNumber, p.code, p.line, p.record, p.reason]));
  }
  return keys;
}

/** What the reference reported that the prefiltered run may leave out: skipped bodies, gated records. */
function explainedByPrefilter(messages: unknown[], sequenceNumber: number | undefined, p: Problem): boolean {
  const body = messages[sequenceNumber ?? -1];
  if (!prefilter.mayContainMatch(body)) return true;
  if (p.code !== 'RECORD_INVALID' && p.code !== 'RECORD_NOT_OBJECT') return false;
  if (p.record === undefined) return false;
  return !prefilter.recordMayMatch(decodeMessage(body).records[p.record]);
}

describe('prefilter soundness (property-based)', () => {
  it('never skips a body the full path alerts on, and the pipeline output is the same with it', () => {
    let alerting = 0;
    let skipped = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(bodyPlan, hardBodyPlan), { minLength: 1, maxLength: 4 }), (plans) => {
        const messages = plans.map(buildBody);
        const reference = run(messages, false);
        const filtered = run(messages, true);
        for (const body of messages) {
          const alone = run([body], false);
          if (alone.alerts.length > 0) {
            alerting++;
            expect(prefilter.mayContainMatch(body)).toBe(true);
          } else if (!prefilter.mayContainMatch(body)) skipped++;
        }
        expect(filtered.alerts).toEqual(reference.alerts);
        expect(filtered.counts.duplicates).toBe(reference.counts.duplicates);
        // Everything the prefiltered run reports, the reference reports too, and what it leaves out is
        // exactly what the prefilter is documented to leave out.
        const referenceProblems = problemKeys(reference);
        const filteredProblems = problemKeys(filtered);
        for (const key of filteredProblems) expect(referenceProblems).toContain(key);
        for (const m of reference.malformed) {
          for (const p of m.problems) {
            const key = JSON.stringify([m.sequenceNumber, p.code, p.line, p.record, p.reason]);
            if (!filteredProblems.has(key))
              expect(explainedByPrefilter(messages, m.sequenceNumber, p)).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
    // The generator must exercise both sides, or the property says nothing.
    expect(alerting).toBeGreaterThan(RUNS / 4);
    expect(skipped).toBeGreaterThan(RUNS / 10);
  });

  it('matches a reference search exactly on ASCII text without escapes', () => {
    const letters = fc.string({
      unit: fc.constantFrom(...'PACKETURVILNWOSFGpacketurvilnwosfg/._- '.split('')),
      maxLength: 100,
    });
    // A needle, whole or with one character dropped or changed, in random case, between random letters.
    const planted = fc
      .tuple(
        fc.constantFrom(...prefilter.needles),
        fc.nat(),
        fc.constantFrom('keep', 'drop', 'change'),
        fc.integer(),
      )
      .map(([needle, at, edit, seed]) => {
        const i = at % needle.length;
        const edited =
          edit === 'keep'
            ? needle
            : edit === 'drop'
              ? needle.slice(0, i) + needle.slice(i + 1)
              : `${needle.slice(0, i)}Q${needle.slice(i + 1)}`;
        return mixCase(edited, prng(seed));
      });
    // Sometimes the string starts like a subscription-level id, where a confirmed needle counts.
    const subscriptionLevel = fc
      .tuple(
        fc.constantFrom('', ' '),
        fc.constantFrom('s1', '0000-aa', 'x/y'),
        fc.constantFrom('microsoft.insights', 'Microsoft.Web'),
        fc.integer(),
      )
      .map(([ws, sub, provider, seed]) =>
        mixCase(`${ws}/subscriptions/${sub}/providers/${provider}/`, prng(seed)),
      );
    const confirmedRef = /^\s*\/subscriptions\/[^/]+\/providers\/microsoft\.insights\/$/i;
    const plain = prefilter.needles.filter((n) => !prefilter.confirmedNeedles.includes(n));
    fc.assert(
      fc.property(
        fc.option(subscriptionLevel),
        letters,
        fc.option(planted),
        letters,
        fc.boolean(),
        (lead, before, needle, after, asBytes) => {
          const body = `{"operationName":"${lead ?? ''}${before}${needle ?? ''}${after}"}`;
          const upper = body.toUpperCase();
          const confirmedAt = (n: string) => {
            for (let i = upper.indexOf(n); i !== -1; i = upper.indexOf(n, i + 1)) {
              if (confirmedRef.test(body.slice(body.lastIndexOf('"', i - 1) + 1, i))) return true;
            }
            return false;
          };
          const expected =
            plain.some((n) => upper.includes(n)) || prefilter.confirmedNeedles.some((n) => confirmedAt(n));
          const verdict = prefilter.classify(asBytes ? Buffer.from(body) : body);
          expect(verdict === 'needle').toBe(expected);
          expect(verdict === 'needle' || verdict === 'skip').toBe(true);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it('relies on a contract every rule keeps: no operation pattern in the operation, no finding', () => {
    const operation = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom(...PATTERNS).map((p) => p.slice(0, -1)),
      fc.constantFrom(...PATTERNS).map((p) => p.replace('/', '/X')),
    );
    for (const rule of RULES) {
      const patterns = rule.operationPatterns.map((p) => p.pattern);
      fc.assert(
        fc.property(operation, fc.constantFrom('Success', 'Succeeded', 'success'), (op, resultType) => {
          fc.pre(!patterns.some((p) => op.toUpperCase().includes(p)));
          const event: ActivityEvent = {
            sourceFormat: 'DiagnosticExport',
            time: '2025-12-22T10:30:00Z',
            operationName: op,
            resultType,
            phase: 'success',
            // Inside the protected scope, so only the operation decides.
            resourceId: `${FIXTURE_CONTEXT.protectedResourceIds[0] ?? ''}/providers/Microsoft.Web/sites/x`,
            category: 'Administrative',
            callerIpAddress: '',
            correlationId: '',
            location: '',
            tenantId: '',
            level: '',
            caller: '',
            callerKind: 'Unknown',
            callerObjectId: '',
            callerAppId: '',
            callerResourceId: '',
            subscriptionId: '',
            resourceGroup: '',
            properties: undefined,
            droppedFields: [],
          };
          expect(rule.evaluate(event, undefined, FIXTURE_CONTEXT)).toBeUndefined();
        }),
        { numRuns: RUNS },
      );
    }
  });

  it("finds a scoped rule's resource id however its string is written, among look-alikes", () => {
    // Every scoped rule's positives (the subscription-level export setting, the protected resources).
    const exportLogs = RULES.filter((r) => r.resourceScope)
      .flatMap((r) => FIXTURES_BY_RULE[r.id] ?? [])
      .filter((f) => f.kind === 'positive' && typeof f.log.resourceId === 'string')
      .map((f) => f.log);
    // The same operation on resources: the needle is there, but not after a subscription-level prefix.
    const resourceLevel = (i: number) => ({
      ...exportLogs[0],
      resourceId: `/SUBSCRIPTIONS/S${i}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV/PROVIDERS/MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/D${i}`,
    });
    /** The id as JSON text: escapes (`\/`, `\u002f`, letters) and case chosen per character. */
    const writeId = (
      id: string,
      rand: () => number,
      rate: number,
      slashRate: number,
      upperHex: boolean,
    ): string => {
      let out = '"';
      for (const ch of id) {
        const r = rand();
        const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
        if (r < rate) out += `\\u${upperHex ? hex.toUpperCase() : hex}`;
        else if (ch === '/' && rand() < slashRate) out += '\\/';
        else out += rand() < 0.5 ? ch.toLowerCase() : ch.toUpperCase();
      }
      return `${out}"`;
    };
    let alerting = 0;
    let skipped = 0;
    fc.assert(
      fc.property(
        fc.integer(),
        fc.constantFrom(0, 0, 0.01, 0.05, 0.3),
        fc.constantFrom(0, 0.5, 1),
        fc.boolean(),
        fc.nat({ max: 3 }),
        fc.boolean(),
        (seed, rate, slashRate, upperHex, decoys, withPositive) => {
          const rand = prng(seed);
          const records: string[] = [];
          for (let i = 0; i < decoys; i++) records.push(JSON.stringify(resourceLevel(i)));
          if (withPositive) {
            const log = exportLogs[Math.floor(rand() * exportLogs.length)]!;
            const { resourceId, ...rest } = log;
            const text = JSON.stringify(rest);
            records.splice(
              Math.floor(rand() * (records.length + 1)),
              0,
              `{"resourceId":${writeId(String(resourceId), rand, rate, slashRate, upperHex)},${text.slice(1)}`,
            );
          }
          const body = Buffer.from(`{"records":[${records.join(',')}]}`);
          const reference = run([body], false);
          if (reference.alerts.length > 0) {
            alerting++;
            expect(prefilter.mayContainMatch(body)).toBe(true);
          } else if (!prefilter.mayContainMatch(body)) skipped++;
          expect(run([body], true).alerts).toEqual(reference.alerts);
        },
      ),
      { numRuns: RUNS },
    );
    expect(alerting).toBeGreaterThan(RUNS / 4);
    expect(skipped).toBeGreaterThan(RUNS / 10);
  });
});
