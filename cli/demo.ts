// `ballast demo`: a whole appliance on loopback. Starts demo backends, writes a config, runs a
// real `ballast start` node process against it and prints where to send traffic.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startDemoBackends } from './demo-backends.js';

const HOST = '127.0.0.1';
const BACKEND_PORTS = [9101, 9102, 9103];
const HTTP_PORT = 8080;
const TCP_PORT = 8081;
const ADMIN_PORT = 9001;

function cliEntry(): { exec: string; args: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(fromSource ? './ballast.ts' : './ballast.js', import.meta.url));
  return { exec: process.execPath, args: fromSource ? ['--import', import.meta.resolve('tsx'), script] : [script] };
}

export async function runDemo(_args: string[]): Promise<number> {
  const backends = await startDemoBackends(HOST, BACKEND_PORTS);
  const dir = mkdtempSync(join(tmpdir(), 'ballast-demo-'));
  const config = {
    node: { id: 'n1', dataDir: join(dir, 'n1'), adminListen: `${HOST}:${ADMIN_PORT}`, workers: 2 },
    bootstrap: {
      listeners: [
        { name: 'web', mode: 'http', bind: `${HOST}:${HTTP_PORT}`, routes: [{ pathPrefix: '/', pool: 'web' }] },
        { name: 'web-tcp', mode: 'tcp', bind: `${HOST}:${TCP_PORT}`, pool: 'web' },
      ],
      pools: [
        {
          name: 'web',
          scheduler: 'round-robin',
          healthCheck: { type: 'http', path: '/health', interval: '1s', timeout: '500ms', rise: 2, fall: 2 },
          backends: backends.map((b, i) => ({ name: b.name, address: `${HOST}:${b.port}`, weight: i + 1 })),
        },
      ],
    },
  };
  const configPath = join(dir, 'n1.yaml');
  writeFileSync(configPath, stringify(config));

  const { exec, args } = cliEntry();
  const child = spawn(exec, [...args, 'start', '--config', configPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.stdout.write(
    [
      '',
      'Ballast demo (one node; the cluster demo arrives with the cluster work)',
      `  HTTP listener  http://${HOST}:${HTTP_PORT}/   (round-robin over ${backends.map((b) => b.name).join(', ')}, weights 1:2:3)`,
      `  TCP listener   ${HOST}:${TCP_PORT}            (same pool, L4 passthrough)`,
      `  admin          http://${HOST}:${ADMIN_PORT}/readyz`,
      `  config         ${configPath}`,
      `  try            for i in 1 2 3 4 5 6; do curl -s http://${HOST}:${HTTP_PORT}/; done`,
      '  stop           Ctrl-C',
      '',
    ].join('\n'),
  );
  const code = await new Promise<number>((resolve) => {
    const forward = () => child.kill('SIGTERM');
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.once('exit', (c) => resolve(c ?? 0));
  });
  await Promise.all(backends.map((b) => new Promise((r) => b.server.close(r))));
  return code;
}
