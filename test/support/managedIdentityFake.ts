import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local endpoint speaking the App Service managed-identity protocol (api-version 2019-08-01), which
 * `ManagedIdentityCredential` (MSAL's "AppService" source) uses when `IDENTITY_ENDPOINT` and
 * `IDENTITY_HEADER` are set: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<aud>[&client_id=<id>]`
 * with header `X-IDENTITY-HEADER: <IDENTITY_HEADER>`; reply `{access_token, expires_on, resource, token_type}`.
 *
 * Tokens are unsigned JWT-shaped strings whose payload carries `aud` (the requested resource), so the Logs
 * Ingestion fake can check the audience. The signature segment is `FAKE_MI_TOKEN_MARKER` plus random hex:
 * a test that scans logs or blobs for leaked tokens can look for the marker in plain text.
 *
 * MSAL keeps the first managed-identity source (endpoint and header) and its token cache in static fields
 * for the life of the module registry, so start one fake per test file and keep it for the whole file.
 */
export const FAKE_MI_TOKEN_MARKER = 'PCDFAKEMITOKEN';
// An Entra ID issuer form: Azurite's OAuth mode (`--oauth basic`) accepts only sts.windows.net issuers.
export const FAKE_MI_TENANT_ID = '00000000-0000-0000-0000-00000000fa4e';
export const FAKE_MI_ISSUER = `https://sts.windows.net/${FAKE_MI_TENANT_ID}/`;
export const APP_SERVICE_MSI_API_VERSION = '2019-08-01';

export interface TokenRequestRecord {
  readonly resource: string | undefined;
  readonly clientId: string | undefined;
  readonly status: number;
}

export interface ManagedIdentityFakeOptions {
  /** When set, requests must name this user-assigned identity (`client_id`); otherwise they must not. */
  readonly clientId?: string;
  /** Token lifetime; MSAL refreshes proactively, so keep it well above the test duration. */
  readonly lifetimeSeconds?: number;
}

export interface ManagedIdentityFake {
  /** The value for `IDENTITY_ENDPOINT` (plain http on loopback, as in App Service). */
  readonly endpoint: string;
  /** The value for `IDENTITY_HEADER`; a secret that must never be logged. */
  readonly identityHeader: string;
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, to merge into `process.env` or a child's environment. */
  env(): Record<string, string>;
  /** Every access token handed out, for leak scans. */
  readonly issuedTokens: readonly string[];
  readonly requests: readonly TokenRequestRecord[];
  /** The next `count` token requests fail with the given status (transient identity endpoint failures). */
  failNext(count: number, status?: number): void;
  stop(): Promise<void>;
}

export interface FakeTokenClaims {
  readonly aud: string;
  readonly iss: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly appid: string;
  readonly oid: string;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Builds a token in the fake's format (exported so other fakes and tests agree on one format). */
export function makeFakeToken(claims: FakeTokenClaims): string {
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.${FAKE_MI_TOKEN_MARKER}${randomBytes(16).toString('hex')}`;
}

/** Parses a token of the fake's format; undefined when it is not one. */
export function parseFakeToken(token: string): FakeTokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[2]?.startsWith(FAKE_MI_TOKEN_MARKER)) return undefined;
  try {
    const claims = JSON.parse(
      Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'),
    ) as Partial<FakeTokenClaims>;
    if (typeof claims.aud !== 'string' || typeof claims.exp !== 'number' || claims.iss !== FAKE_MI_ISSUER) {
      return undefined;
    }
    return claims as FakeTokenClaims;
  } catch {
    return undefined;
  }
}

export async function startManagedIdentityFake(
  options: ManagedIdentityFakeOptions = {},
): Promise<ManagedIdentityFake> {
  const identityHeader = randomBytes(24).toString('hex');
  const lifetime = options.lifetimeSeconds ?? 24 * 3600;
  const issuedTokens: string[] = [];
  const requests: TokenRequestRecord[] = [];
  let failures: { count: number; status: number } = { count: 0, status: 500 };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource') ?? undefined;
    const clientId = url.searchParams.get('client_id') ?? undefined;
    const reply = (status: number, body: Record<string, unknown>): void => {
      requests.push({ resource, clientId, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || url.pathname !== '/msi/token') {
      reply(404, { error: 'not_found', error_description: `no route ${req.method ?? ''} ${url.pathname}` });
      return;
    }
    if (req.headers['x-identity-header'] !== identityHeader) {
      reply(401, { error: 'unauthorized', error_description: 'X-IDENTITY-HEADER missing or wrong' });
      return;
    }
    if (url.searchParams.get('api-version') !== APP_SERVICE_MSI_API_VERSION) {
      reply(400, {
        error: 'invalid_request',
        error_description: `api-version must be ${APP_SERVICE_MSI_API_VERSION}`,
      });
      return;
    }
    if (!resource) {
      reply(400, { error: 'invalid_request', error_description: 'resource is required' });
      return;
    }
    if (clientId !== options.clientId) {
      reply(400, {
        error: 'invalid_request',
        error_description: `Identity not found (client_id ${clientId ?? '<system-assigned>'})`,
      });
      return;
    }
    if (failures.count > 0) {
      failures = { ...failures, count: failures.count - 1 };
      reply(failures.status, { error: 'temporarily_unavailable', error_description: 'injected failure' });
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const exp = now + lifetime;
    const token = makeFakeToken({
      aud: resource,
      iss: FAKE_MI_ISSUER,
      exp,
      nbf: now - 300,
      iat: now,
      appid: options.clientId ?? 'system-assigned',
      oid: '00000000-0000-0000-0000-0000000000a1',
    });
    issuedTokens.push(token);
    // App Service returns expires_on as a string of epoch seconds.
    reply(200, {
      access_token: token,
      expires_on: String(exp),
      resource,
      token_type: 'Bearer',
      client_id: options.clientId ?? '00000000-0000-0000-0000-0000000000c1',
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}/msi/token`;

  return {
    endpoint,
    identityHeader,
    env: () => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: identityHeader }),
    issuedTokens,
    requests,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
