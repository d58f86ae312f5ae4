/*
 * The dead-letter container: alerts that could not be delivered within the budget, and malformed messages
 * kept raw for a person. One JSON blob per batch and kind, named so a listing sorts by time:
 *   alerts/2025-01-31/13-45-01.123Z_p3_s1200-1299_<uuid>.json
 *   malformed/2025-01-31/13-45-01.123Z_p3_s1200-1299_<uuid>.json
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
import { ALERT_COLUMNS, type AlertRow, type ColumnDefinition, type ColumnType } from '../alert/columns';
import type { StorageEndpoint } from '../config/settings';
import { DetectorError } from '../lib/errors';
import { errorText } from '../lib/errorText';
import { once } from '../lib/once';
import { redactText } from '../lib/redact';
import * as z from '../lib/zod';
import type { BatchInfo, MalformedMessage, MalformedStore } from '../pipeline/ports';
import { MAX_REASON_LENGTH } from './retryPolicy';

export const ALERTS_PREFIX = 'alerts/';
export const MALFORMED_PREFIX = 'malformed/';
export const ALERT_DEAD_LETTER_SCHEMA = 'packet-capture-detector/dead-letter/alerts@1';
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
  ): Promise<string>;
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
  alerts: z.array(alertRowSchema).check(z.minLength(1)),
});
export type AlertDeadLetter = Omit<z.infer<typeof alertDeadLetterSchema>, 'alerts'> & { alerts: AlertRow[] };

/** A malformed message as stored: its coordinates as received, the raw bytes encoded as text. */
export interface MalformedDeadLetterEntry extends Omit<MalformedMessage, 'code' | 'raw'> {
  readonly code: string;
  /** `utf8`: the text as received (secrets redacted, `redacted` says so); `base64`: bytes that were not UTF-8. */
  readonly rawEncoding: 'utf8' | 'base64';
  readonly raw: string;
  readonly rawBytes: number;
  readonly redacted?: true;
}

export interface MalformedDeadLetter {
  readonly schema: typeof MALFORMED_DEAD_LETTER_SCHEMA;
  readonly kind: 'malformed';
  readonly writtenAt: string;
  readonly batch: BatchInfo;
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

export function toMalformedEntry(m: MalformedMessage): MalformedDeadLetterEntry {
  const bytes = typeof m.raw === 'string' ? Buffer.from(m.raw, 'utf8') : m.raw;
  const text = typeof m.raw === 'string' ? m.raw : bytes.toString('utf8');
  const isText = typeof m.raw === 'string' || Buffer.from(text, 'utf8').equals(bytes);
  const clean = isText ? redactText(text) : undefined;
  return {
    code: m.code,
    reason: redactText(m.reason),
    index: m.index,
    ...(m.partitionId === undefined ? {} : { partitionId: m.partitionId }),
    ...(m.offset === undefined ? {} : { offset: m.offset }),
    ...(m.sequenceNumber === undefined ? {} : { sequenceNumber: m.sequenceNumber }),
    ...(m.enqueuedTimeUtc === undefined ? {} : { enqueuedTimeUtc: m.enqueuedTimeUtc }),
    ...(m.origin === undefined ? {} : { origin: m.origin }),
    rawEncoding: clean === undefined ? 'base64' : 'utf8',
    raw: clean ?? bytes.toString('base64'),
    rawBytes: bytes.length,
    ...(clean !== undefined && clean !== text ? { redacted: true as const } : {}),
  };
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

  private async writeDocument(
    name: string,
    document: unknown,
    metadata: Record<string, string>,
  ): Promise<void> {
    const body = JSON.stringify(document);
    const container = await this.container();
    await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      metadata,
      conditions: { ifNoneMatch: '*' },
    });
  }

  async writeAlerts(
    alerts: readonly AlertRow[],
    failures: readonly DeadLetterFailure[],
    batch: BatchInfo,
  ): Promise<string> {
    const at = this.now();
    const name = deadLetterBlobName(ALERTS_PREFIX, at, batch);
    const reasons = [...new Set(failures.map((f) => f.reason))];
    const document: AlertDeadLetter = {
      schema: ALERT_DEAD_LETTER_SCHEMA,
      kind: 'alerts',
      writtenAt: at.toISOString(),
      reason: redactText(reasons.join(' | ')).slice(0, 2_000),
      batch: plainBatch(batch),
      failures: failures.map((f) => ({ reason: redactText(f.reason), alertIds: [...f.alertIds] })),
      replayAttempts: 0,
      alerts: [...alerts],
    };
    try {
      await this.writeDocument(name, document, metadataFor('alerts', alerts.length, batch));
    } catch (error) {
      throw new DetectorError(
        'DEAD_LETTER_FAILED',
        `Could not write ${alerts.length} undelivered alert(s) to the dead-letter container ${this.location}: ${errorText(error, MAX_REASON_LENGTH)}`,
        { cause: error },
      );
    }
    return name;
  }

  async keep(messages: readonly MalformedMessage[], batch: BatchInfo): Promise<void> {
    if (messages.length === 0) return;
    const at = this.now();
    const name = deadLetterBlobName(MALFORMED_PREFIX, at, batch);
    const document: MalformedDeadLetter = {
      schema: MALFORMED_DEAD_LETTER_SCHEMA,
      kind: 'malformed',
      writtenAt: at.toISOString(),
      batch: plainBatch(batch),
      messages: messages.map(toMalformedEntry),
    };
    try {
      await this.writeDocument(name, document, metadataFor('malformed', messages.length, batch));
    } catch (error) {
      throw new DetectorError(
        'DEAD_LETTER_FAILED',
        `Could not keep ${messages.length} malformed message(s) in the dead-letter container ${this.location}: ${errorText(error, MAX_REASON_LENGTH)}`,
        { cause: error },
      );
    }
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
