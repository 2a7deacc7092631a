// Demo origin servers for `ballast demo`: small HTTP apps that say who answered, with /health.
import { createServer, type Server } from 'node:http';

export interface DemoBackend {
  name: string;
  port: number;
  server: Server;
}

export async function startDemoBackends(host: string, ports: number[]): Promise<DemoBackend[]> {
  return Promise.all(
    ports.map(
      (port, i) =>
        new Promise<DemoBackend>((resolve, reject) => {
          const name = `app${i + 1}`;
          const server = createServer((req, res) => {
            if (req.url === '/health') {
              res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
              return;
            }
            const body = `hello from ${name} (${host}:${port}) ${req.method ?? ''} ${req.url ?? ''}\n`;
            res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name }).end(body);
          });
          server.once('error', (err) => reject(new Error(`demo backend ${name} cannot listen on ${host}:${port}: ${err.message}`)));
          server.listen(port, host, () => resolve({ name, port, server }));
        }),
    ),
  );
}
