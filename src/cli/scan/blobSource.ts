/*
 * The blob archive as a scan source: `https://<account>.blob.core.windows.net/<container>[/<prefix>]`, or
 * Azurite's path-style `http://127.0.0.1:<port>/devstoreaccount1/<container>[/<prefix>]`, read straight
 * from Blob Storage. Credentials, first found: a SAS in the URL; `AZURE_STORAGE_CONNECTION_STRING` (for
 * the account the URL names); `DefaultAzureCredential` (Storage Blob Data Reader on the container).
 *
 * With `--since`/`--until` the listing itself is pruned on the archive's `y=/m=/d=/h=` folders: it walks
 * the hierarchy down to the months that overlap the range and lists only those, so a week of a year-long
 * archive costs a few listings, and nothing outside the range is downloaded. A URL's query string (where
 * a SAS lives) is never printed or written to the state file.
 */
import type { TokenCredential } from '@azure/identity';
import type { BlobItem, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob' with {
  'resolution-mode': 'import',
};
import { chooseCredential, lazyCredential } from '../../deliver/credential';
import { DetectorError } from '../../lib/errors';
import { stripQuery } from '../../lib/redact';
import type { BufferPool, ScanInput } from './inputs';
import { overlaps, pathTime, selectedByPath, spanOf, type TimeRange } from './timeRange';

export interface BlobLocation {
  /** `https://acct.blob.core.windows.net/container` (no query). */
  readonly containerUrl: string;
  readonly accountName: string;
  readonly container: string;
  /** Blob name prefix inside the container ('' for all). */
  readonly prefix: string;
  /** The query string with its `?`, when the URL carries a SAS. */
  readonly sas?: string;
  /** For messages: the URL without its query. */
  readonly display: string;
}

/** Hosts that are written path-style (`/<account>/<container>`): an emulator on this machine or an IP. */
function isPathStyleHost(hostname: string): boolean {
  return hostname === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith('[');
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

export function isBlobUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/** Reads a container URL (see the file header); throws a usage error naming what was expected. */
export function parseBlobUrl(text: string): BlobLocation {
  const expected =
    'expected https://<account>.blob.core.windows.net/<container>[/<prefix>] or, for Azurite, http://127.0.0.1:<port>/devstoreaccount1/<container>[/<prefix>]';
  if (!URL.canParse(text)) {
    throw new DetectorError('USAGE', `Not a blob container URL: "${stripQuery(text)}" (${expected})`);
  }
  const url = new URL(text);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new DetectorError(
      'USAGE',
      `A blob archive must be read over https (plain http only from an emulator on this machine), got "${stripQuery(text)}"`,
    );
  }
  const parts = url.pathname.replace(/^\/+/, '').split('/');
  const pathStyle = isPathStyleHost(url.hostname);
  const accountName = pathStyle ? decodeURIComponent(parts[0] ?? '') : (url.hostname.split('.')[0] ?? '');
  const container = decodeURIComponent((pathStyle ? parts[1] : parts[0]) ?? '');
  const prefix = (pathStyle ? parts.slice(2) : parts.slice(1)).map(decodeURIComponent).join('/');
  if (accountName === '' || container === '') {
    throw new DetectorError('USAGE', `No container in "${stripQuery(text)}" (${expected})`);
  }
  const base = `${url.protocol}//${url.host}${pathStyle ? `/${encodeURIComponent(accountName)}` : ''}`;
  const containerUrl = `${base}/${encodeURIComponent(container)}`;
  const sas = url.search !== '' && url.searchParams.has('sig') ? url.search : undefined;
  return {
    containerUrl,
    accountName,
    container,
    prefix,
    ...(sas === undefined ? {} : { sas }),
    display: `${containerUrl}${prefix === '' ? '' : `/${prefix}`}`,
  };
}

export interface BlobArchive {
  readonly location: BlobLocation;
  /** How it signs in, for the summary ("SAS from the URL", ...). */
  readonly auth: string;
  readonly container: ContainerClient;
}

export interface BlobSourceOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly connectionString: string | undefined;
  readonly managedIdentityClientId: string | undefined;
  /** Tests: shorter retries. */
  readonly clientOptions?: StoragePipelineOptions;
}

/** Storage retries for reading the archive: patient, since a backfill should ride out a blip. */
const ARCHIVE_RETRY: NonNullable<StoragePipelineOptions['retryOptions']> = {
  maxTries: 5,
  tryTimeoutInMs: 120_000,
  retryDelayInMs: 1_000,
  maxRetryDelayInMs: 30_000,
};

/** The container client for a location, with the first credential found (see the file header). */
export async function openArchive(location: BlobLocation, options: BlobSourceOptions): Promise<BlobArchive> {
  const storage = await import('@azure/storage-blob');
  const pipeline: StoragePipelineOptions = { retryOptions: ARCHIVE_RETRY, ...options.clientOptions };
  if (location.sas !== undefined) {
    return {
      location,
      auth: 'the SAS in the URL',
      container: new storage.ContainerClient(
        `${location.containerUrl}${location.sas}`,
        new storage.AnonymousCredential(),
        pipeline,
      ),
    };
  }
  if (options.connectionString !== undefined) {
    let service;
    try {
      service = storage.BlobServiceClient.fromConnectionString(options.connectionString);
    } catch (error) {
      throw new DetectorError(
        'CONFIG_INVALID',
        'AZURE_STORAGE_CONNECTION_STRING is not a storage connection string',
        { cause: error },
      );
    }
    // The account the connection string names (its AccountName, else its endpoint's).
    const named =
      /(?:^|;)\s*AccountName=([^;]+)/i.exec(options.connectionString)?.[1]?.trim() ?? service.accountName;
    if (named !== location.accountName) {
      throw new DetectorError(
        'CONFIG_INVALID',
        `AZURE_STORAGE_CONNECTION_STRING is for account "${named}", but the URL names account "${location.accountName}"`,
      );
    }
    const credential = service.credential;
    const query = new URL(service.url).search;
    if (credential instanceof storage.StorageSharedKeyCredential) {
      return {
        location,
        auth: 'AZURE_STORAGE_CONNECTION_STRING (account key)',
        container: new storage.ContainerClient(location.containerUrl, credential, pipeline),
      };
    }
    return {
      location,
      auth: 'AZURE_STORAGE_CONNECTION_STRING (SAS)',
      container: new storage.ContainerClient(
        `${location.containerUrl}${query}`,
        new storage.AnonymousCredential(),
        pipeline,
      ),
    };
  }
  if (!location.containerUrl.startsWith('https:')) {
    throw new DetectorError(
      'USAGE',
      `Signing in with an identity needs https; for ${location.display} give a SAS in the URL or AZURE_STORAGE_CONNECTION_STRING`,
    );
  }
  const credential: TokenCredential = await lazyCredential(
    chooseCredential(options.env, options.managedIdentityClientId),
  )();
  return {
    location,
    auth: 'DefaultAzureCredential (needs Storage Blob Data Reader)',
    container: new storage.ContainerClient(location.containerUrl, credential, pipeline),
  };
}

/** Folders walked one listing at a time before the rest is listed flat (a guard for odd layouts). */
const MAX_HIERARCHY_DEPTH = 16;

export interface ListingCounts {
  /** Blobs listed and kept. */
  selected: number;
  /** Blobs (or folders of them) left out by --since/--until. */
  outsideRange: number;
  /** Blobs whose name has no y=/m=/d=/h= time, left out because a range was given. */
  undated: number;
}

/**
 * The blobs under the location's prefix, in name order, selected by the range (see the file header).
 * `signal` stops the listing.
 */
export async function* listArchive(
  archive: BlobArchive,
  range: TimeRange | undefined,
  counts: ListingCounts,
  signal: AbortSignal,
): AsyncGenerator<BlobItem> {
  const container = archive.container;
  const keep = (item: BlobItem): boolean => {
    const selected = selectedByPath(range, item.name);
    if (selected === true) {
      counts.selected++;
      return true;
    }
    if (selected === 'unknown') counts.undated++;
    else counts.outsideRange++;
    return false;
  };
  async function* flat(prefix: string): AsyncGenerator<BlobItem> {
    for await (const item of container.listBlobsFlat({ prefix, abortSignal: signal })) {
      if (keep(item)) yield item;
    }
  }
  async function* walk(prefix: string, depth: number): AsyncGenerator<BlobItem> {
    const t = pathTime(prefix);
    if (t?.month !== undefined || depth >= MAX_HIERARCHY_DEPTH) {
      yield* flat(prefix);
      return;
    }
    for await (const item of container.listBlobsByHierarchy('/', { prefix, abortSignal: signal })) {
      if (item.kind === 'prefix') {
        const folder = pathTime(item.name);
        if (range !== undefined && folder !== undefined && !overlaps(range, spanOf(folder))) {
          counts.outsideRange++;
          continue;
        }
        yield* walk(item.name, depth + 1);
      } else if (keep(item)) {
        yield item;
      }
    }
  }
  if (range === undefined) yield* flat(archive.location.prefix);
  else yield* walk(archive.location.prefix, 0);
}

/** Blobs up to this size are downloaded in one request into memory; larger ones are streamed. */
export const WHOLE_BLOB_BYTES = 8 << 20;

/** A listed blob as a scan input. */
export function blobInput(archive: BlobArchive, item: BlobItem): ScanInput {
  // Only the name, size and ETag are kept, and the client is made when the blob is read: a backfill lists
  // ahead of its readers, up to a hundred thousand blobs.
  const name = item.name;
  const size = item.properties.contentLength;
  const download = async (signal: AbortSignal) => {
    const client = archive.container.getBlobClient(name);
    const response = await client.download(0, undefined, { abortSignal: signal, maxRetryRequests: 5 });
    const body = response.readableStreamBody;
    if (!body) throw new DetectorError('USAGE', `No body in the download of ${name}`);
    return body as AsyncIterable<Buffer>;
  };
  return {
    key: `blob ${archive.location.containerUrl}/${name} ${item.properties.etag}`,
    label: `${archive.location.container}/${name}`,
    path: name,
    size,
    open: download,
    ...(size !== undefined && size <= WHOLE_BLOB_BYTES
      ? {
          readWhole: async (signal: AbortSignal, pool: BufferPool) => {
            const chunks: Buffer[] = [];
            let total = 0;
            for await (const chunk of await download(signal)) {
              chunks.push(chunk);
              total += chunk.length;
            }
            const whole = pool.lease(total);
            let at = 0;
            for (const chunk of chunks) at += chunk.copy(whole, at);
            return whole;
          },
        }
      : {}),
  };
}
