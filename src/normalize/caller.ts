/*
 * Who made the call, from the token claims the record carries (export `identity.claims`, REST `claims`,
 * AzureActivity `Claims`), named as a security analyst names them: users by UPN, else by their name claims
 * (guests and B2B users often have no `upn`), else by object id; applications (service principals and
 * managed identities) by app id, with their kind, so that Sentinel maps the right entity.
 */
import type { CallerKind } from './activityEvent';

const CLAIM_UPN = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
const CLAIM_NAME = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const CLAIM_OBJECT_ID = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const CLAIM_TENANT_ID = 'http://schemas.microsoft.com/identity/claims/tenantid';
const CLAIM_IDENTITY_PROVIDER = 'http://schemas.microsoft.com/identity/claims/identityprovider';

export interface CallerIdentity {
  readonly caller: string;
  readonly kind: CallerKind;
  readonly objectId: string;
  readonly appId: string;
  /** The tenant that issued the token (`tid`), for shapes whose own tenant column is not Entra's. */
  readonly tenantId: string;
  /** A managed identity's resource id (`xms_mirid`), when the token says. */
  readonly managedIdentityResourceId: string;
}

function claim(claims: Readonly<Record<string, unknown>>, ...names: string[]): string {
  for (const name of names) {
    const value = claims[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return '';
}

/**
 * A user from another tenant or a personal account: `acct` 1 (guest), an identity provider other than the
 * issuing tenant, or the `#EXT#` / `live.com#` forms guest names take.
 */
function isGuest(claims: Readonly<Record<string, unknown>>, name: string): boolean {
  if (claim(claims, 'acct') === '1') return true;
  if (/#EXT#|^live\.com#/i.test(name)) return true;
  const idp = claim(claims, CLAIM_IDENTITY_PROVIDER, 'idp');
  if (idp === '') return false;
  const issuer = claim(claims, 'iss');
  const tenant = claim(claims, CLAIM_TENANT_ID, 'tid');
  return !(tenant !== '' && (idp.includes(tenant) || issuer.includes(idp)));
}

/**
 * The caller from the claims, with `fallback` (the shape's own caller column, REST `caller` or AzureActivity
 * `Caller`) used when the claims name nobody.
 */
export function identifyCaller(
  claims: Readonly<Record<string, unknown>> | undefined,
  fallback: string,
): CallerIdentity {
  const c = claims ?? {};
  const objectId = claim(c, CLAIM_OBJECT_ID, 'oid');
  const appId = claim(c, 'appid', 'azp');
  const tenantId = claim(c, CLAIM_TENANT_ID, 'tid');
  const managedIdentityResourceId = claim(c, 'xms_mirid', 'xms_az_rid');
  const userName = claim(c, CLAIM_UPN, 'upn', 'unique_name', CLAIM_NAME);
  const idtyp = claim(c, 'idtyp').toLowerCase();
  const base = { objectId, appId, tenantId, managedIdentityResourceId };

  const isApp = idtyp === 'app' || (idtyp !== 'user' && userName === '' && appId !== '');
  if (isApp) {
    return {
      ...base,
      caller: appId || objectId || fallback,
      kind: managedIdentityResourceId === '' ? 'ServicePrincipal' : 'ManagedIdentity',
    };
  }
  if (userName !== '' || idtyp === 'user') {
    return {
      ...base,
      caller: userName || objectId || fallback,
      kind: isGuest(c, userName) ? 'Guest' : 'User',
    };
  }
  // No claims: only the shape's caller column (AzureActivity rows exported without Claims, say).
  const kind: CallerKind = objectId === '' && fallback.includes('@') ? 'User' : 'Unknown';
  return { ...base, caller: objectId || fallback, kind };
}
