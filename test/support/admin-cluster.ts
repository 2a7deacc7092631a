// A real three-node Ballast cluster on loopback for the admin API and panel tests: three origins,
// three `ballast start` processes (noop VIP), each serving the replicated listeners on its own
// 127.0.0.x, and small bounded helpers to call the API and wait for what the tests look for.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { readiness, startNodeProcess, type NodeProcess } from './node-process.js';
import { startOrigin, type Origin } from './origin-server.js';

export const ADMIN = { user: 'admin', password: 'panel-test-password' };
const AUTH = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

export interface ClusterNode {
  id: string;
  /** Loopback address this node's data-plane listeners bind (node.listenHost). */
  host: string;
  proc: NodeProcess;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export interface AdminCluster {
  nodes: ClusterNode[];
  origins: Origin[];
  node(id: string): ClusterNode;
  /** Basic-auth call of an API path on a node; any status, JSON body (null when none). */
  call<T = unknown>(node: string, method: string, path: string, body?: unknown): Promise<ApiAnswer<T>>;
  /** Basic-auth GET that must answer 2xx. */
  api<T>(node: string, path: string): Promise<T>;
  /** The node the cluster says is leader (waits for one, bounded). */
  leader(timeoutMs?: number): Promise<string>;
  /** Port a node's workers bound for a listener, waiting (bounded) until they report one. */
  port(node: string, listener: string, timeoutMs?: number): Promise<number>;
  /** SIGKILL one node (the others keep running). */
  kill(node: string): Promise<void>;
  stop(): Promise<void>;
}

/** Polls `probe` until it returns a value (not undefined), at most `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startAdminCluster(): Promise<AdminCluster> {
  const origins = await Promise.all(['b1', 'b2', 'b3'].map((n) => startOrigin(n)));
  const dir = mkdtempSync(join(tmpdir(), 'ballast-admin-it-'));
  const specs = await Promise.all(
    ['n1', 'n2', 'n3'].map(async (id, i) => ({ id, host: `127.0.0.${i + 1}`, admin: await freePort(), peer: await freePort() })),
  );
  const config = (s: (typeof specs)[number]) => ({
    node: { id: s.id, dataDir: join(dir, s.id), adminListen: `127.0.0.1:${s.admin}`, clusterListen: `127.0.0.1:${s.peer}`, listenHost: s.host, workers: 1 },
    cluster: {
      secret: 'panel-test-cluster-secret',
      peers: specs.map((p) => ({ id: p.id, address: `127.0.0.1:${p.peer}` })),
      vip: { address: '198.18.0.100/24', interface: 'lo', driver: 'noop' },
      // The tests share a loaded 2-core machine with browsers and other suites: at the default 1 s
      // a starved event loop costs the leader its term now and then, which these tests are not about.
      heartbeat: '250ms',
      electionTimeout: '3s',
    },
    admin: ADMIN,
    bootstrap: {
      listeners: [{ name: 'web', mode: 'http', bind: '0.0.0.0:0', routes: [{ pathPrefix: '/', pool: 'web' }] }],
      pools: [
        {
          name: 'web',
          scheduler: 'round-robin',
          healthCheck: { type: 'http', path: '/health', interval: '500ms', timeout: '300ms', rise: 1, fall: 2 },
          backends: origins.map((o) => ({ name: o.name, address: o.address })),
        },
      ],
    },
  });
  const started: NodeProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await Promise.all(origins.map((o) => o.close()));
  };
  try {
    const procs = await Promise.all(specs.map((s) => startNodeProcess(config(s), 90_000).then((p) => (started.push(p), p))));
    const nodes: ClusterNode[] = specs.map((s, i) => ({ id: s.id, host: s.host, proc: procs[i] as NodeProcess }));
    const node = (id: string) => {
      const n = nodes.find((x) => x.id === id);
      if (!n) throw new Error(`no node ${id}`);
      return n;
    };
    const call = async <T>(id: string, method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> => {
      const res = await fetch(`${node(id).proc.admin}${path}`, {
        method,
        headers: { authorization: AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
    };
    const api = async <T>(id: string, path: string): Promise<T> => {
      const r = await call<T>(id, 'GET', path);
      if (r.status >= 300) throw new Error(`${id} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const live = () => nodes.filter((n) => n.proc.proc.exitCode === null && n.proc.proc.signalCode === null);
    const leader = (timeoutMs = 30_000) =>
      eventually('a leader', timeoutMs, async () => {
        for (const n of live()) {
          const c = await api<{ leader: string | null }>(n.id, '/api/v1/cluster').catch(() => null);
          if (c?.leader) return c.leader;
        }
        return undefined;
      }, 200);
    // A node reports ready as soon as its workers applied the state it has; right after the
    // election that may still be the empty state from before the bootstrap commit.
    const port = (id: string, listener: string, timeoutMs = 30_000) =>
      eventually(`${id} listening for ${listener}`, timeoutMs, async () => {
        const r = await readiness(node(id).proc.admin);
        const p = r?.listeners[listener];
        if (p === undefined || p <= 0) return undefined;
        node(id).proc.ports = r?.listeners ?? {};
        return p;
      });
    await Promise.all(nodes.map((n) => port(n.id, 'web', 60_000)));
    return {
      nodes,
      origins,
      node,
      call,
      api,
      leader,
      port,
      kill: async (id) => {
        await node(id).proc.stop('SIGKILL');
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
