/*
 * Decides, from the raw bytes of an Event Hub body and before any parsing, whether the body can hold a
 * record that a rule could match. Almost every Activity Log body is benign, and scanning bytes is several
 * times cheaper than `JSON.parse`, so only the bodies that can match are parsed.
 *
 * Soundness (a body holding a matching record is never skipped) rests on the rules' contract: a rule fires
 * only when the upper-cased operation name contains one of its `operationPatterns`. Each pattern yields a
 * needle, a run of letters and digits taken from it, so the needle holds no `/` (which JSON may write as
 * `\/`) and no `.`. The decoded operation name then contains the needle case-insensitively, and its raw
 * bytes contain it too unless one of its characters is written another way:
 * - as a `\uXXXX` escape: any escape of a character that could produce a needle character sends the
 *   body to the parser (Azure's exporter escapes `'`, `&`, `<`, `>` this way, never letters);
 * - as a non-ASCII character whose upper (or lower) case holds ASCII letters (`ß` → `SS`, `ı` → `I`,
 *   the `ﬁ` ligatures, ...): around each such character the raw text is upper-cased with the same
 *   `toUpperCase` the rule uses and searched again.
 *
 * Rules with a resource scope (types.ts `ResourceScope`) fire only on resource ids of a certain shape, so their
 * needles come from the scope instead of their operation patterns, which can be in every body (`SITES`,
 * `LISTKEYS`, `DIAGNOSTICSETTINGS`): a protected scope's needle is the most specific run of its ids' last
 * segment (an upper-cased substring of every id inside it); a subscription-level resource type's needle is
 * the type's name, and an occurrence counts only when the text of the JSON string before it reads
 * `/subscriptions/<id>/providers/<provider>/` (any backslash there, or no string start within reach, counts
 * as a match: escapes are not decoded). The same escape and fold checks cover these needles.
 *
 * Skipped bodies are not validated. To keep malformed-message detection where it matters, a body is
 * skipped only when it is framed like JSON (first non-space byte `{`/`[`, last the matching `}`/`]`) and
 * names an operation field; anything else (empty, truncated, foreign data) is parsed and reported as
 * before. What a skipped body can still hide is damage inside a well-framed benign body (a broken byte in
 * the middle, a record with a wrongly typed field): no alert can come from it, and the batch summary counts
 * it under `prefiltered`.
 */
import { isAscii } from 'node:buffer';
import {
  detectSourceFormat,
  OPERATION_FIELDS,
  readField,
  readOperationName,
  readText,
} from '../normalize/shapes';
import {
  EMPTY_RULE_CONTEXT,
  inProtectedScope,
  isSubscriptionLevel,
  protectedPrefixes,
  subscriptionLevelPrefixPattern,
} from './scope';
import type { DetectionRule, ResourceScope, RuleContext } from './types';

/** Why a body must be parsed, or `skip` when it cannot hold a matching record. */
export type PrefilterVerdict =
  /** Holds a needle: may match. */
  | 'needle'
  /** Holds a `\uXXXX` escape that could write a needle character. */
  | 'escape'
  /** Holds a non-ASCII character whose case mapping spells a needle. */
  | 'fold'
  /** Not framed like a JSON object or array: parsed so that the decoder can report it. */
  | 'frame'
  /** Names no operation field: parsed so that records without one are reported. */
  | 'noOperationField'
  /** Not bytes or text (already parsed by the worker): nothing to scan. */
  | 'notRaw'
  /** The rules' patterns yield no needle: every body is parsed. */
  | 'unfiltered'
  | 'skip';

export interface Prefilter {
  /**
   * Upper-case needles derived from the rules' operation patterns and resource scopes; empty when no
   * filtering is possible.
   */
  readonly needles: readonly string[];
  /** The needles that count only where the text before them passes their check (a subscription-level id). */
  readonly confirmedNeedles: readonly string[];
  classify(body: unknown): PrefilterVerdict;
  /** False only when the body cannot hold a record any rule matches (and is framed like JSON). */
  mayContainMatch(body: unknown): boolean;
  /**
   * For a decoded record: false only when its operation name is a plain string that no rule's pattern can
   * match, or that only rules with a resource scope match and its resource id lies outside their scope, so
   * normalizing and evaluating it cannot produce an alert.
   */
  recordMayMatch(record: unknown): boolean;
}

/** What a prefilter is built from: the rules' patterns, split by where the rules can fire. */
export interface PrefilterInput {
  /** Operation patterns of rules that may fire on any resource: their needles come from the patterns. */
  readonly patterns: readonly string[];
  /** Rules that fire only inside a resource scope: their patterns (for the record gate) and their scope. */
  readonly scoped?: readonly { readonly patterns: readonly string[]; readonly scope: ResourceScope }[];
  /** The protected scope the `protected` rules are evaluated with. */
  readonly context?: RuleContext;
}

/**
 * Every code point outside ASCII whose `toUpperCase()` or `toLowerCase()` holds an ASCII letter or digit.
 * A test scans all of Unicode on the running Node and fails if this list is incomplete.
 */
export const ASCII_FOLDING_CHARACTERS =
  '\u00df\u0130\u0131\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u212a\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06';

/**
 * One needle per pattern: its most specific run of letters and digits. Azure operations read
 * `Provider/resourceType[/subType]/verb`; the segment before the verb (`PACKETCAPTURES`, `STARTPACKETCAPTURE`)
 * is the rare one, while provider and verb (`MICROSOFT.NETWORK`, `WRITE`) are in almost every body. Any run
 * of the pattern is sound; this choice only makes the filter selective. A needle containing another is
 * dropped, since every text holding it holds the shorter one. Undefined when a pattern has no such run.
 */
export function deriveNeedles(patterns: readonly string[]): string[] | undefined {
  const chosen: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.toUpperCase();
    const segments = pattern.split('/').filter((s) => s !== '');
    const specific = segments.length >= 2 ? segments[segments.length - 2] : segments[0];
    const needle = longestRun(specific ?? '') || longestRun(pattern);
    if (needle === '') return undefined;
    chosen.push(needle);
  }
  const unique = [...new Set(chosen)].sort((a, b) => a.length - b.length || a.localeCompare(b));
  return unique.filter((n, i) => !unique.slice(0, i).some((shorter) => n.includes(shorter)));
}

function longestRun(text: string, run = /[A-Z0-9]+/g): string {
  let best = '';
  for (const r of text.match(run) ?? []) if (r.length > best.length) best = r;
  return best;
}

/** Shorter needles shorten every shift of the scan; a protected id's needle is lengthened to this. */
const MIN_SCOPE_NEEDLE = 13;

/**
 * The needle of a protected id (normalized, upper-cased): the longest run of its last segment made of
 * characters JSON writes as themselves (letters, digits, `-`, `_`, `.`, parentheses), else of the whole id;
 * when shorter than MIN_SCOPE_NEEDLE, lengthened to the left with the id's preceding characters, slashes
 * included (`S/RG-PCD-PROD`), so the scan keeps its stride. Every resource id inside the scope, upper-cased,
 * holds the id and so the needle; a body that writes `/` as `\/` is parsed (the escape check).
 */
export function protectedIdNeedle(prefix: string): string {
  const safe = /[A-Z0-9._()-]+/g;
  const last =
    prefix
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? '';
  const run = longestRun(last, safe) || longestRun(prefix, safe);
  if (run === '') return '';
  const end = prefix.lastIndexOf(run) + run.length;
  let start = end - run.length;
  while (end - start < MIN_SCOPE_NEEDLE && start > 0 && /[A-Z0-9._()/-]/.test(prefix.charAt(start - 1))) {
    start--;
  }
  return prefix.slice(start, end);
}

/**
 * A needle, and for a confirmed one the check of the raw text before it (undefined: escaped or out of
 * reach, so it counts as a match) with the exact number of `/` that text must hold for the check to pass
 * (counted while it is found, so most occurrences are turned down without making a string).
 */
interface Needle {
  readonly text: string;
  readonly confirm?: (before: string | undefined) => boolean;
  readonly slashes?: number;
  readonly key: string;
}

function scopeNeedles(scope: ResourceScope, context: RuleContext): Needle[] | undefined {
  if (scope.kind === 'protected') {
    const needles: Needle[] = [];
    const prefixes = protectedPrefixes(context);
    // An id inside another protected id adds nothing: the outer id's needle is in its resources too.
    const outermost = prefixes.filter(
      (p) => !prefixes.some((q) => q !== p && p.startsWith(q) && p.charCodeAt(q.length) === 0x2f),
    );
    for (const prefix of outermost) {
      const text = protectedIdNeedle(prefix);
      if (text === '') return undefined;
      needles.push({ text, key: text });
    }
    return needles;
  }
  const type = scope.resourceType.toUpperCase();
  const last =
    type
      .split('/')
      .filter((s) => s !== '')
      .pop() ?? '';
  const text = longestRun(last);
  if (text === '') return undefined;
  const typePrefix = scope.resourceType.slice(0, type.lastIndexOf(text));
  const pattern = subscriptionLevelPrefixPattern(scope.resourceType, typePrefix.length);
  return [
    {
      text,
      confirm: (before) => before === undefined || pattern.test(before),
      // `/subscriptions/<id>/providers/<type prefix>`: four, and the type prefix's own.
      slashes: 4 + typePrefix.split('/').length - 1,
      key: `${text} after ${pattern.source}`,
    },
  ];
}

const cache = new WeakMap<readonly DetectionRule[], Map<string, Prefilter>>();

/**
 * The prefilter for a rule set evaluated with a context, built once per rule set and protected scope (once
 * per process for `RULES` and the settings).
 */
export function prefilterFor(
  rules: readonly DetectionRule[],
  context: RuleContext = EMPTY_RULE_CONTEXT,
): Prefilter {
  let byScope = cache.get(rules);
  if (!byScope) {
    byScope = new Map();
    cache.set(rules, byScope);
  }
  const key = protectedPrefixes(context).join('\n');
  let prefilter = byScope.get(key);
  if (!prefilter) {
    prefilter = buildPrefilter({
      patterns: rules
        .filter((r) => !r.resourceScope)
        .flatMap((r) => r.operationPatterns.map((p) => p.pattern)),
      scoped: rules.flatMap((r) =>
        r.resourceScope
          ? [{ patterns: r.operationPatterns.map((p) => p.pattern), scope: r.resourceScope }]
          : [],
      ),
      context,
    });
    byScope.set(key, prefilter);
  }
  return prefilter;
}

/**
 * Past these counts a body is parsed rather than checked further: each escape and each folding character
 * costs a little, and a body dense with them (a German or Turkish tenant's names, say) is cheaper to parse
 * than to inspect piece by piece. Realistic bodies hold ~140 escapes and a handful of folding characters.
 */
const MAX_ESCAPES = 4096;
const MAX_FOLD_WINDOWS = 64;

/** ASCII upper-casing table for bytes and UTF-16 code units below 128. */
const UPPER = new Uint8Array(128);
for (let i = 0; i < 128; i++) UPPER[i] = i >= 0x61 && i <= 0x7a ? i - 0x20 : i;

/** Operation names whose gate result is remembered; past it the memo starts over (hostile unique names). */
const MAX_GATE_MEMO = 4096;

interface Gate {
  /** A rule that fires on any resource matches the operation. */
  readonly anywhere: boolean;
  /** The scopes of the scoped rules that match it. */
  readonly scopes: readonly ResourceScope[];
}

export function buildPrefilter(input: readonly string[] | PrefilterInput): Prefilter {
  const spec: PrefilterInput = isPatternList(input) ? { patterns: input } : input;
  const context = spec.context ?? EMPTY_RULE_CONTEXT;
  const patterns = spec.patterns.map((p) => p.toUpperCase());
  const scoped = (spec.scoped ?? []).map((g) => ({
    patterns: g.patterns.map((p) => p.toUpperCase()),
    scope: g.scope,
  }));

  // The record gate: which rules an operation name can make fire, remembered per name (streams repeat a
  // few hundred operation names), then for scoped rules whether the record's resource is in their scope.
  const memo = new Map<string, Gate>();
  const gateOf = (operation: string): Gate => {
    let gate = memo.get(operation);
    if (gate === undefined) {
      const upper = operation.toUpperCase();
      gate = {
        anywhere: patterns.some((p) => upper.includes(p)),
        scopes: scoped.filter((g) => g.patterns.some((p) => upper.includes(p))).map((g) => g.scope),
      };
      if (memo.size >= MAX_GATE_MEMO) memo.clear();
      memo.set(operation, gate);
    }
    return gate;
  };
  const recordMayMatch = (record: unknown): boolean => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return true;
    const obj = record as Record<string, unknown>;
    const format = detectSourceFormat(obj);
    const operation = readOperationName(obj, format);
    // No readable operation: normalization must judge the record (and report it).
    if (operation === undefined) return true;
    const gate = gateOf(operation);
    if (gate.anywhere) return true;
    if (gate.scopes.length === 0) return false;
    // Read as normalization reads it, so the gate and the rules see the same resource id.
    const resourceId = readField(obj, format, 'resourceId', readText)?.trim() ?? '';
    return gate.scopes.some((scope) =>
      scope.kind === 'protected'
        ? inProtectedScope(resourceId, context)
        : isSubscriptionLevel(resourceId, scope.resourceType),
    );
  };

  const derived = deriveNeedles(patterns);
  const fromScopes: Needle[] = [];
  let unfiltered = derived === undefined;
  for (const group of scoped) {
    const needles = scopeNeedles(group.scope, context);
    if (needles === undefined) unfiltered = true;
    else for (const n of needles) fromScopes.push(n);
  }
  const plain = [...new Set([...(derived ?? []), ...fromScopes.filter((n) => !n.confirm).map((n) => n.text)])]
    .sort((a, b) => a.length - b.length || a.localeCompare(b))
    .filter((n, i, all) => !all.slice(0, i).some((shorter) => n.includes(shorter)));
  const confirmed = [
    ...new Map(
      fromScopes.filter((n) => n.confirm && !plain.some((q) => n.text.includes(q))).map((n) => [n.key, n]),
    ).values(),
  ];
  const allNeedles: Needle[] = [...plain.map((text) => ({ text, key: text })), ...confirmed];

  if (unfiltered || allNeedles.length === 0) {
    return {
      needles: [],
      confirmedNeedles: [],
      classify: () => 'unfiltered',
      mayContainMatch: () => true,
      recordMayMatch,
    };
  }
  const needles = [...new Set(allNeedles.map((n) => n.text))];
  const scanner = new NeedleScanner(allNeedles);
  // JSON may write `/` as `\/`: a needle holding `/` is then not in the bytes, so such a body is parsed.
  const slashInNeedles = needles.some((n) => n.includes('/'));
  const needleChars = new Set(needles.join(''));
  const spellsNeedleChar = (text: string): boolean => {
    for (const ch of text) if (needleChars.has(ch.toUpperCase())) return true;
    return false;
  };
  // Characters whose case mapping could write a needle character, as escapes and as literal text.
  const dangerousCodes = new Set<number>();
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (needleChars.has(ch.toUpperCase())) dangerousCodes.add(c);
  }
  const foldingChars: string[] = [];
  for (const ch of ASCII_FOLDING_CHARACTERS) {
    if (spellsNeedleChar(ch.toUpperCase()) || spellsNeedleChar(ch.toLowerCase())) {
      foldingChars.push(ch);
      dangerousCodes.add(ch.charCodeAt(0));
    }
  }
  // Grouped by first byte: one memchr-speed search per lead byte instead of one search per character.
  const foldingByLead = new Map<number, Buffer[]>();
  for (const ch of foldingChars) {
    const seq = Buffer.from(ch, 'utf8');
    const lead = seq[0] ?? 0;
    foldingByLead.set(lead, [...(foldingByLead.get(lead) ?? []), seq]);
  }
  const maxNeedle = needles.reduce((max, n) => Math.max(max, n.length), Number.NEGATIVE_INFINITY);
  const operationKeys = OPERATION_FIELDS.map((f) => `"${f}"`);
  const operationKeyBytes = operationKeys.map((k) => Buffer.from(k, 'latin1'));

  const windowHoldsNeedle = (text: string): boolean => {
    const upper = text.toUpperCase();
    return needles.some((n) => upper.includes(n));
  };

  const classifyBytes = (buf: Buffer): PrefilterVerdict => {
    if (!framedBytes(buf)) return 'frame';
    if (!operationKeyBytes.some((k) => buf.includes(k))) return 'noOperationField';
    if (scanner.scanBytes(buf)) return 'needle';
    let escapes = 0;
    // Every backslash: `\uXXXX` escapes are checked, and `\/` hides a needle holding a slash.
    for (let p = buf.indexOf(0x5c); p !== -1; p = buf.indexOf(0x5c, p + 1)) {
      const next = buf[p + 1];
      if (next === 0x2f && slashInNeedles) return 'escape';
      if (next !== 0x75) continue;
      const code = hexAt(buf, p + 2);
      if (code < 0 || dangerousCodes.has(code) || ++escapes > MAX_ESCAPES) return 'escape';
    }
    if (foldingByLead.size > 0 && !isAscii(buf)) {
      // A needle spelled with a folding character spans at most maxNeedle characters of at most 3 bytes.
      const reach = 3 * maxNeedle;
      let windows = 0;
      for (const [lead, sequences] of foldingByLead) {
        // A lead byte with one folding character (`ß` for 0xC3) is searched as the whole sequence: the
        // other characters of that lead (é, ü, ö: every German or French name) are skipped inside indexOf.
        const only = sequences.length === 1 ? sequences[0] : undefined;
        const find = (from: number): number => (only ? buf.indexOf(only, from) : buf.indexOf(lead, from));
        for (let p = find(0); p !== -1; p = find(p + 1)) {
          const seq = only ?? sequences.find((s) => bytesAt(buf, p, s));
          if (!seq) continue;
          if (++windows > MAX_FOLD_WINDOWS) return 'fold';
          const text = buf.toString(
            'utf8',
            Math.max(0, p - reach),
            Math.min(buf.length, p + seq.length + reach),
          );
          if (windowHoldsNeedle(text)) return 'fold';
        }
      }
    }
    return 'skip';
  };

  const classifyText = (text: string): PrefilterVerdict => {
    if (!framedText(text)) return 'frame';
    if (!operationKeys.some((k) => text.includes(k))) return 'noOperationField';
    if (scanner.scanText(text)) return 'needle';
    let escapes = 0;
    for (let p = text.indexOf('\\'); p !== -1; p = text.indexOf('\\', p + 1)) {
      const next = text.charCodeAt(p + 1);
      if (next === 0x2f && slashInNeedles) return 'escape';
      if (next !== 0x75) continue;
      const code = hexAtText(text, p + 2);
      if (code < 0 || dangerousCodes.has(code) || ++escapes > MAX_ESCAPES) return 'escape';
    }
    let windows = 0;
    for (const ch of foldingChars) {
      for (let p = text.indexOf(ch); p !== -1; p = text.indexOf(ch, p + 1)) {
        if (++windows > MAX_FOLD_WINDOWS) return 'fold';
        if (windowHoldsNeedle(text.slice(Math.max(0, p - maxNeedle), p + 1 + maxNeedle))) return 'fold';
      }
    }
    return 'skip';
  };

  const classify = (body: unknown): PrefilterVerdict => {
    if (Buffer.isBuffer(body)) return classifyBytes(body);
    if (typeof body === 'string') return classifyText(body);
    if (body instanceof Uint8Array)
      return classifyBytes(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    if (body instanceof ArrayBuffer) return classifyBytes(Buffer.from(body));
    return 'notRaw';
  };

  return {
    needles,
    confirmedNeedles: confirmed.map((n) => n.text),
    classify,
    mayContainMatch: (body) => classify(body) !== 'skip',
    recordMayMatch,
  };
}

function isPatternList(input: readonly string[] | PrefilterInput): input is readonly string[] {
  return Array.isArray(input);
}

/** How far back the start of a JSON string is looked for before a confirmed needle. */
const REGION_REACH = 512;

/**
 * The text of the JSON string before `start`, when it holds no backslash and starts within reach; undefined
 * otherwise (the caller then treats the occurrence as a match); null when it holds a number of `/` other
 * than `slashes` (it cannot pass the check).
 */
function regionBefore(buf: Buffer, start: number, slashes: number): string | undefined | null {
  const stop = Math.max(0, start - REGION_REACH);
  let q = start - 1;
  let seen = 0;
  while (q >= stop) {
    const c = buf[q];
    if (c === 0x22) break;
    if (c === 0x5c) return undefined;
    if (c === 0x2f && slashes >= 0 && ++seen > slashes) return regionEscaped(buf, q, stop) ? undefined : null;
    q--;
  }
  if (q < stop || (q > 0 && buf[q - 1] === 0x5c)) return undefined;
  if (slashes >= 0 && seen !== slashes) return null;
  return buf.toString('utf8', q + 1, start);
}

/** Whether the string holding `at` has a backslash before it (then nothing is concluded from its text). */
function regionEscaped(buf: Buffer, at: number, stop: number): boolean {
  for (let q = at - 1; q >= stop; q--) {
    const c = buf[q];
    if (c === 0x22) return q > 0 && buf[q - 1] === 0x5c;
    if (c === 0x5c) return true;
  }
  return true;
}

function regionBeforeText(text: string, start: number, slashes: number): string | undefined | null {
  const stop = Math.max(0, start - REGION_REACH);
  let q = start - 1;
  let seen = 0;
  while (q >= stop) {
    const c = text.charCodeAt(q);
    if (c === 0x22) break;
    if (c === 0x5c) return undefined;
    if (c === 0x2f) seen++;
    q--;
  }
  if (q < stop || (q > 0 && text.charCodeAt(q - 1) === 0x5c)) return undefined;
  if (slashes >= 0 && seen !== slashes) return null;
  return text.slice(q + 1, start);
}

function bytesAt(buf: Buffer, at: number, seq: Buffer): boolean {
  if (at + seq.length > buf.length) return false;
  for (let i = 0; i < seq.length; i++) if (buf[at + i] !== seq[i]) return false;
  return true;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** First non-space byte `{` or `[` (after an optional BOM), last non-space byte the matching closer. */
function framedBytes(buf: Buffer): boolean {
  let start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let end = buf.length - 1;
  while (start <= end && isJsonSpace(buf[start] ?? 0)) start++;
  while (end >= start && isJsonSpace(buf[end] ?? 0)) end--;
  if (start >= end) return false;
  const first = buf[start];
  const last = buf[end];
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
}

function framedText(text: string): boolean {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let end = text.length - 1;
  while (start <= end && isJsonSpace(text.charCodeAt(start))) start++;
  while (end >= start && isJsonSpace(text.charCodeAt(end))) end--;
  if (start >= end) return false;
  const first = text.charCodeAt(start);
  const last = text.charCodeAt(end);
  return (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** The code unit of the 4 hex digits at `at`, or -1 when they are not 4 hex digits. */
function hexAt(buf: Buffer, at: number): number {
  if (at + 4 > buf.length) return -1;
  let code = 0;
  for (let i = 0; i < 4; i++) {
    const v = hexValue(buf[at + i] ?? 0);
    if (v < 0) return -1;
    code = code * 16 + v;
  }
  return code;
}

function hexAtText(text: string, at: number): number {
  if (at + 4 > text.length) return -1;
  let code = 0;
  for (let i = 0; i < 4; i++) {
    const v = hexValue(text.charCodeAt(at + i));
    if (v < 0) return -1;
    code = code * 16 + v;
  }
  return code;
}

/**
 * Case-insensitive (ASCII) multi-needle search, Wu-Manber style with two-byte blocks: the window of the
 * shortest needle's length slides by how far the block at its end is from ending a needle prefix, so most
 * bytes are never looked at. Blocks are keyed on `byte | 0x20`, which maps both cases of a letter to one
 * key; other bytes that share a key only shorten shifts (extra checks, never a missed match).
 */
class NeedleScanner {
  private readonly needleCodes: Uint8Array[];
  private readonly confirms: (Needle['confirm'] | undefined)[];
  private readonly slashes: number[];
  private readonly m: number;
  private readonly shift: Uint8Array;
  /** The two-byte blocks needles start with (keyed as the shifts are): a window starting otherwise holds none. */
  private readonly starts: Uint8Array;

  constructor(specs: readonly Needle[]) {
    const needles = specs.map((s) => s.text);
    this.needleCodes = needles.map((n) => Uint8Array.from(n, (ch) => ch.charCodeAt(0)));
    this.confirms = specs.map((s) => s.confirm);
    this.slashes = specs.map((s) => s.slashes ?? -1);
    this.m = needles.reduce((min, n) => Math.min(min, n.length), Number.POSITIVE_INFINITY);
    const m = this.m;
    const limit = Math.min(Math.max(m - 1, 0), 255);
    this.shift = new Uint8Array(65536).fill(limit);
    this.starts = new Uint8Array(65536);
    if (m < 2) {
      this.shift.fill(0); // One-character needles: check every position.
      this.starts.fill(1);
      return;
    }
    for (const n of needles) this.starts[((n.charCodeAt(0) | 0x20) << 8) | (n.charCodeAt(1) | 0x20)] = 1;
    for (const n of needles) {
      for (let j = 1; j < m; j++) {
        const key = ((n.charCodeAt(j - 1) | 0x20) << 8) | (n.charCodeAt(j) | 0x20);
        const s = Math.min(m - 1 - j, 255);
        if (s < (this.shift[key] ?? 0)) this.shift[key] = s;
      }
    }
  }

  scanBytes(x: Buffer): boolean {
    const len = x.length;
    const m = this.m;
    const shift = this.shift;
    let i = m - 1;
    while (i < len) {
      // With one-character needles the table is all zeros (x[-1] reads as undefined, taken as 0).
      const s = shift[(((x[i - 1] ?? 0) | 0x20) << 8) | ((x[i] ?? 0) | 0x20)] ?? 0;
      if (s !== 0) {
        i += s;
        continue;
      }
      const w = i - m + 1;
      if (
        this.starts[(((x[w] ?? 0) | 0x20) << 8) | ((x[w + 1] ?? 0) | 0x20)] === 1 &&
        this.matchBytesAt(x, w)
      )
        return true;
      i++;
    }
    return false;
  }

  private matchBytesAt(x: Buffer, start: number): boolean {
    for (let i = 0; i < this.needleCodes.length; i++) {
      const n = this.needleCodes[i] ?? new Uint8Array();
      const L = n.length;
      if (start + L > x.length) continue;
      let k = 0;
      while (k < L) {
        const c = x[start + k] ?? 0x80;
        if (c > 0x7f || UPPER[c] !== n[k]) break;
        k++;
      }
      if (k !== L) continue;
      const confirm = this.confirms[i];
      if (confirm === undefined) return true;
      const before = regionBefore(x, start, this.slashes[i] ?? -1);
      if (before !== null && confirm(before)) return true;
    }
    return false;
  }

  scanText(x: string): boolean {
    const len = x.length;
    const m = this.m;
    const shift = this.shift;
    let i = m - 1;
    while (i < len) {
      // charCodeAt(-1) is NaN, which `| 0x20` turns into 0x20.
      const s = shift[(((x.charCodeAt(i - 1) | 0x20) & 0xff) << 8) | ((x.charCodeAt(i) | 0x20) & 0xff)] ?? 0;
      if (s !== 0) {
        i += s;
        continue;
      }
      const w = i - m + 1;
      const start = (((x.charCodeAt(w) | 0x20) & 0xff) << 8) | ((x.charCodeAt(w + 1) | 0x20) & 0xff);
      if (this.starts[start] === 1 && this.matchTextAt(x, w)) return true;
      i++;
    }
    return false;
  }

  private matchTextAt(x: string, start: number): boolean {
    for (let i = 0; i < this.needleCodes.length; i++) {
      const n = this.needleCodes[i] ?? new Uint8Array();
      const L = n.length;
      if (start + L > x.length) continue;
      let k = 0;
      while (k < L) {
        const c = x.charCodeAt(start + k);
        if (c > 0x7f || UPPER[c] !== n[k]) break;
        k++;
      }
      if (k !== L) continue;
      const confirm = this.confirms[i];
      if (confirm === undefined) return true;
      const before = regionBeforeText(x, start, this.slashes[i] ?? -1);
      if (before !== null && confirm(before)) return true;
    }
    return false;
  }
}
