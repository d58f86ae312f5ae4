import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { generate } from 'selfsigned';
import { parseFakeToken } from './managedIdentityFake';
import { prng as seededRandom } from '../../bench/prng';

export { seededRandom };

/**
 * A local HTTPS fake of the Logs Ingestion API (`POST /dataCollectionRules/{id}/streams/{stream}
 * ?api-version=2023-01-01`, bearer token for `https://monitor.azure.com`, JSON array body, optional gzip,
 * 1 MB per call, 204 on success). The real `LogsIngestionClient` talks to it; trust its self-signed
 * certificate with the client option `tlsOptions: { ca: fake.ca }` (core-rest-pipeline's tlsPolicy builds
 * an https.Agent with those settings) or, for a child process, `NODE_EXTRA_CA_CERTS=<file with fake.ca>`.
 *
 * Protocol checks that fail are client bugs: they are answered like the service would (400/401/404/413)
 * and recorded in `violations`, which tests expect to stay empty. Faults are injected on purpose, on a
 * deterministic schedule (seeded PRNG or an explicit script), and counted in `faultsInjected`.
 */
export const LOGS_INGESTION_API_VERSION = '2023-01-01';
export const MONITOR_AUDIENCE = 'https://monitor.azure.com';
/** The strictest reading of "1 MB per call" (the SDK's own chunk limit); applies compressed and not. */
export const DEFAULT_MAX_BODY_BYTES = 1_000_000;

export const RETRYABLE_FAULTS = [
  'throttle', // 429 with Retry-After
  'server-error', // 500
  'unavailable', // 503
  'request-timeout', // 408
  'reset', // connection destroyed before the request is read
  'lost-response', // rows stored, then the connection is destroyed (client must retry: duplicates)
  'slow', // the answer comes after `slowMs` (beyond the client's attempt timeout)
] as const;
export const NON_RETRYABLE_FAULTS = ['unauthorized', 'forbidden', 'bad-request'] as const;
export const ALL_FAULTS = [...RETRYABLE_FAULTS, ...NON_RETRYABLE_FAULTS] as const;
export type FaultKind = (typeof ALL_FAULTS)[number];

export type FaultPlan =
  | { readonly rate: number; readonly kinds: readonly FaultKind[]; readonly seed: number }
  | { readonly script: readonly (FaultKind | null)[] };

export interface LogsIngestionFakeOptions {
  /** Rule ids and streams that exist; others get 404. Default: any `dcr-<32 hex>` and any `Custom-*`. */
  readonly ruleId?: string;
  /** The rule's streams (the detector's DCR declares two: alerts and health rows). */
  readonly streamName?: string | readonly string[];
  readonly maxBodyBytes?: number;
  readonly audience?: string;
  readonly retryAfterSeconds?: number;
  readonly slowMs?: number;
  readonly faults?: FaultPlan;
}

export interface IngestRequestRecord {
  readonly index: number;
  readonly status: number | 'reset';
  readonly fault?: FaultKind | 'down';
  readonly rows: number;
  readonly gzip: boolean;
  readonly bytes: number;
}

export interface LogsIngestionFake {
  /** `https://127.0.0.1:<port>`: the value for LOGS_INGESTION_ENDPOINT. */
  readonly endpoint: string;
  /** PEM of the self-signed certificate, to trust in the client. */
  readonly ca: string;
  /** Accepted rows in arrival order (a row sent twice appears twice). */
  readonly rows: readonly Record<string, unknown>[];
  readonly requests: readonly IngestRequestRecord[];
  /** Protocol violations by the client (should stay empty). */
  readonly violations: readonly string[];
  readonly faultsInjected: Readonly<Record<string, number>>;
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  totalFaults(): number;
  /** How often each AlertId was accepted. */
  countsByAlertId(): Map<string, number>;
  setFaults(plan: FaultPlan | undefined): void;
  /** Down: every request is answered 503 without Retry-After (counted as fault `down`). */
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

/**
 * A self-signed certificate for 127.0.0.1/localhost. Each gets its own subject name: OpenSSL finds a trusted
 * certificate by subject, so two test certificates with one name in NODE_EXTRA_CA_CERTS would shadow each other.
 */
export async function generateLoopbackCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: `pcd-test-${randomBytes(6).toString('hex')}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

export async function startLogsIngestionFake(
  options: LogsIngestionFakeOptions = {},
): Promise<LogsIngestionFake> {
  const { key, cert } = await generateLoopbackCertificate();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const audience = options.audience ?? MONITOR_AUDIENCE;
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const slowMs = options.slowMs ?? 3_000;

  const rows: Record<string, unknown>[] = [];
  const requests: IngestRequestRecord[] = [];
  const violations: string[] = [];
  const faultsInjected: Record<string, number> = {};
  let plan: FaultPlan | undefined = options.faults;
  let random = plan && 'seed' in plan ? seededRandom(plan.seed) : undefined;
  let scheduleIndex = 0;
  let down = false;
  let requestIndex = 0;
  const timers = new Set<NodeJS.Timeout>();

  const nextFault = (): FaultKind | undefined => {
    if (!plan) return undefined;
    if ('script' in plan) return plan.script[scheduleIndex++] ?? undefined;
    const r = random?.() ?? 1;
    const pick = random?.() ?? 0;
    if (r >= plan.rate || plan.kinds.length === 0) return undefined;
    return plan.kinds[Math.floor(pick * plan.kinds.length)];
  };

  const count = (fault: FaultKind | 'down'): void => {
    faultsInjected[fault] = (faultsInjected[fault] ?? 0) + 1;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const index = requestIndex++;
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    const record = (status: number | 'reset', extra: Partial<IngestRequestRecord> = {}): void => {
      requests.push({ index, status, rows: 0, gzip, bytes: 0, ...extra });
    };
    const send = (
      status: number,
      code?: string,
      message?: string,
      headers: Record<string, string> = {},
    ): void => {
      if (code === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ error: { code, message } }));
      }
    };
    const violation = (status: number, code: string, message: string): void => {
      violations.push(`request ${index}: ${status} ${code}: ${message}`);
      record(status);
      req.resume();
      send(status, code, message);
    };

    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) {
      violation(404, 'NotFound', `no route ${req.method ?? ''} ${url.pathname}`);
      return;
    }
    const ruleId = decodeURIComponent(match[1] ?? '');
    const stream = decodeURIComponent(match[2] ?? '');
    if (options.ruleId ? ruleId !== options.ruleId : !/^dcr-[0-9a-f]{32}$/.test(ruleId)) {
      violation(404, 'InvalidDataCollectionRule', `data collection rule ${ruleId} not found`);
      return;
    }
    const streams = options.streamName === undefined ? undefined : [options.streamName].flat();
    if (streams ? !streams.includes(stream) : !/^Custom-[A-Za-z0-9_]+$/.test(stream)) {
      violation(404, 'InvalidStream', `stream ${stream} not declared in the rule`);
      return;
    }
    if (url.searchParams.get('api-version') !== LOGS_INGESTION_API_VERSION) {
      violation(400, 'InvalidApiVersion', `api-version must be ${LOGS_INGESTION_API_VERSION}`);
      return;
    }
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    const claims = token ? parseFakeToken(token) : undefined;
    if (!claims) {
      violation(401, 'InvalidToken', 'missing or unreadable bearer token');
      return;
    }
    if (claims.aud !== audience && claims.aud !== `${audience}/`) {
      violation(401, 'InvalidAudience', `token audience ${claims.aud}, expected ${audience}`);
      return;
    }
    if (claims.exp * 1000 < Date.now()) {
      violation(401, 'TokenExpired', 'token expired');
      return;
    }

    if (down) {
      count('down');
      record(503, { fault: 'down' });
      req.resume();
      send(503, 'ServiceUnavailable', 'endpoint down (injected)');
      return;
    }
    const fault = nextFault();
    if (fault) count(fault);
    if (fault === 'reset') {
      record('reset', { fault });
      req.socket.destroy();
      return;
    }
    const statusFault: Partial<Record<FaultKind, [number, string, Record<string, string>]>> = {
      throttle: [429, 'TooManyRequests', { 'retry-after': String(retryAfterSeconds) }],
      'server-error': [500, 'InternalServerError', {}],
      unavailable: [503, 'ServiceUnavailable', {}],
      'request-timeout': [408, 'RequestTimeout', {}],
      unauthorized: [401, 'InvalidToken', {}],
      forbidden: [403, 'Forbidden', {}],
      'bad-request': [400, 'InvalidRequest', {}],
    };
    const injected = fault ? statusFault[fault] : undefined;
    if (injected) {
      record(injected[0], { fault });
      req.resume();
      send(injected[0], injected[1], `${fault ?? ''} (injected)`, injected[2]);
      return;
    }

    // Read the body with the size limit enforced on the wire bytes.
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    }
    if (tooLarge) {
      violation(413, 'ContentLengthLimitExceeded', `body of ${received} bytes exceeds ${maxBodyBytes}`);
      return;
    }
    let body = Buffer.concat(chunks);
    if (gzip) {
      try {
        body = gunzipSync(body, { maxOutputLength: maxBodyBytes + 1 });
      } catch (e) {
        const over = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        violation(
          over ? 413 : 400,
          over ? 'ContentLengthLimitExceeded' : 'InvalidContentEncoding',
          String(e),
        );
        return;
      }
      if (body.length > maxBodyBytes) {
        violation(413, 'ContentLengthLimitExceeded', `uncompressed body exceeds ${maxBodyBytes}`);
        return;
      }
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      violation(400, 'InvalidContentType', `content-type ${req.headers['content-type'] ?? '<none>'}`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      violation(400, 'InvalidJson', String(e));
      return;
    }
    if (
      !Array.isArray(parsed) ||
      !parsed.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))
    ) {
      violation(400, 'InvalidPayload', 'body must be a JSON array of objects');
      return;
    }
    const accepted = parsed as Record<string, unknown>[];

    if (fault === 'lost-response') {
      rows.push(...accepted);
      record('reset', { fault, rows: accepted.length, bytes: received });
      req.socket.destroy();
      return;
    }
    if (fault === 'slow') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, slowMs);
        timers.add(t);
      });
      if (res.destroyed || req.socket.destroyed) {
        record('reset', { fault, bytes: received });
        return;
      }
    }
    rows.push(...accepted);
    record(204, { rows: accepted.length, bytes: received, ...(fault ? { fault } : {}) });
    send(204);
  };

  let inFlight = 0;
  const server = https.createServer({ key, cert }, (req, res) => {
    inFlight++;
    handle(req, res)
      .catch((e: unknown) => {
        violations.push(`handler error: ${String(e)}`);
        if (!res.headersSent) res.writeHead(500).end();
      })
      .finally(() => {
        inFlight--;
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `https://127.0.0.1:${port}`,
    ca: cert,
    rows,
    requests,
    violations,
    faultsInjected,
    get inFlight() {
      return inFlight;
    },
    totalFaults: () => Object.values(faultsInjected).reduce((a, b) => a + b, 0),
    countsByAlertId() {
      const counts = new Map<string, number>();
      for (const row of rows) {
        // Health rows (the other stream) have no AlertId.
        const id = row.AlertId;
        if (typeof id !== 'string') continue;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    },
    setFaults(next) {
      plan = next;
      random = next && 'seed' in next ? seededRandom(next.seed) : undefined;
      scheduleIndex = 0;
    },
    setDown(value) {
      down = value;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
