import net from 'node:net';

/**
 * A loopback TCP proxy that can be switched "down" (new connections are reset, open ones cut) and back up,
 * so a test can make a service unreachable without stopping it (Azurite's in-memory data survives).
 */
export interface TcpProxy {
  readonly port: number;
  /** Rewrites `127.0.0.1:<target port>` in a URL or connection string to go through the proxy. */
  route(text: string): string;
  setDown(down: boolean): void;
  readonly refused: number;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let down = false;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    route: (text) => text.replaceAll(`127.0.0.1:${targetPort}`, `127.0.0.1:${port}`),
    setDown(value) {
      down = value;
      if (value) for (const s of sockets) s.destroy();
    },
    get refused() {
      return refused;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
