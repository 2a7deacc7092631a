// `ballast demo`: a whole appliance on loopback. Starts demo backends, writes one config per node,
// runs three real `ballast start` processes as a Raft cluster (noop VIP driver) and prints where
// to send traffic, where the panel is and how to watch a failover.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startDemoBackends } from './demo-backends.js';

const BACKEND_HOST = '127.0.0.1';
const BACKEND_PORTS = [9101, 9102, 9103];
const NODES = [
  { id: 'n1', host: '127.0.0.1', admin: 9001, peer: 17101 },
  { id: 'n2', host: '127.0.0.2', admin: 9002, peer: 17102 },
  { id: 'n3', host: '127.0.0.3', admin: 9003, peer: 17103 },
];
const HTTP_PORT = 8080;
const TCP_PORT = 8081;
const SECRET = 'ballast-demo-cluster-secret';
const ADMIN_PASSWORD = 'ballast-demo';

function cliEntry(): { exec: string; args: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(fromSource ? './ballast.ts' : './ballast.js', import.meta.url));
  return { exec: process.execPath, args: fromSource ? ['--import', import.meta.resolve('tsx'), script] : [script] };
}

function nodeConfig(dir: string, node: (typeof NODES)[number], backends: { name: string; port: number }[]) {
  return {
    node: {
      id: node.id,
      dataDir: join(dir, node.id),
      adminListen: `127.0.0.1:${node.admin}`,
      clusterListen: `127.0.0.1:${node.peer}`,
      // Three nodes share one host: each serves the replicated listeners on its own loopback address.
      listenHost: node.host,
      workers: 1,
    },
    cluster: {
      secret: SECRET,
      peers: NODES.map((n) => ({ id: n.id, address: `127.0.0.1:${n.peer}` })),
      vip: { address: '198.18.0.100/24', interface: 'lo', driver: 'noop' },
    },
    admin: { user: 'admin', password: ADMIN_PASSWORD },
    bootstrap: {
      listeners: [
        { name: 'web', mode: 'http', bind: `0.0.0.0:${HTTP_PORT}`, routes: [{ pathPrefix: '/', pool: 'web' }] },
        { name: 'web-tcp', mode: 'tcp', bind: `0.0.0.0:${TCP_PORT}`, pool: 'web' },
      ],
      pools: [
        {
          name: 'web',
          scheduler: 'round-robin',
          healthCheck: { type: 'http', path: '/health', interval: '1s', timeout: '500ms', rise: 2, fall: 2 },
          backends: backends.map((b, i) => ({ name: b.name, address: `${BACKEND_HOST}:${b.port}`, weight: i + 1 })),
        },
      ],
    },
  };
}

export async function runDemo(_args: string[]): Promise<number> {
  const backends = await startDemoBackends(BACKEND_HOST, BACKEND_PORTS);
  const dir = mkdtempSync(join(tmpdir(), 'ballast-demo-'));
  const { exec, args } = cliEntry();
  const children: ChildProcess[] = NODES.map((node) => {
    const configPath = join(dir, `${node.id}.yaml`);
    writeFileSync(configPath, stringify(nodeConfig(dir, node, backends)));
    return spawn(exec, [...args, 'start', '--config', configPath], { stdio: ['ignore', 'inherit', 'inherit'] });
  });
  process.stdout.write(
    [
      '',
      'Ballast demo: a 3-node cluster on loopback (noop VIP driver), 3 demo backends',
      ...NODES.map((n, i) => `  ${n.id}  panel http://127.0.0.1:${n.admin}/   traffic http://${n.host}:${HTTP_PORT}/ (tcp ${n.host}:${TCP_PORT})   pid ${children[i]?.pid ?? '?'}`),
      `  login        admin / ${ADMIN_PASSWORD}`,
      `  backends     ${backends.map((b) => `${b.name} ${BACKEND_HOST}:${b.port}`).join(', ')} (round-robin, weights 1:2:3)`,
      `  who leads    curl -s http://127.0.0.1:9001/readyz   (node.role, node.leader)`,
      '  failover     kill -9 the leader\'s pid: another node takes over (and the VIP) within a few seconds',
      `  data         ${dir}`,
      '  stop         Ctrl-C',
      '',
    ].join('\n'),
  );
  const exits = children.map((c) => new Promise<number>((resolve) => c.once('exit', (code) => resolve(code ?? 0))));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    // If every node is gone there is nothing left to demo.
    void Promise.all(exits).then(() => resolve());
  });
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const codes = await Promise.all(exits);
  await Promise.all(backends.map((b) => new Promise((r) => b.server.close(r))));
  return codes.some((c) => c !== 0) ? 1 : 0;
}
