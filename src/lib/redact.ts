/*
 * Secret redaction for everything the detector writes: alert rows, dead letters, logs and error messages.
 * A record's request body can carry credentials (a SAS URL for a capture's storage, a connection string),
 * and SDK errors can quote a URL or a token; none of it may be copied into a table, a blob or a terminal.
 */

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/([?&](?:sig|se|sv|sp|sr|st|skoid|sktid|skt|ske|sks|skv|spr|srt|ss)=)[^&#"'\s]*/gi, '$1REDACTED'],
  [/((?:SharedAccessKey|AccountKey|SharedAccessSignature|AccessKey)=)[^;"'\s]*/gi, '$1REDACTED'],
  [/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g, '$1REDACTED'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, 'REDACTED_TOKEN'],
];

const MAX_DEPTH = 8;

/** Free text with SAS parameters, account and shared access keys, bearer tokens and JWTs masked. */
export function redactText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Deep copy of a JSON-like value with secrets redacted; `__proto__` keys stay plain data. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  // Object.fromEntries defines own properties, so a "__proto__" key never changes the prototype.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, depth + 1)]));
}

/** A URL without its query string and fragment (where SAS tokens live). */
export function stripQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}
