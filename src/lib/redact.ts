/*
 * Secret redaction for everything the detector writes: alert rows, dead letters, logs and error messages.
 * A record's request body can carry credentials (a SAS URL for a capture's storage, a connection string, a
 * client secret), and SDK errors can quote a URL or a token; none of it may be copied into a table, a blob
 * or a terminal.
 *
 * The text it reads is attacker-controlled (anyone with the export's Send key writes to the hub), so there
 * is no regular expression here: one hand-written scanner reads the text left to right, and every inner
 * loop either consumes what it reads (it is replaced, or skipped for good) or looks ahead over a bounded
 * stretch that at most two other look-aheads can cover again. The work is therefore at most a small
 * constant times the length, whatever the text; `redactTextCounted` reports the work so a property test can
 * check that bound on adversarial strings (test/lib/redact.property.test.ts).
 *
 * What is masked, in plain, URL-encoded (`%26sig%3D`), JSON-escaped (`\"password\":\"…\"`, `\u0026sig=`)
 * and doubly JSON-escaped forms:
 * - SAS parameters: `sig=` wherever it stands as a parameter name (after `?`, `&`, `;`, a space, a quote or
 *   at the start), the other SAS parameters (`sv`, `se`, `sp`, …) after `?` or `&`;
 * - `name=value` and `"name": "value"` pairs whose name says credential: connection-string keys
 *   (`AccountKey`, `SharedAccessKey`, `SharedAccessSignature`, `Password`), `client_secret`, `password`,
 *   `storageAccountKey`, `clientSecret`, `sasToken`, `access_token`, `apiKey`, … (see `isSecretName`);
 * - `Bearer <token>` in any letter case, `Basic <credentials>` (RFC 7617: the token decodes to
 *   `user:password`, or follows an `Authorization` name), JWT-shaped tokens (`eyJ….….…`) anywhere;
 * - the password of a URL's user information (`https://user:pass@host`, also `:\/\/` and `%3A%2F%2F`);
 * - the body of a PEM private key.
 */
import { isUtf8 } from 'node:buffer';

export const REDACTED = 'REDACTED';
export const REDACTED_TOKEN = 'REDACTED_TOKEN';

/** SAS query parameters; `sig` is the secret one and is masked wherever it stands as a parameter name. */
const SAS_PARAMETERS: ReadonlySet<string> = new Set([
  'sig',
  'se',
  'sv',
  'sp',
  'sr',
  'st',
  'skoid',
  'sktid',
  'skt',
  'ske',
  'sks',
  'skv',
  'spr',
  'srt',
  'ss',
]);

/** Query parameters that carry a credential only as a parameter (`?code=` of a function URL, `&key=`). */
const QUERY_SECRET_NAMES: ReadonlySet<string> = new Set([
  'code',
  'key',
  'apikey',
  'api_key',
  'subscription-key',
]);

/** Names (lower case, without `_`, `-`, `.`) whose value is a credential. */
const SECRET_NAMES: ReadonlySet<string> = new Set([
  'sig',
  'pwd',
  'pass',
  'passwd',
  'password',
  'secret',
  'token',
  'authorization',
  'credential',
  'credentials',
  'sharedaccesssignature',
]);

/** Name endings that say credential (`storageAccountKey`, `client_secret`, `sasToken`, `x-api-key`, …). */
const SECRET_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'accountkey',
  'accesskey',
  'sharedkey',
  'primarykey',
  'secondarykey',
  'privatekey',
  'secretkey',
  'signingkey',
  'masterkey',
  'storagekey',
  'authkey',
  'apikey',
  'subscriptionkey',
  'connectionstring',
  'signature',
];

/** Longest run read as a parameter or field name; longer runs are data, never names. */
const MAX_NAME_LENGTH = 64;
/** JSON escaped within JSON up to 6 times (63 backslashes before a quote); deeper is not looked into. */
const MAX_ESCAPE_SLASHES = 64;
/** A `Basic` token longer than this is decoded only after an `Authorization` name. */
const MAX_BASIC_DECODE = 4_096;
/**
 * After `bearer` in any other spelling than RFC 6750's `Bearer`, a token shorter than this is a word
 * ("bearer of"), not a token.
 */
const MIN_LOWER_BEARER_TOKEN = 8;

/** True when a parameter or field of this name holds a credential. */
export function isSecretName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  let normalized = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5f || c === 0x2d || c === 0x2e || c === 0x20) continue; // _ - . space
    normalized += name[i]?.toLowerCase() ?? '';
  }
  if (SECRET_NAMES.has(normalized)) return true;
  for (const suffix of SECRET_SUFFIXES) if (normalized.endsWith(suffix)) return true;
  return false;
}

function isRunChar(c: number): boolean {
  // A-Z a-z 0-9 _ -  (names, and the base64url alphabet of JWTs)
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x5f ||
    c === 0x2d
  );
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isHexPair(text: string, at: number, pair: string): boolean {
  return text.length >= at + 2 && text.slice(at, at + 2).toLowerCase() === pair;
}

/** `%XX` (or `%25XX`, encoded twice) at `at` whose code is one of `pairs`; its length, else 0. */
function percentCode(text: string, at: number, pairs: readonly string[]): number {
  if (text.charCodeAt(at) !== 0x25) return 0;
  for (const pair of pairs) {
    if (isHexPair(text, at + 1, pair)) return 3;
    if (isHexPair(text, at + 1, '25') && isHexPair(text, at + 3, pair)) return 5;
  }
  return 0;
}

/** Codes that end a `name=value` value when percent-encoded: & ; " ' space # < > \ */
const ENCODED_VALUE_END = ['26', '3b', '22', '27', '20', '23', '3c', '3e', '5c'];

function isValueEnd(c: number): boolean {
  // control characters (whitespace included) & ; " ' < > \ #
  return (
    c <= 0x20 ||
    c === 0x7f ||
    c === 0x26 ||
    c === 0x3b ||
    c === 0x22 ||
    c === 0x27 ||
    c === 0x3c ||
    c === 0x3e ||
    c === 0x5c ||
    c === 0x23
  );
}

function isTokenChar(c: number): boolean {
  // RFC 6750 b64token: A-Z a-z 0-9 - . _ ~ + /  (padding '=' handled by the caller)
  return isRunChar(c) || c === 0x2e || c === 0x7e || c === 0x2b || c === 0x2f;
}

function isBase64Char(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2b ||
    c === 0x2f
  );
}

export interface RedactionResult {
  readonly text: string;
  /** Characters examined, all loops included: at most a small constant times the length. */
  readonly steps: number;
}

/** Free text with every secret form listed in the file header masked. */
export function redactText(text: string): string {
  return redactTextCounted(text).text;
}

/** `redactText`, also reporting the work it did (for the linear-time property test and the benchmark). */
export function redactTextCounted(text: string): RedactionResult {
  return new Scanner(text).run();
}

class Scanner {
  private readonly n: number;
  private readonly parts: string[] = [];
  /** text[copied..] has not been emitted yet. */
  private copied = 0;
  private steps = 0;
  /** The last name-like run and where it ended, for `Authorization: Basic …`. */
  private lastName = '';
  private lastNameEnd = -1;
  /** A masked `name=value` value ends here; runs before it are read only for what can reach past it. */
  private rescanUntil = 0;
  /** Escaping level of the field `fieldColon` last recognised (backslashes before each quote). */
  private fieldSlashes = 0;

  constructor(private readonly text: string) {
    this.n = text.length;
  }

  run(): RedactionResult {
    const { text, n } = this;
    let i = 0;
    while (i < n) {
      this.steps++;
      const c = text.charCodeAt(i);
      if (isRunChar(c)) {
        let j = i + 1;
        while (j < n && isRunChar(text.charCodeAt(j))) j++;
        this.steps += j - i;
        i = this.onRun(i, j);
        continue;
      }
      if (c === 0x3a) {
        // ':' — "://", ":\/\/" (slashes JSON-escaped, once or more): the authority may hold user:password@
        const authority = this.slashSlash(i + 1);
        i = authority === -1 ? i + 1 : this.onAuthority(authority);
        continue;
      }
      if (c === 0x25 && text.slice(i, i + 9).toLowerCase() === '%3a%2f%2f') {
        i = this.onEncodedAuthority(i + 9);
        continue;
      }
      i++;
    }
    if (this.parts.length === 0) return { text, steps: this.steps };
    this.parts.push(text.slice(this.copied));
    return { text: this.parts.join(''), steps: this.steps };
  }

  /** Masks [from, to); the part already masked (a look-behind into a rescanned value) is not emitted twice. */
  private replace(from: number, to: number, replacement: string): void {
    if (to <= this.copied) return;
    this.parts.push(this.text.slice(this.copied, Math.max(from, this.copied)), replacement);
    this.copied = to;
  }

  /** A run [i, j) of name / base64url characters. Returns where scanning continues (≥ j). */
  private onRun(i: number, j: number): number {
    if (i < this.rescanUntil) return this.onRunInValue(i, j);
    const jwtEnd = this.jwt(i, j);
    if (jwtEnd !== undefined) return jwtEnd;
    const length = j - i;
    if (length > MAX_NAME_LENGTH) return j;
    const { text } = this;
    const before = i > 0 ? text.charCodeAt(i - 1) : -1;
    const next = text.charCodeAt(j);
    const previousName = this.lastName;
    const previousNameEnd = this.lastNameEnd;
    this.lastName = '';
    // Most runs are neither names of secrets nor scheme words: decide that from a few characters before
    // anything is copied or lower-cased.
    const after = text.charCodeAt(j + 1);
    const mayBeAssignment =
      next === 0x3d || // =
      (next === 0x25 && (after === 0x33 || after === 0x32)) || // %3D, %253D
      (next === 0x5c && (after === 0x75 || after === 0x55)); // \u003d
    const mayBeField = before === 0x22 && this.fieldColon(i, j) !== -1; // "name": or \"name\":
    const first = text.charCodeAt(i) | 0x20;
    const mayBeWord = ((length === 5 || length === 6) && first === 0x62) || (length === 13 && first === 0x61); // basic, bearer, authorization
    const mayBePem = length >= 10 && (text.charCodeAt(j - 1) | 0x20) === 0x6e && next === 0x20; // …BEGIN
    if (!mayBeAssignment && !mayBeField && !mayBeWord && !mayBePem) return j;
    const lower = text.slice(i, j).toLowerCase();

    // The name without what an encoded separator left glued to it: `\u0026sig`, `%26sig`, `%253Fsig`.
    let name = lower;
    let afterSeparator = before === 0x3f || before === 0x26; // ? &
    if (before === 0x5c && (lower.startsWith('u0026') || lower.startsWith('u003f'))) {
      name = lower.slice(5);
      afterSeparator = true;
    } else if (before === 0x25) {
      for (const prefix of ['2526', '253f', '26', '3f']) {
        if (lower.startsWith(prefix)) {
          name = lower.slice(prefix.length);
          afterSeparator = true;
          break;
        }
      }
    }
    if (name === 'authorization') {
      this.lastName = name;
      this.lastNameEnd = j;
    }

    // name=value: `=`, `%3D`, `%253D`, `\u003d`
    const equals = mayBeAssignment ? this.equalsAt(j) : 0;
    if (equals > 0) {
      const secret =
        name === 'sig' ||
        (afterSeparator && (SAS_PARAMETERS.has(name) || QUERY_SECRET_NAMES.has(name))) ||
        isSecretName(name);
      if (!secret) return j;
      const from = j + equals;
      const to = this.valueEnd(from);
      if (to > from) {
        this.replace(from, to, REDACTED);
        // The value is masked, but a form starting inside it can reach past its end: the value stops at `;`,
        // `&` or a space, which a URL's user information (`x=a,https://u:p;q@h`) or a PEM label can cross.
        // The value is read once more for those forms alone; no value is looked into twice, so this stays
        // linear.
        this.rescanUntil = to;
        return from;
      }
      return j;
    }

    // "name": "value" at any JSON escaping level
    if (mayBeField) {
      const end = this.jsonField(i, j, name);
      if (end !== undefined) return end;
    }

    if (name === 'bearer')
      return this.bearer(j, text.startsWith('Bearer', i) ? 1 : MIN_LOWER_BEARER_TOKEN) ?? j;
    if (name === 'basic') {
      const gapIsSeparators = previousName === 'authorization' && this.onlySeparators(previousNameEnd, i);
      return this.basic(j, gapIsSeparators) ?? j;
    }
    // `-----BEGIN`, also glued to the `n` of a JSON `\n` before it.
    if (mayBePem && lower.endsWith('-----begin')) return this.pem(j) ?? j;
    return j;
  }

  /**
   * A run inside a value already masked: only the forms that can extend past the value's end are looked
   * for (a URL's user information is handled by the main loop; here `bearer`/`basic` and a PEM label).
   */
  private onRunInValue(i: number, j: number): number {
    if (j < this.rescanUntil || j - i > MAX_NAME_LENGTH) return j;
    const lower = this.text.slice(i, j).toLowerCase();
    if (lower.endsWith('bearer')) return this.bearer(j, MIN_LOWER_BEARER_TOKEN) ?? j;
    if (lower.endsWith('basic')) return this.basic(j, false) ?? j;
    if (lower.endsWith('-----begin')) return this.pem(j) ?? j;
    return j;
  }

  /** Length of an `=` written plainly, percent-encoded (once or twice) or as a JSON `\u003d` escape. */
  private equalsAt(at: number): number {
    const { text } = this;
    const c = text.charCodeAt(at);
    if (c === 0x3d) return 1;
    if (c === 0x25) return percentCode(text, at, ['3d']);
    if (c === 0x5c && text.slice(at, at + 6).toLowerCase() === '\\u003d') return 6;
    return 0;
  }

  /** End of a `name=value` value: the first separator, plain or percent-encoded. */
  private valueEnd(from: number): number {
    const { text, n } = this;
    let k = from;
    while (k < n) {
      this.steps++;
      const c = text.charCodeAt(k);
      if (isValueEnd(c)) break;
      if (c === 0x25 && percentCode(text, k, ENCODED_VALUE_END) > 0) break;
      k++;
    }
    return k;
  }

  /** Only quotes, colons, equals signs, backslashes and spaces in [from, to). Bounded by the caller. */
  private onlySeparators(from: number, to: number): boolean {
    if (from < 0 || to - from > 16) return false;
    for (let k = from; k < to; k++) {
      this.steps++;
      const c = this.text.charCodeAt(k);
      if (!(isSpace(c) || c === 0x22 || c === 0x27 || c === 0x3a || c === 0x3d || c === 0x5c)) return false;
    }
    return true;
  }

  /**
   * A JWT starting in this run: `eyJ` at the run's start or after `-`/`_` inside it, at least 11 characters
   * up to a `.`, a second segment of at least 8, then a third (possibly empty) and, for JWE, up to two more.
   * Every candidate start in one run shares the same segments, so the run is examined once.
   */
  private jwt(i: number, j: number): number | undefined {
    const { text, n } = this;
    let start = -1;
    for (let k = i; k + 3 <= j; k++) {
      this.steps++;
      if (
        text.charCodeAt(k) === 0x65 && // e
        text.charCodeAt(k + 1) === 0x79 && // y
        text.charCodeAt(k + 2) === 0x4a && // J
        (k === i || text.charCodeAt(k - 1) === 0x2d || text.charCodeAt(k - 1) === 0x5f)
      ) {
        start = k;
        break;
      }
    }
    if (start === -1 || j - start < 11 || text.charCodeAt(j) !== 0x2e) return undefined;
    const segment = (from: number): number => {
      let k = from;
      while (k < n && isRunChar(text.charCodeAt(k))) k++;
      this.steps += k - from + 1;
      return k;
    };
    const second = segment(j + 1);
    if (second - (j + 1) < 8 || text.charCodeAt(second) !== 0x2e) return undefined;
    let end = segment(second + 1);
    for (
      let extra = 0;
      extra < 2 && text.charCodeAt(end) === 0x2e && isRunChar(text.charCodeAt(end + 1));
      extra++
    )
      end = segment(end + 1);
    this.replace(start, end, REDACTED_TOKEN);
    return end;
  }

  /**
   * Where the value of a JSON field named by the run [i, j) starts, when the run is a quoted name followed
   * by `:` (the quote at the same escaping level on both sides); else -1. Only spaces are skipped.
   */
  private fieldColon(i: number, j: number): number {
    const { text, n } = this;
    let slashes = 0;
    while (slashes < MAX_ESCAPE_SLASHES && i - 2 - slashes >= 0 && text.charCodeAt(i - 2 - slashes) === 0x5c)
      slashes++;
    // 2^L − 1 backslashes before a quote at escaping level L.
    if (((slashes + 1) & slashes) !== 0) return -1;
    for (let s = 0; s < slashes; s++) if (text.charCodeAt(j + s) !== 0x5c) return -1;
    if (text.charCodeAt(j + slashes) !== 0x22) return -1;
    let k = j + slashes + 1;
    while (k < n && isSpace(text.charCodeAt(k))) {
      k++;
      this.steps++;
    }
    if (text.charCodeAt(k) !== 0x3a) return -1;
    k++;
    while (k < n && isSpace(text.charCodeAt(k))) {
      k++;
      this.steps++;
    }
    this.fieldSlashes = slashes;
    return k;
  }

  /**
   * `"name"` followed by `:` and a value, the name quoted at escaping level L (`"`, `\"`, `\\\"`, …: 2^L − 1
   * backslashes before each quote). A string value is masked up to its closing quote at the same level
   * (an auth scheme word such as `Basic` is kept); a number becomes `"REDACTED"`.
   */
  private jsonField(i: number, j: number, name: string): number | undefined {
    if (!isSecretName(name)) return undefined;
    const { text, n } = this;
    const k = this.fieldColon(i, j);
    if (k === -1) return undefined;
    const slashes = this.fieldSlashes;
    const quote = '\\'.repeat(slashes) + '"';
    if (text.startsWith(quote, k)) {
      // To the closing quote at the same level, or to the end of a text cut short: when in doubt, more.
      const from = k + quote.length;
      const period = 2 * (slashes + 1);
      let m = from;
      let run = 0; // backslashes just before m
      while (m < n) {
        this.steps++;
        const c = text.charCodeAt(m);
        if (c === 0x22 && (run + 1) % period === slashes + 1) break;
        run = c === 0x5c ? run + 1 : 0;
        m++;
      }
      // The closing quote's own backslashes are not content.
      const to = m < n ? m - slashes : m;
      if (to <= from) return m;
      const scheme = this.schemeWord(from, to);
      this.replace(from + scheme, to, REDACTED);
      return to;
    }
    // A number (a PIN, a numeric password); anything else bare (true, null, an object) says nothing here.
    let m = k;
    if (text.charCodeAt(m) === 0x2d) m++;
    const digitsFrom = m;
    while (m < n) {
      const c = text.charCodeAt(m);
      if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d))
        break;
      m++;
      this.steps++;
    }
    const firstDigit = text.charCodeAt(digitsFrom);
    if (m === digitsFrom || firstDigit < 0x30 || firstDigit > 0x39) return undefined;
    this.replace(k, m, `${quote}${REDACTED}${quote}`);
    return m;
  }

  /** Length of a leading auth scheme word and its space (`Bearer `, `Basic `), else 0. */
  private schemeWord(from: number, to: number): number {
    const { text } = this;
    let k = from;
    while (k < to && k - from < 24) {
      const c = text.charCodeAt(k);
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a))) break;
      k++;
    }
    this.steps += k - from;
    return k > from + 1 && text.charCodeAt(k) === 0x20 && k + 1 < to ? k + 1 - from : 0;
  }

  /** Spaces after an auth scheme word: ' ', tab, `+` or `%20` repeated; returns where the token starts. */
  private afterSchemeSpace(from: number): number | undefined {
    const { text, n } = this;
    let k = from;
    while (k < n) {
      this.steps++;
      const c = text.charCodeAt(k);
      if (c === 0x20 || c === 0x09 || c === 0x2b) k++;
      else if (c === 0x25 && isHexPair(text, k + 1, '20')) k += 3;
      else break;
    }
    return k > from ? k : undefined;
  }

  private bearer(j: number, minLength: number): number | undefined {
    const { text, n } = this;
    const from = this.afterSchemeSpace(j);
    if (from === undefined) return undefined;
    // b64token and its '=' padding; an '=' inside is taken as part of it too (what follows is no less secret).
    let k = from;
    while (k < n && (isTokenChar(text.charCodeAt(k)) || text.charCodeAt(k) === 0x3d)) k++;
    this.steps += k - from;
    if (k - from < minLength) return undefined;
    this.replace(from, k, REDACTED);
    return k;
  }

  private basic(j: number, afterAuthorization: boolean): number | undefined {
    const { text, n } = this;
    const from = this.afterSchemeSpace(j);
    if (from === undefined) return undefined;
    let k = from;
    while (k < n && (isBase64Char(text.charCodeAt(k)) || text.charCodeAt(k) === 0x3d)) k++;
    this.steps += k - from;
    if (k - from < 4) return undefined;
    let credentials = afterAuthorization;
    if (!credentials && k - from <= MAX_BASIC_DECODE) {
      this.steps += k - from;
      credentials = Buffer.from(text.slice(from, k), 'base64').includes(0x3a);
    }
    if (!credentials) return undefined;
    this.replace(from, k, REDACTED);
    return k;
  }

  /** `-----BEGIN … PRIVATE KEY-----` … `-----END`: the body is masked (to the end when there is no END). */
  private pem(j: number): number | undefined {
    const { text, n } = this;
    // The label: capital letters and spaces (`RSA PRIVATE KEY`), then five dashes.
    let close = j;
    while (close < n && close - j <= 64) {
      const c = text.charCodeAt(close);
      if (!((c >= 0x41 && c <= 0x5a) || c === 0x20)) break;
      close++;
    }
    this.steps += close - j;
    if (!text.startsWith('-----', close) || !text.slice(j, close).includes('PRIVATE KEY')) return undefined;
    const from = close + 5;
    const end = text.indexOf('-----END', from);
    const to = end === -1 ? n : end;
    this.steps += to - from;
    if (to > from) this.replace(from, to, REDACTED);
    return to;
  }

  /** After a `:`, two slashes, each behind backslashes (JSON escaping): where the authority starts, else -1. */
  private slashSlash(from: number): number {
    const { text } = this;
    let k = from;
    for (let slash = 0; slash < 2; slash++) {
      let backslashes = 0;
      while (backslashes < MAX_ESCAPE_SLASHES && text.charCodeAt(k) === 0x5c) {
        k++;
        backslashes++;
      }
      if (text.charCodeAt(k) !== 0x2f) return -1;
      k++;
    }
    this.steps += k - from;
    return k;
  }

  /** After `://`: `user:password@` is masked to `user:REDACTED@`. */
  private onAuthority(from: number): number {
    const { text, n } = this;
    let k = from;
    let colon = -1;
    while (k < n) {
      this.steps++;
      const c = text.charCodeAt(k);
      // / ? # @ " ' < > \ whitespace end the authority's user information
      if (
        c === 0x2f ||
        c === 0x3f ||
        c === 0x23 ||
        c === 0x40 ||
        c === 0x22 ||
        c === 0x27 ||
        c === 0x3c ||
        c === 0x3e ||
        c === 0x5c ||
        isSpace(c)
      )
        break;
      if (c === 0x3a && colon === -1) colon = k;
      k++;
    }
    if (text.charCodeAt(k) === 0x40 && colon !== -1 && k > colon + 1) {
      this.replace(colon + 1, k, REDACTED);
      return k;
    }
    return from;
  }

  /** After `%3A%2F%2F`: `user%3Apassword%40` is masked to `user%3AREDACTED%40`. */
  private onEncodedAuthority(from: number): number {
    const { text, n } = this;
    let k = from;
    let afterColon = -1;
    while (k < n) {
      this.steps++;
      const c = text.charCodeAt(k);
      if (c === 0x25) {
        if (isHexPair(text, k + 1, '40')) {
          if (afterColon !== -1 && k > afterColon) {
            this.replace(afterColon, k, REDACTED);
            return k;
          }
          return from;
        }
        if (isHexPair(text, k + 1, '3a')) {
          if (afterColon === -1) afterColon = k + 3;
          k += 3;
          continue;
        }
        if (['2f', '3f', '23', '22', '20', '26'].some((p) => isHexPair(text, k + 1, p))) return from;
        k++;
        continue;
      }
      if (c === 0x3a && afterColon === -1) afterColon = k + 1;
      if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x40 || c === 0x26 || isValueEnd(c)) return from;
      k++;
    }
    return from;
  }
}

/** Objects nested deeper are replaced by a marker (a row's `Context.properties` sits at depth 2). */
const MAX_DEPTH = 10;

/** A credential field's value masked; an auth scheme word (`Bearer`, `Basic`) in front is kept. */
function redactedValue(value: string | number): string {
  if (typeof value === 'number') return REDACTED;
  if (value === '') return '';
  let k = 0;
  while (k < value.length && k < 24) {
    const c = value.charCodeAt(k);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a))) break;
    k++;
  }
  return k > 1 && value.charCodeAt(k) === 0x20 && k + 1 < value.length
    ? `${value.slice(0, k)} ${REDACTED}`
    : REDACTED;
}

/**
 * Deep copy of a JSON-like value with secrets redacted: every string (keys too) through `redactText`, and
 * the string or number value of a field whose name says credential (`isSecretName`) masked whole. Objects
 * under such a name are still descended (`authorization` is also an Activity Log record's RBAC block).
 * `__proto__` keys stay plain data.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  // Object.fromEntries defines own properties, so a "__proto__" key never changes the prototype.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      redactText(k),
      isSecretName(k) && (typeof v === 'string' || typeof v === 'number')
        ? redactedValue(v)
        : redactSecrets(v, depth + 1),
    ]),
  );
}

/** How raw bytes were searched for secrets, in the order the views were applied. */
export type RedactionView = 'utf16le' | 'utf16be' | 'utf8' | 'latin1';

export interface RedactedBytes {
  /** The bytes with every secret found masked (the input itself when nothing was). */
  readonly bytes: Buffer;
  /** The bytes as text when they are UTF-8 (after redaction), else undefined. */
  readonly text?: string;
  readonly views: readonly RedactionView[];
  readonly changed: boolean;
}

/** One UTF-16 view of the bytes from `offset` (0 or 1, for text behind an odd prefix), redacted. */
function redactUtf16(bytes: Buffer, view: 'utf16le' | 'utf16be', offset: number): Buffer {
  // Whole code units only; the bytes before `offset` and a trailing odd byte are kept as they are. Both
  // conversions are lossless (lone surrogates included).
  const end = offset + Math.floor((bytes.length - offset) / 2) * 2;
  if (end <= offset) return bytes;
  const units = bytes.subarray(offset, end);
  const le = view === 'utf16le' ? units : Buffer.from(units).swap16();
  const text = le.toString('utf16le');
  const clean = redactText(text);
  if (clean === text) return bytes;
  const encoded = Buffer.from(clean, 'utf16le');
  if (view === 'utf16be') encoded.swap16();
  return Buffer.concat([bytes.subarray(0, offset), encoded, bytes.subarray(end)]);
}

/**
 * Raw bytes with secrets masked, whatever their encoding: UTF-16 views first when the bytes hold NULs
 * (UTF-16 text of ASCII is also valid UTF-8, with a NUL between letters), both byte orders and both
 * alignments, then the UTF-8 text when the
 * bytes are UTF-8, else their Latin-1 view (one character per byte, lossless, so every ASCII secret is
 * seen and every other byte kept).
 */
export function redactBytes(input: Buffer): RedactedBytes {
  const views: RedactionView[] = [];
  let bytes = input;
  if (bytes.includes(0)) {
    for (const offset of [0, 1]) {
      bytes = redactUtf16(bytes, 'utf16le', offset);
      bytes = redactUtf16(bytes, 'utf16be', offset);
    }
    views.push('utf16le', 'utf16be');
  }
  if (isUtf8(bytes)) {
    const text = bytes.toString('utf8');
    const clean = redactText(text);
    views.push('utf8');
    const out = clean === text ? bytes : Buffer.from(clean, 'utf8');
    return { bytes: out, text: clean, views, changed: out !== input };
  }
  const latin1 = bytes.toString('latin1');
  const clean = redactText(latin1);
  views.push('latin1');
  const out = clean === latin1 ? bytes : Buffer.from(clean, 'latin1');
  return { bytes: out, views, changed: out !== input };
}

/** A URL without its query string and fragment (where SAS tokens live). */
export function stripQuery(url: string): string {
  const q = url.indexOf('?');
  const h = url.indexOf('#');
  const cut = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  return cut === -1 ? url : url.slice(0, cut);
}
