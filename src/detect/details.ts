/*
 * Operation details, merged across the records of one operation: the first value of a detail wins, in the
 * order the records are given, and among the other records a request body (what the caller asked for)
 * wins over a response body (what the service echoed). Values are bounded, so that a record cannot make
 * the stored state of its operation grow without limit.
 */
import type { DetailSource, OperationDetails } from './types';

export const MAX_DETAIL_CHARS = 1_000;
export const MAX_DETAILS = 24;

const RANK: Readonly<Record<DetailSource, number>> = { requestBody: 0, responseBody: 1 };

/** `primary` wins outright (the firing record's own bodies); within `others`, request bodies win. */
export function mergeDetails(
  primary: OperationDetails | undefined,
  ...others: (OperationDetails | undefined)[]
): OperationDetails {
  const out: Record<string, { value: string; from: DetailSource }> = { ...primary };
  for (const details of others) {
    if (!details) continue;
    for (const [key, detail] of Object.entries(details)) {
      const current = out[key];
      if (current === undefined) {
        if (Object.keys(out).length < MAX_DETAILS) out[key] = detail;
      } else if (primary?.[key] === undefined && RANK[detail.from] < RANK[current.from]) {
        out[key] = detail;
      }
    }
  }
  return out;
}

/** Details as plain key → value text (for an alert's Context). */
export function detailValues(details: OperationDetails): Record<string, string> {
  return Object.fromEntries(Object.entries(details).map(([k, d]) => [k, d.value]));
}

/** Which bodies the details came from, as the alert states it. */
export function detailSources(details: OperationDetails): DetailSource[] {
  return [...new Set(Object.values(details).map((d) => d.from))].sort((a, b) => RANK[a] - RANK[b]);
}

/** Two detail sets with the same values (a completing row is written only when something was learned). */
export function sameDetails(a: OperationDetails, b: OperationDetails): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k]?.value === b[k]?.value && a[k]?.from === b[k]?.from);
}
