import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManagedIdentityCredential } from '@azure/identity';
import { CLOSED_LOOPBACK_IMDS } from './noImds';

/** The Jest setup keeps credentials away from the instance metadata address. */
describe('no test reaches the instance metadata address', () => {
  it('is set up for every test file', () => {
    expect(process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST).toBe(CLOSED_LOOPBACK_IMDS);
  });

  it('sends a managed identity without a local identity endpoint to the loopback address instead', async () => {
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_request', error_description: 'test endpoint' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = { ...process.env };
    try {
      delete process.env.IDENTITY_ENDPOINT;
      delete process.env.IDENTITY_HEADER;
      delete process.env.MSI_ENDPOINT;
      process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(
        new ManagedIdentityCredential().getToken('https://monitor.azure.com/.default'),
      ).rejects.toThrow();
      expect(paths.some((p) => p.startsWith('/metadata/identity/oauth2/token'))).toBe(true);
    } finally {
      process.env = saved;
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    }
  }, 30_000);
});
