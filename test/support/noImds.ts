/**
 * Jest setup for every test file: no credential built in a test may reach the instance metadata address
 * (169.254.169.254), on this machine or on a CI runner that happens to run in a cloud. Tests that need a
 * managed identity start the local endpoint (test/support/managedIdentityFake.ts) and set IDENTITY_ENDPOINT;
 * anything else that falls through to IMDS is sent to a closed loopback port instead, and fails at once.
 * Both @azure/identity and MSAL read AZURE_POD_IDENTITY_AUTHORITY_HOST as the IMDS endpoint.
 */
export const CLOSED_LOOPBACK_IMDS = 'http://127.0.0.1:9';

process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST ??= CLOSED_LOOPBACK_IMDS;
