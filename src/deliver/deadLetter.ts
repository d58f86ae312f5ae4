/*
 * The dead-letter container: alerts that could not be delivered within the budget, and malformed messages
 * kept for a person. JSON blobs per batch and kind, named so a listing sorts by time:
 *   alerts/2025-01-31/13-45-01.123Z_p3_s1200-1299_<uuid>.json
 *   malformed/2025-01-31/13-45-01.123Z_p3_s1200-1299_<uuid>-2.json   (part 2 of a split batch)
 * A document is bounded (`MAX_DOCUMENT_BYTES`): a batch whose dead letters are larger is split into parts,
 * each a complete document on its own, so no content can make the write fail for its size. Every raw
 * message is redacted before it is encoded, whatever its encoding (src/lib/redact.ts `redactBytes`).
 * Blobs hold data only (JSON, written with `If-None-Match: *`, never overwritten except by a replay holding
 * the blob's lease). The client is identity-based (service URI + credential) in Azure; a connection string
 * is accepted for Azurite. Neither a token nor a SAS is ever part of a name, metadata or content.
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
// The types of the ESM build: that is what `await import()` loads at run time from the compiled CommonJS.
import type { BlobLeaseClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob' with {
  'resolution-mode': 'import',
};
import { redactAlertRow } from '../alert/buildAlert';
import { ALERT_COLUMNS, type AlertRow, type ColumnDefinition, type ColumnType } from '../alert/columns';
import type { StorageEndpoint } from '../config/settings';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { once } from '../lib/once';
import { redactBytes, redactText, type RedactionView } from '../lib/redact';
import * as z from '../lib/zod';
import type { BatchInfo, MalformedMessage, MalformedStore } from '../pipeline/ports';
import { MAX_REASON_LENGTH } from './retryPolicy';

export const ALERTS_PREFIX = 'alerts/';
export const MALFORMED_PREFIX = 'malformed/';
export const ALERT_DEAD_LETTER_SCHEMA = 'packet-capture-detector/dead-letter/alerts@1';
/** Largest dead-letter document written in one piece; a larger batch is split into parts. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
export const MALFORMED_DEAD_LETTER_SCHEMA = 'packet-capture-detector/dead-letter/malformed@1';

/** The storage SDK's retries for one dead-letter write: a few quick tries, so a storage outage fails fast. */
export const DEFAULT_STORAGE_RETRY: NonNullable<StoragePipelineOptions['retryOptions']> = {
  maxTries: 4,
  tryTimeoutInMs: 15_000,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 4_000,
};

export interface DeadLetterFailure {
  readonly reason: string;
  readonly alertIds: readonly string[];
}

/** Where undeliverable alerts go; throws `DEAD_LETTER_FAILED` when they cannot be kept either. */
export interface AlertDeadLetterWriter {
  writeAlerts(
    alerts: readonly AlertRow[],
    failures: readonly DeadLetterFailure[],
    batch: BatchInfo,
  ): Promise<string[]>;
}

const batchSchema = z.object({
  source: z.enum(['eventhub', 'consumer', 'file', 'replay']),
  invocationId: z.optional(z.string()),
  eventHubName: z.optional(z.string()),
  consumerGroup: z.optional(z.string()),
  partitionId: z.optional(z.string()),
  firstSequenceNumber: z.optional(z.number()),
  lastSequenceNumber: z.optional(z.number()),
});

function columnSchema(type: ColumnType): z.ZodMiniType {
  switch (type) {
    case 'dynamic':
      return z.record(z.string(), z.unknown());
    case 'boolean':
      return z.boolean();
    case 'int':
    case 'long':
    case 'real':
      return z.number();
    default:
      return z.string();
  }
}

/**
 * The alert row contract, derived from ALERT_COLUMNS, so a dead letter is checked before it is replayed. A dead
 * letter written before a column existed is still replayable: the column reads as its defaultWhenMissing.
 */
const alertRowSchema = z.object(
  Object.fromEntries(
    ALERT_COLUMNS.map((c: ColumnDefinition) => [
      c.name,
      c.defaultWhenMissing === undefined
        ? columnSchema(c.type)
        : z._default(columnSchema(c.type), c.defaultWhenMissing),
    ]),
  ),
);

export const alertDeadLetterSchema = z.object({
  schema: z.literal(ALERT_DEAD_LETTER_SCHEMA),
  kind: z.literal('alerts'),
  writtenAt: z.string(),
  reason: z.string(),
  batch: batchSchema,
  failures: z.array(z.object({ reason: z.string(), alertIds: z.array(z.string()) })),
  replayAttempts: z.int().check(z.nonnegative()),
  lastReplayError: z.optional(z.string()),
  /** 1-based part of a batch split for size, and whether it is the last one. */
  part: z.optional(z.int().check(z.positive())),
  lastPart: z.optional(z.boolean()),
  alerts: z.array(alertRowSchema).check(z.minLength(1)),
});
export type AlertDeadLetter = Omit<z.infer<typeof alertDeadLetterSchema>, 'alerts'> & { alerts: AlertRow[] };

/** A malformed message as stored: its coordinates as received, its problems, the raw message redacted once. */
export interface MalformedDeadLetterEntry extends Omit<
  MalformedMessage,
  'code' | 'raw' | 'problems' | 'rawOmitted'
> {
  readonly code: string;
  readonly problems: readonly { code: string; reason: string; line?: number; record?: number }[];
  /**
   * `utf8`: the text as received, secrets masked; `base64`: the bytes, secrets masked in the views
   * `redaction` names (bytes that are not UTF-8, or text that would be mostly JSON escapes); `omitted`:
   * not kept (a message set aside after even keeping it failed; find it in the hub by its coordinates).
   */
  readonly rawEncoding: 'utf8' | 'base64' | 'omitted';
  readonly raw: string;
  /** Size of the message as received. */
  readonly rawBytes: number;
  /** How the raw message was searched for secrets before it was encoded. */
  readonly redaction: readonly RedactionView[];
  /** Something was masked. */
  readonly redacted?: true;
}

export interface MalformedDeadLetter {
  readonly schema: typeof MALFORMED_DEAD_LETTER_SCHEMA;
  readonly kind: 'malformed';
  readonly writtenAt: string;
  readonly batch: BatchInfo;
  /** 1-based part of a batch split for size, and whether it is the last one. */
  readonly part: number;
  readonly lastPart: boolean;
  readonly messages: readonly MalformedDeadLetterEntry[];
}

function safeSegment(value: string | number | undefined, fallback: string): string {
  if (value === undefined || value === '') return fallback;
  return String(value)
    .replace(/[^A-Za-z0-9-]/g, '-')
    .slice(0, 40);
}

/** Time-sortable, unique, and free of anything but the batch's coordinates. */
export function deadLetterBlobName(
  prefix: typeof ALERTS_PREFIX | typeof MALFORMED_PREFIX,
  at: Date,
  batch: BatchInfo,
  unique: string = randomUUID(),
): string {
  const iso = at.toISOString(); // 2025-01-31T13:45:01.123Z
  const day = iso.slice(0, 10);
  const time = iso.slice(11).replace(/:/g, '-');
  const seq =
    batch.firstSequenceNumber === undefined
      ? 'sx'
      : `s${batch.firstSequenceNumber}-${batch.lastSequenceNumber ?? batch.firstSequenceNumber}`;
  return `${prefix}${day}/${time}_p${safeSegment(batch.partitionId, 'x')}_${seq}_${safeSegment(unique, 'u')}.json`;
}

function plainBatch(batch: BatchInfo): BatchInfo {
  // Only the declared fields: a BatchInfo built elsewhere can carry nothing else into the blob.
  const parsed = batchSchema.safeParse(batch);
  return parsed.success ? parsed.data : { source: batch.source };
}

/** JSON's escaped size of a text is at most this much of its length before base64 (4/3) is smaller. */
const ESCAPED_TEXT_RATIO = 1.4;

/** The length JSON.stringify gives a string, without building it. */
function jsonLength(text: string): number {
  let length = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x08 || c === 0x0c)
      length += 2;
    else if (c < 0x20) length += 6;
    else length += 1;
  }
  return length;
}

export function toMalformedEntry(m: MalformedMessage): MalformedDeadLetterEntry {
  const meta = {
    code: m.code,
    reason: redactText(m.reason),
    index: m.index,
    ...(m.partitionId === undefined ? {} : { partitionId: m.partitionId }),
    ...(m.offset === undefined ? {} : { offset: m.offset }),
    ...(m.sequenceNumber === undefined ? {} : { sequenceNumber: m.sequenceNumber }),
    ...(m.enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc: m.enqueuedTimeUtc }),
    ...(m.origin === undefined ? {} : { origin: m.origin }),
    problems: m.problems.map((p) => ({
      code: p.code,
      reason: redactText(p.reason),
      ...(p.line === undefined ? {} : { line: p.line }),
      ...(p.record === undefined ? {} : { record: p.record }),
    })),
    problemCount: m.problemCount,
  };
  if (m.rawOmitted) {
    return { ...meta, rawEncoding: 'omitted', raw: '', rawBytes: m.rawOmitted.bytes, redaction: [] };
  }
  const bytes = typeof m.raw === 'string' ? Buffer.from(m.raw, 'utf8') : m.raw;
  const clean = redactBytes(bytes);
  const text =
    clean.text !== undefined && jsonLength(clean.text) <= ESCAPED_TEXT_RATIO * clean.text.length + 16
      ? clean.text
      : undefined;
  return {
    ...meta,
    rawEncoding: text === undefined ? 'base64' : 'utf8',
    raw: text ?? clean.bytes.toString('base64'),
    rawBytes: bytes.length,
    redaction: clean.views,
    ...(clean.changed ? { redacted: true as const } : {}),
  };
}

/**
 * Groups items, serialized one at a time, into documents of at most `maxBytes` (a single item larger than
 * that is a document of its own): what is held at once is one document and one item, whatever the batch.
 */
async function writeInParts<T>(
  items: readonly T[],
  serialize: (item: T) => string,
  write: (
    serialized: readonly string[],
    items: readonly T[],
    part: number,
    lastPart: boolean,
  ) => Promise<void>,
  maxBytes: number,
): Promise<number> {
  let part = 0;
  let pending: string[] = [];
  let pendingItems: T[] = [];
  let size = 0;
  for (const item of items) {
    const json = serialize(item);
    const bytes = Buffer.byteLength(json) + 1;
    if (pending.length > 0 && size + bytes > maxBytes) {
      part++;
      await write(pending, pendingItems, part, false);
      pending = [];
      pendingItems = [];
      size = 0;
    }
    pending.push(json);
    pendingItems.push(item);
    size += bytes;
  }
  if (pending.length > 0) {
    part++;
    await write(pending, pendingItems, part, true);
  }
  return part;
}

/** `{"a":1,…,"<key>":[` + items + `]}`: a document whose last member is a list of pre-serialized items. */
function documentWithList(head: Record<string, unknown>, key: string, items: readonly string[]): Buffer {
  const prefix = JSON.stringify(head).slice(0, -1);
  return Buffer.from(`${prefix}${prefix.length > 1 ? ',' : ''}${JSON.stringify(key)}:[${items.join(',')}]}`);
}

function metadataFor(kind: string, count: number, batch: BatchInfo): Record<string, string> {
  const md: Record<string, string> = { kind, count: String(count), source: batch.source };
  if (batch.partitionId !== undefined) md.partition = safeSegment(batch.partitionId, 'x');
  if (batch.firstSequenceNumber !== undefined) md.firstsequence = String(batch.firstSequenceNumber);
  if (batch.lastSequenceNumber !== undefined) md.lastsequence = String(batch.lastSequenceNumber);
  return md;
}

/** Refuses a connection string that would send the account key over plain http to anything but loopback. */
export function checkConnectionString(connectionString: string): void {
  if (/^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(connectionString)) return;
  const parts = new Map(
    connectionString
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')).toLowerCase(), p.slice(p.indexOf('=') + 1)] as const),
  );
  const blobEndpoint = parts.get('blobendpoint');
  const protocol = blobEndpoint
    ? URL.canParse(blobEndpoint)
      ? new URL(blobEndpoint).protocol
      : 'invalid'
    : `${parts.get('defaultendpointsprotocol') ?? 'https'}:`;
  const host = blobEndpoint && URL.canParse(blobEndpoint) ? new URL(blobEndpoint).hostname : '';
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  if (protocol !== 'https:' && !(protocol === 'http:' && loopback)) {
    throw new DetectorError(
      'CONFIG_INVALID',
      `The dead-letter storage connection string must use https (plain http is allowed only for a loopback emulator such as Azurite); got ${protocol === 'invalid' ? 'an unparsable BlobEndpoint' : protocol}`,
    );
  }
}

export interface BlobDeadLetterConfig {
  readonly storage: StorageEndpoint;
  readonly container: string;
  /** Required for `serviceUri` storage. */
  readonly credential?: () => Promise<TokenCredential>;
  readonly clientOptions?: StoragePipelineOptions;
  readonly now?: () => Date;
  /** Largest document (tests set it low to see a split); default `MAX_DOCUMENT_BYTES`. */
  readonly maxDocumentBytes?: number;
}

export interface DeadLetterListing {
  readonly name: string;
  readonly size: number;
  readonly createdOn?: Date;
}

/** A dead letter held under a blob lease; only the holder can rewrite or delete it. */
export interface DeadLetterClaim {
  readonly name: string;
  readonly document: AlertDeadLetter;
  /** All alerts accepted: delete the blob (under the lease). */
  complete(): Promise<void>;
  /** Some alerts still undelivered: keep only those (under the lease), then release. */
  keepRemaining(alerts: AlertRow[], error: string): Promise<void>;
  release(): Promise<void>;
}

export class BlobDeadLetterStore implements MalformedStore, AlertDeadLetterWriter {
  readonly name = 'blob dead letters';
  /** The container client, made (and the container created if missing) on first use only. */
  private readonly container: () => Promise<ContainerClient> = once(() => this.openContainer());

  constructor(private readonly config: BlobDeadLetterConfig) {
    if (config.storage.kind === 'connectionString') checkConnectionString(config.storage.connectionString);
    if (config.storage.kind === 'serviceUri' && !config.credential) {
      throw new DetectorError('CONFIG_INVALID', 'An identity-based dead-letter store needs a credential');
    }
  }

  /** `https://account.blob.core.windows.net/container` or the emulator's; for messages (never has a SAS). */
  get location(): string {
    if (this.config.storage.kind === 'serviceUri') {
      return `${this.config.storage.serviceUri.replace(/\/+$/, '')}/${this.config.container}`;
    }
    return `container ${this.config.container} (connection string)`;
  }

  private async openContainer(): Promise<ContainerClient> {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const options: StoragePipelineOptions = {
      retryOptions: DEFAULT_STORAGE_RETRY,
      ...this.config.clientOptions,
    };
    const { storage } = this.config;
    const service =
      storage.kind === 'connectionString'
        ? BlobServiceClient.fromConnectionString(storage.connectionString, options)
        : new BlobServiceClient(storage.serviceUri, await this.requireCredential(), options);
    const container = service.getContainerClient(this.config.container);
    try {
      await container.createIfNotExists();
    } catch (error) {
      // A role scoped to the container (not the account) cannot create containers; the container then has to
      // exist already (infra creates it), and the write itself will say so if it does not.
      if ((error as { statusCode?: unknown }).statusCode !== 403) throw error;
    }
    return container;
  }

  private requireCredential(): Promise<TokenCredential> {
    if (!this.config.credential) throw new DetectorError('CONFIG_INVALID', 'missing credential');
    return this.config.credential();
  }

  private now(): Date {
    return this.config.now?.() ?? new Date();
  }

  private async writeDocument(name: string, body: Buffer, metadata: Record<string, string>): Promise<void> {
    const container = await this.container();
    await container.getBlockBlobClient(name).upload(body, body.length, {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      metadata,
      conditions: { ifNoneMatch: '*' },
    });
  }

  /**
   * Writes undelivered alerts (redacted once more: a row from an older version may not have been), in as
   * many documents as their size needs; returns the blob names, first part first.
   */
  async writeAlerts(
    alerts: readonly AlertRow[],
    failures: readonly DeadLetterFailure[],
    batch: BatchInfo,
  ): Promise<string[]> {
    const at = this.now();
    const unique = randomUUID();
    const names: string[] = [];
    const reasonOf = new Map<string, string>();
    for (const f of failures) for (const id of f.alertIds) reasonOf.set(id, f.reason);
    try {
      await writeInParts(
        alerts,
        (a) => JSON.stringify(redactAlertRow(a)),
        async (rows, items, part, lastPart) => {
          const name = deadLetterBlobName(
            ALERTS_PREFIX,
            at,
            batch,
            part === 1 && lastPart ? unique : `${unique}-${part}`,
          );
          const ids = new Set(items.map((a) => a.AlertId));
          const partFailures = failures
            .map((f) => ({ reason: redactText(f.reason), alertIds: f.alertIds.filter((id) => ids.has(id)) }))
            .filter((f) => f.alertIds.length > 0);
          const reasons = [...new Set(partFailures.map((f) => f.reason))];
          const head = {
            schema: ALERT_DEAD_LETTER_SCHEMA,
            kind: 'alerts',
            writtenAt: at.toISOString(),
            reason: reasons.join(' | ').slice(0, 2_000),
            batch: plainBatch(batch),
            failures: partFailures,
            replayAttempts: 0,
            part,
            lastPart,
          };
          await this.writeDocument(
            name,
            documentWithList(head, 'alerts', rows),
            metadataFor('alerts', rows.length, batch),
          );
          names.push(name);
        },
        this.config.maxDocumentBytes ?? MAX_DOCUMENT_BYTES,
      );
    } catch (error) {
      throw new DetectorError(
        'DEAD_LETTER_FAILED',
        `Could not write ${alerts.length} undelivered alert(s) to the dead-letter container ${this.location}${names.length > 0 ? ` (${names.length} part(s) were written)` : ''}: ${errorText(error, MAX_REASON_LENGTH)}`,
        { cause: error },
      );
    }
    return names;
  }

  /** Keeps malformed messages, each once, redacted, in as many documents as their size needs. */
  async keep(messages: readonly MalformedMessage[], batch: BatchInfo): Promise<void> {
    if (messages.length === 0) return;
    const at = this.now();
    const unique = randomUUID();
    let written = 0;
    try {
      await writeInParts(
        messages,
        (m) => JSON.stringify(toMalformedEntry(m)),
        async (entries, _items, part, lastPart) => {
          const name = deadLetterBlobName(
            MALFORMED_PREFIX,
            at,
            batch,
            part === 1 && lastPart ? unique : `${unique}-${part}`,
          );
          const head = {
            schema: MALFORMED_DEAD_LETTER_SCHEMA,
            kind: 'malformed',
            writtenAt: at.toISOString(),
            batch: plainBatch(batch),
            part,
            lastPart,
          };
          await this.writeDocument(
            name,
            documentWithList(head, 'messages', entries),
            metadataFor('malformed', entries.length, batch),
          );
          written += entries.length;
        },
        this.config.maxDocumentBytes ?? MAX_DOCUMENT_BYTES,
      );
    } catch (error) {
      throw new DetectorError(
        'DEAD_LETTER_FAILED',
        `Could not keep ${messages.length - written} malformed message(s) in the dead-letter container ${this.location}: ${errorText(error, MAX_REASON_LENGTH)}`,
        { cause: error },
      );
    }
  }

  /** Whether a blob is still there (a replay tells a dead letter another run completed from one it holds). */
  async exists(name: string): Promise<boolean> {
    const container = await this.container();
    return container.getBlockBlobClient(name).exists();
  }

  async *list(prefix: string): AsyncGenerator<DeadLetterListing> {
    const container = await this.container();
    for await (const blob of container.listBlobsFlat({ prefix })) {
      yield {
        name: blob.name,
        size: blob.properties.contentLength ?? 0,
        ...(blob.properties.createdOn ? { createdOn: blob.properties.createdOn } : {}),
      };
    }
  }

  async readText(name: string): Promise<string> {
    const container = await this.container();
    const buffer = await container.getBlockBlobClient(name).downloadToBuffer();
    return buffer.toString('utf8');
  }

  /**
   * Takes a lease on an alert dead letter and reads it. Undefined when another replay holds it or it is gone.
   * The lease is renewed while held, so a long replay keeps it; if this process dies, it expires.
   */
  async claim(name: string, leaseSeconds = 60): Promise<DeadLetterClaim | undefined> {
    const container = await this.container();
    const blob = container.getBlockBlobClient(name);
    const lease: BlobLeaseClient = blob.getBlobLeaseClient();
    try {
      await lease.acquireLease(leaseSeconds);
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      if (status === 409 || status === 404) return undefined;
      throw error;
    }
    const conditions = { leaseId: lease.leaseId };
    const renew = setInterval(
      () => {
        lease.renewLease().catch(() => undefined);
      },
      Math.max(1_000, (leaseSeconds * 1000) / 3),
    );
    renew.unref();
    const stop = (): void => {
      clearInterval(renew);
    };
    let document: AlertDeadLetter;
    try {
      const text = (await blob.downloadToBuffer(undefined, undefined, { conditions })).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new DetectorError(
          'DELIVERY_FAILED',
          `Dead letter ${name} is not JSON: ${errorText(error, MAX_REASON_LENGTH)}`,
          {
            cause: error,
          },
        );
      }
      const parsed = alertDeadLetterSchema.safeParse(json);
      if (!parsed.success) {
        throw new DetectorError(
          'DELIVERY_FAILED',
          `Dead letter ${name} is not a ${ALERT_DEAD_LETTER_SCHEMA} document: ${parsed.error.issues
            .slice(0, 3)
            .map((i) => `${i.path.join('.')}: ${i.message}`)
            .join('; ')}`,
        );
      }
      document = parsed.data as AlertDeadLetter;
    } catch (error) {
      stop();
      await lease.releaseLease().catch(() => undefined);
      throw error;
    }
    return {
      name,
      document,
      complete: async () => {
        stop();
        await blob.delete({ conditions });
      },
      keepRemaining: async (alerts, error) => {
        stop();
        const next: AlertDeadLetter = {
          ...document,
          alerts,
          failures: [{ reason: redactText(error), alertIds: alerts.map((a) => a.AlertId) }],
          replayAttempts: document.replayAttempts + 1,
          lastReplayError: redactText(error),
        };
        const body = JSON.stringify(next);
        await blob.upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
          metadata: metadataFor('alerts', alerts.length, document.batch),
          conditions,
        });
        await lease.releaseLease().catch(() => undefined);
      },
      release: async () => {
        stop();
        await lease.releaseLease().catch(() => undefined);
      },
    };
  }
}
