// Picks a free TCP port by binding port 0 and releasing it: net-ipc treats port 0 as "no port" and
// falls back to a unix socket, so a listener asked for port 0 needs a concrete number first.
import { createServer } from 'node:net';

export function reserveFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const addr = probe.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
