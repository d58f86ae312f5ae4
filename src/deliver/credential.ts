/*
 * Which credential the detector uses, decided from the environment once:
 * - In Azure (App Service / Functions: `IDENTITY_ENDPOINT`, `MSI_ENDPOINT` or `WEBSITE_INSTANCE_ID` set):
 *   `ManagedIdentityCredential`, user-assigned when `AZURE_CLIENT_ID` is set, else system-assigned. Never
 *   the `DefaultAzureCredential` chain there: it would pick up a client secret from the environment if one
 *   were ever set, and a missing identity should fail loudly as "no managed identity".
 * - Elsewhere (a developer or operator running the CLI): `DefaultAzureCredential` (Azure CLI, azd,
 *   environment, ...), with `AZURE_CLIENT_ID` passed as the managed identity to use if it gets that far.
 */
import type { TokenCredential } from '@azure/identity';
import { once } from '../lib/once';

export type CredentialChoice =
  | { readonly kind: 'managedIdentity'; readonly clientId?: string }
  | { readonly kind: 'default'; readonly managedIdentityClientId?: string };

export function chooseCredential(env: NodeJS.ProcessEnv, clientId: string | undefined): CredentialChoice {
  const inAzure = [env.IDENTITY_ENDPOINT, env.MSI_ENDPOINT, env.WEBSITE_INSTANCE_ID].some(
    (v) => v !== undefined && v !== '',
  );
  if (inAzure) return clientId ? { kind: 'managedIdentity', clientId } : { kind: 'managedIdentity' };
  return clientId ? { kind: 'default', managedIdentityClientId: clientId } : { kind: 'default' };
}

export function describeCredential(choice: CredentialChoice): string {
  if (choice.kind === 'managedIdentity') {
    return choice.clientId
      ? `managed identity (user-assigned ${choice.clientId})`
      : 'managed identity (system-assigned)';
  }
  return 'DefaultAzureCredential (developer sign-in)';
}

/**
 * The credential, made on first use: `@azure/identity` is loaded only when the first alert or dead letter
 * is written, so starting the function (and every batch without alerts) never loads it.
 */
export function lazyCredential(choice: CredentialChoice): () => Promise<TokenCredential> {
  return once(async () => {
    const identity = await import('@azure/identity');
    if (choice.kind === 'managedIdentity') {
      return choice.clientId
        ? new identity.ManagedIdentityCredential({ clientId: choice.clientId })
        : new identity.ManagedIdentityCredential();
    }
    return choice.managedIdentityClientId
      ? new identity.DefaultAzureCredential({ managedIdentityClientId: choice.managedIdentityClientId })
      : new identity.DefaultAzureCredential();
  });
}
