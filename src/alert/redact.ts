/**
 * Values from records are written as data, but a record's request body can carry credentials (a SAS URL
 * for a capture's storage, a connection string). They must not be copied into the alert table.
 */
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  [/([?&](?:sig|se|sv|sp|sr|st|skoid|sktid|skt|ske|sks|skv|spr|srt|ss)=)[^&#"'\s]*/gi, '$1REDACTED'],
  [/((?:SharedAccessKey|AccountKey|SharedAccessSignature|AccessKey)=)[^;"'\s]*/gi, '$1REDACTED'],
  [/(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g, '$1REDACTED'],
];

const MAX_DEPTH = 8;

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
