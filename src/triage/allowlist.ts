/*
 * The allowlist: known, legitimate captures (the network team's nightly probe, a monitoring appliance's TAP)
 * that must not page the SOC. One CSV format for every host and for the Sentinel watchlist deployed from the
 * same file (README › Tuning):
 *
 *   Caller,CallerIpRange,SubscriptionId,ResourceGroup,CaptureKind,Reason,Expires
 *
 * A row matches an alert row when every non-empty field of it matches: Caller without regard to case against
 * the alert's Caller, CallerObjectId and CallerAppId; CallerIpRange (a CIDR range or one address, IPv4 or
 * IPv6) against CallerIpAddress; SubscriptionId and ResourceGroup against the captured resource's (the
 * CaptureTarget when it is a resource id: a Network Watcher capture's VM, not the watcher; else the resource
 * the operation acted on); CaptureKind against the rule's kind. Reason is required, and a row must name at least one field to match on: a row with
 * none would silence every alert. Expires is an ISO date (the row applies through that day, UTC) or an ISO
 * date and time with its zone, after which the row never applies. The file is parsed strictly and every bad
 * line is reported at once, at start-up.
 *
 * A matched alert is never dropped: it is written with Suppressed = true and SuppressionReason naming the
 * file, the line and the reason, so an audit sees what was tuned out and why. Matching is pure.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { AlertRow } from '../alert/columns';
import { RULE_KINDS } from '../detect/kinds';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { parseCsv } from './csv';
import { inRange, parseIpAddress, parseIpRange, type IpRange } from './ipRange';

export const ALLOWLIST_COLUMNS = [
  'Caller',
  'CallerIpRange',
  'SubscriptionId',
  'ResourceGroup',
  'CaptureKind',
  'Reason',
  'Expires',
] as const;

/** The repository's allowlist, shipped in the function's package and deployed as the watchlist. */
export const SHIPPED_ALLOWLIST_FILE = 'allowlist.csv';

/** Suppression reasons of allowlisted rows start with this (KQL tells them from withdrawn findings by it). */
export const ALLOWLISTED_PREFIX = 'Allowlisted';

export interface AllowlistEntry {
  /** 1-based line of the row in its file. */
  readonly line: number;
  readonly caller?: string;
  readonly callerIpRange?: IpRange & { readonly text: string };
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly captureKind?: string;
  readonly reason: string;
  /** When the row stops applying (epoch ms, exclusive), with the text as written. */
  readonly expires?: { readonly at: number; readonly text: string };
}

export interface Allowlist {
  /** The file's name, as suppression reasons cite it. */
  readonly source: string;
  readonly entries: readonly AllowlistEntry[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Azure resource group names: 1-90 letters, digits, underscores, hyphens, periods and parentheses, no final period. */
const RESOURCE_GROUP = /^[\p{L}\p{N}_().-]{0,89}[\p{L}\p{N}_()-]$/u;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_FIELD_CHARS = 1_000;

/** The capture kinds the registered rules produce, by lower-case name. */
function knownKinds(): Map<string, string> {
  return new Map(
    Object.values(RULE_KINDS).flatMap((kinds) => kinds.map((kind) => [kind.toLowerCase(), kind] as const)),
  );
}

function validDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** When a row written with this Expires stops applying, or a message saying what is wrong. */
function parseExpires(text: string): number | string {
  const date = ISO_DATE.exec(text);
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
    if (!validDate(y, m, d)) return `Expires "${text}" is not a calendar date`;
    // Through that day, UTC: it stops applying when the next day begins.
    return Date.UTC(y, m - 1, d + 1);
  }
  const dateTime = ISO_DATE_TIME.exec(text);
  if (dateTime) {
    const [y, m, d, h, min, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(dateTime[i] ?? 0)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (!validDate(y, m, d) || h > 23 || min > 59 || sec > 59) {
      return `Expires "${text}" is not a valid date and time`;
    }
    return Date.parse(text);
  }
  return `Expires "${text}" must be an ISO date (2026-06-30) or an ISO date and time with its zone (2026-06-30T18:00:00Z)`;
}

/**
 * Parses an allowlist. Throws one `CONFIG_INVALID` error naming every bad line and what is wrong with it, so
 * that a file is fixed in one round trip.
 */
export function parseAllowlist(text: string, source: string): Allowlist {
  const fail = (problems: readonly string[]): never => {
    throw new DetectorError(
      'CONFIG_INVALID',
      `Invalid allowlist ${source} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
    );
  };
  const csv = parseCsv(text);
  if (!csv.ok) return fail([`line ${csv.problem.line}: ${csv.problem.message}`]);
  const [header, ...rows] = csv.records;
  const expected = ALLOWLIST_COLUMNS.join(',');
  if (!header) return fail([`line 1: the file is empty; its first line must be the header ${expected}`]);
  if (header.fields.map((f) => f.trim()).join(',') !== expected) {
    return fail([
      `line ${header.line}: the header must be exactly ${expected}, found ${header.fields.join(',')}`,
    ]);
  }
  const kinds = knownKinds();
  const problems: string[] = [];
  const entries: AllowlistEntry[] = [];
  for (const row of rows) {
    const at = `line ${row.line}`;
    if (row.fields.length !== ALLOWLIST_COLUMNS.length) {
      problems.push(
        `${at}: ${row.fields.length} fields, expected ${ALLOWLIST_COLUMNS.length} (${expected}); quote a value that holds a comma`,
      );
      continue;
    }
    const [caller, ipRange, subscriptionId, resourceGroup, captureKind, reason, expires] = row.fields.map(
      (f) => f.trim(),
    ) as [string, string, string, string, string, string, string];
    const before = problems.length;
    const long = row.fields.findIndex((f) => f.length > MAX_FIELD_CHARS);
    if (long !== -1)
      problems.push(`${at}: ${ALLOWLIST_COLUMNS[long]} is longer than ${MAX_FIELD_CHARS} characters`);
    if (reason === '') problems.push(`${at}: Reason is required (say why these captures are legitimate)`);
    if (
      caller === '' &&
      ipRange === '' &&
      subscriptionId === '' &&
      resourceGroup === '' &&
      captureKind === ''
    ) {
      problems.push(
        `${at}: the row names none of Caller, CallerIpRange, SubscriptionId, ResourceGroup, CaptureKind: it would match every alert`,
      );
    }
    const range = ipRange === '' ? undefined : parseIpRange(ipRange);
    if (typeof range === 'string') problems.push(`${at}: CallerIpRange ${range}`);
    if (subscriptionId !== '' && !GUID.test(subscriptionId)) {
      problems.push(`${at}: SubscriptionId "${subscriptionId}" is not a subscription id (a GUID)`);
    }
    if (resourceGroup !== '' && !RESOURCE_GROUP.test(resourceGroup)) {
      problems.push(
        `${at}: ResourceGroup "${resourceGroup}" is not a resource group name (the name alone, not an id)`,
      );
    }
    const kind = captureKind === '' ? undefined : kinds.get(captureKind.toLowerCase());
    if (captureKind !== '' && kind === undefined) {
      problems.push(
        `${at}: CaptureKind "${captureKind}" is not one of ${[...new Set(kinds.values())].join(', ')}`,
      );
    }
    const until = expires === '' ? undefined : parseExpires(expires);
    if (typeof until === 'string') problems.push(`${at}: ${until}`);
    if (problems.length > before || typeof range === 'string' || typeof until === 'string') continue;
    entries.push({
      line: row.line,
      reason,
      ...(caller === '' ? {} : { caller: caller.toLowerCase() }),
      ...(range === undefined ? {} : { callerIpRange: { ...range, text: ipRange } }),
      ...(subscriptionId === '' ? {} : { subscriptionId: subscriptionId.toLowerCase() }),
      ...(resourceGroup === '' ? {} : { resourceGroup: resourceGroup.toLowerCase() }),
      ...(kind === undefined ? {} : { captureKind: kind }),
      ...(until === undefined ? {} : { expires: { at: until, text: expires } }),
    });
  }
  if (problems.length > 0) fail(problems);
  return { source, entries };
}

/** Reads and parses an allowlist file; any failure is `CONFIG_INVALID`, naming the file. */
export function loadAllowlistFile(path: string): Allowlist {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DetectorError('CONFIG_INVALID', `Cannot read the allowlist ${path}: ${errorText(error)}`, {
      cause: error,
    });
  }
  return parseAllowlist(text, basename(path));
}

const lower = (s: string) => s.trim().toLowerCase();

/**
 * The subscription and resource group of what is captured: the CaptureTarget's when it is a resource id (a
 * Network Watcher capture's VM lives elsewhere than its watcher, usually NetworkWatcherRG), else the row's own.
 */
function capturedScope(row: AlertRow): { subscription: string; resourceGroup: string } {
  const target = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)/i.exec(row.CaptureTarget.trim());
  return target?.[1] !== undefined && target[2] !== undefined
    ? { subscription: lower(target[1]), resourceGroup: lower(target[2]) }
    : { subscription: lower(row.SubscriptionId), resourceGroup: lower(row.ResourceGroup) };
}

/** The first entry (in file order) that applies to the row at `nowMs`, if any. */
export function matchAllowlist(
  allowlist: Allowlist,
  row: AlertRow,
  nowMs: number,
): AllowlistEntry | undefined {
  const callers = [row.Caller, row.CallerObjectId, row.CallerAppId].map(lower).filter((c) => c !== '');
  const ip = parseIpAddress(row.CallerIpAddress);
  const scope = capturedScope(row);
  return allowlist.entries.find(
    (e) =>
      (e.expires === undefined || nowMs < e.expires.at) &&
      (e.caller === undefined || callers.includes(e.caller)) &&
      (e.callerIpRange === undefined || (ip !== undefined && inRange(ip, e.callerIpRange))) &&
      (e.subscriptionId === undefined || scope.subscription === e.subscriptionId) &&
      (e.resourceGroup === undefined || scope.resourceGroup === e.resourceGroup) &&
      (e.captureKind === undefined || row.CaptureKind === e.captureKind),
  );
}

/** The SuppressionReason of a row an entry matched: file, line and the entry's reason. */
export function allowlistReason(allowlist: Allowlist, entry: AllowlistEntry): string {
  const until = entry.expires === undefined ? '' : ` (until ${entry.expires.text})`;
  return `${ALLOWLISTED_PREFIX} by ${allowlist.source} line ${entry.line}: ${entry.reason}${until}`;
}

/**
 * Every row with the allowlist applied: a row an entry matches is kept, Suppressed with the entry's reason.
 * A row already suppressed (a finding withdrawn by a later record) keeps its own reason.
 */
export function applyAllowlist(rows: readonly AlertRow[], allowlist: Allowlist, now: Date): AlertRow[] {
  const nowMs = now.getTime();
  return rows.map((row) => {
    if (row.Suppressed) return row;
    const entry = matchAllowlist(allowlist, row, nowMs);
    return entry === undefined
      ? row
      : { ...row, Suppressed: true, SuppressionReason: allowlistReason(allowlist, entry) };
  });
}
