// Real TCP origins for tests: an echo server, and a sink that answers the SHA-256 of everything it
// received once the client half-closes (proving byte-exact transfer and half-close together).
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpOrigin {
  port: number;
  address: string;
  server: Server;
  connections(): number;
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<TcpOrigin> {
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    server,
    connections: () => sockets.size,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

export function startEchoOrigin(): Promise<TcpOrigin> {
  const sockets = new Set<Socket>();
  return listen(createServer((s) => s.pipe(s)), sockets);
}

export function startHashSink(): Promise<TcpOrigin> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    s.on('end', () => s.end(`${bytes} ${hash.digest('hex')}`));
    s.on('error', () => s.destroy());
  });
  return listen(server, sockets);
}
