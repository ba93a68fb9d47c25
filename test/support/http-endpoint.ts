// A local HTTP server standing in for an agent's endpoint (the http adapter's tests).
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpEndpoint {
  /** http://127.0.0.1:<port> */
  base: string;
  port: number;
  /** Drops open connections (a hanging response included) and stops listening. */
  close(): Promise<void>;
}

export async function startHttpEndpoint(listener: RequestListener): Promise<HttpEndpoint> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
