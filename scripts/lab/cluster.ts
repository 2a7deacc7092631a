// LabCluster: a 3-node Ballast cluster (linux VIP driver) with 2 HTTP backends in the netns lab, and the
// failover drill's levers: find the leader, kill -9 / SIGTERM / restart a node, pull and plug its cable.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseVipAddress } from '../../cluster/vip/vip-address.js';
import { DrillAgent, type AgentAnswer } from './drill-agent.js';
import { startClientLoop, type ClientLoop, type ClientLoopOptions } from './drill-client.js';
import { pollUntil } from './drill-poll.js';
import { labDown, labUp, setLink, spawnIn, vipHolders } from './topology.js';
import type { Lab, LabHost, LabOptions } from './types.js';

const CLI = fileURLToPath(new URL('../../cli/ballast.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const ADMIN_PORT = 9000;
const PEER_PORT = 7000;
const HTTP_PORT = 8080;
const BACKEND_PORT = 8000;
const SECRET = 'ballast-failover-drill';
const ADMIN = { user: 'admin', password: 'ballast-drill' };

export interface LabClusterOptions extends LabOptions {
  /** Raft timers as config durations; absent: the node's defaults (100ms, 1s). */
  heartbeat?: string;
  electionTimeout?: string;
  /** The nodes' pino level (their logs go to a file per node). Default info: the drill reads VIP lines. */
  logLevel?: string;
  /** Bound on starting the whole cluster, and on one node's restart. Default 180 s (a 2-core box loaded by others). */
  startTimeoutMs?: number;
}

/** GET /readyz as a node answers it. */
export interface NodeReadiness {
  ready: boolean;
  reason: string;
  listeners: Record<string, number>;
  node: { id: string; role: string; leader: string | null; vipHeld: boolean };
}

/** One pino line of a node's log. */
export interface NodeLogLine {
  time: number;
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface LabClusterNode {
  id: string;
  host: LabHost;
  configPath: string;
  logPath: string;
  adminUrl: string;
  /** The running daemon (`ip netns exec` execs in place, so its pid is the daemon's), or null once it exited. */
  proc: ChildProcess | null;
}

// Plain JavaScript, run by a bare `node` in a backend namespace: names itself and the node that proxied.
const BACKEND = `
const http = require('node:http');
const [name, port] = process.argv.slice(1);
http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  res.setHeader('content-type', 'application/json');
  // /slow/MS answers after MS ms: a request still in flight when something happens.
  const delay = req.url.startsWith('/slow/') ? Math.min(10000, Number(req.url.slice(6)) || 0) : 0;
  setTimeout(() => res.end(JSON.stringify({ backend: name, via: req.socket.remoteAddress })), delay);
}).listen(Number(port), '0.0.0.0', () => console.log('listening'));
`;

function childEnv(logLevel: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BALLAST_LOG_LEVEL: logLevel };
  // A daemon spawned from a test file must not believe it is a test-runner child itself.
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

function alive(proc: ChildProcess | null): proc is ChildProcess {
  return proc !== null && proc.exitCode === null && proc.signalCode === null;
}

export class LabCluster {
  readonly nodes: LabClusterNode[];
  readonly vipIp: string;
  readonly url: string;
  private readonly agents = new Map<string, DrillAgent>();
  private readonly backends: ChildProcess[] = [];
  private readonly loops: ClientLoop[] = [];
  private closed = false;

  private constructor(
    readonly lab: Lab,
    readonly dir: string,
    private readonly options: LabClusterOptions,
  ) {
    this.vipIp = parseVipAddress(lab.vip).ip;
    this.url = `http://${this.vipIp}:${HTTP_PORT}/`;
    this.nodes = lab.nodes.map((host) => ({
      id: host.name,
      host,
      configPath: join(dir, `${host.name}.yaml`),
      logPath: join(dir, `${host.name}.log`),
      adminUrl: `http://${host.address}:${ADMIN_PORT}`,
      proc: null,
    }));
  }

  /**
   * Builds the lab, starts the backends and the three nodes, and resolves once a leader holds the VIP
   * and the client gets a 200 through it. On failure everything started is torn down again.
   */
  static async start(options: LabClusterOptions = {}): Promise<LabCluster> {
    const lab = await labUp(options);
    const cluster = new LabCluster(lab, mkdtempSync(join(tmpdir(), 'ballast-drill-')), options);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.close().catch(() => undefined);
      throw err;
    }
    return cluster;
  }

  private get startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? 180_000;
  }

  private async boot(): Promise<void> {
    await Promise.all(this.lab.backends.map((b) => this.startBackend(b)));
    for (const n of this.nodes) {
      writeFileSync(n.configPath, stringify(this.configFor(n)));
      this.spawnNode(n);
    }
    await Promise.all(this.nodes.map((n) => this.waitReady(n.id)));
    await this.waitForLeader({ timeoutMs: this.startTimeoutMs });
    await this.waitServing(this.startTimeoutMs);
  }

  private configFor(n: LabClusterNode): Record<string, unknown> {
    const timers = {
      ...(this.options.heartbeat ? { heartbeat: this.options.heartbeat } : {}),
      ...(this.options.electionTimeout ? { electionTimeout: this.options.electionTimeout } : {}),
    };
    return {
      node: {
        id: n.id,
        dataDir: join(this.dir, n.id),
        adminListen: `${n.host.address}:${ADMIN_PORT}`,
        clusterListen: `${n.host.address}:${PEER_PORT}`,
        workers: 1,
      },
      cluster: {
        secret: SECRET,
        peers: this.nodes.map((p) => ({ id: p.id, address: `${p.host.address}:${PEER_PORT}` })),
        vip: { address: this.lab.vip, interface: n.host.iface, driver: 'linux' },
        ...timers,
      },
      admin: ADMIN,
      bootstrap: {
        listeners: [{ name: 'web', mode: 'http', bind: `0.0.0.0:${HTTP_PORT}`, routes: [{ pathPrefix: '/', pool: 'web' }] }],
        pools: [
          {
            name: 'web',
            healthCheck: { type: 'http', path: '/health', interval: '1s', timeout: '500ms', rise: 2, fall: 2 },
            backends: this.lab.backends.map((b) => ({ name: b.name, address: `${b.address}:${BACKEND_PORT}` })),
          },
        ],
      },
    };
  }

  private async startBackend(host: LabHost): Promise<void> {
    const child = spawnIn(host.ns, process.execPath, ['-e', BACKEND, host.name, String(BACKEND_PORT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.backends.push(child);
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => Promise.reject(new Error(`backend ${host.name} exited`)))]);
    } finally {
      clearTimeout(timer);
      lines.close();
    }
  }

  private spawnNode(n: LabClusterNode): void {
    const fd = openSync(n.logPath, 'a');
    try {
      n.proc = spawnIn(n.host.ns, process.execPath, ['--import', TSX, CLI, 'start', '--config', n.configPath], {
        stdio: ['ignore', fd, fd],
        env: childEnv(this.options.logLevel ?? 'info'),
      });
    } finally {
      closeSync(fd);
    }
  }

  node(id: string): LabClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no lab node "${id}"`);
    return n;
  }

  /** The node whose primary address is `address` (the backends report it as `via`). */
  nodeByAddress(address: string | null): string | null {
    return this.nodes.find((n) => n.host.address === address)?.id ?? null;
  }

  running(id: string): boolean {
    return alive(this.node(id).proc);
  }

  private agent(ns: string): DrillAgent {
    let a = this.agents.get(ns);
    if (!a) {
      a = DrillAgent.start(ns);
      this.agents.set(ns, a);
    }
    return a;
  }

  /** /readyz of `id`, asked from inside its own namespace (so it answers even while partitioned); null if it does not. */
  async readyz(id: string, timeoutMs = 1500): Promise<NodeReadiness | null> {
    const n = this.node(id);
    if (!alive(n.proc)) return null;
    try {
      const res = await this.agent(n.host.ns).request(`${n.adminUrl}/readyz`, { timeoutMs });
      return JSON.parse(res.body) as NodeReadiness;
    } catch {
      return null;
    }
  }

  /** A REST call to `id`'s admin API as the config's admin user (HTTP Basic), from inside `id`'s namespace. */
  api(id: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AgentAnswer> {
    const n = this.node(id);
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.agent(n.host.ns).request(`${n.adminUrl}${path}`, {
      method,
      headers,
      timeoutMs: 5000,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  /** Waits until `id` is ready (serving, knows a leader, workers applied the state). */
  waitReady(id: string, timeoutMs = this.startTimeoutMs): Promise<NodeReadiness> {
    return pollUntil(
      async () => {
        const n = this.node(id);
        if (!alive(n.proc)) throw new Error(`node ${id} is not running (see ${n.logPath})`);
        const r = await this.readyz(id);
        return r?.ready ? r : null;
      },
      { timeoutMs, intervalMs: 200, what: `node ${id} to be ready` },
    );
  }

  /**
   * Waits for one leader among `among` (default: the running nodes) that reports holding the VIP,
   * with the kernel agreeing that its namespace, and only it among them, carries the address.
   */
  waitForLeader(opts: { timeoutMs: number; among?: readonly string[]; not?: string }): Promise<string> {
    return pollUntil(
      async () => {
        const ids = (opts.among ?? this.nodes.map((n) => n.id)).filter((id) => id !== opts.not && this.running(id));
        const views = await Promise.all(ids.map((id) => this.readyz(id)));
        const leaders = ids.filter((_, i) => views[i]?.node.role === 'leader' && views[i]?.node.vipHeld === true);
        if (leaders.length !== 1) return null;
        const id = leaders[0]!;
        const holders = await vipHolders(this.lab.vip, { among: ids.map((x) => this.node(x).host.ns) });
        return holders.length === 1 && holders[0] === this.node(id).host.ns ? id : null;
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 100, what: 'a leader holding the VIP' },
    );
  }

  /** Waits until the client gets a 200 through the VIP; resolves with the serving node's id. */
  waitServing(timeoutMs: number): Promise<string> {
    return pollUntil(
      async () => {
        const res = await this.agent(this.lab.client.ns).request(this.url, { timeoutMs: 800 });
        if (res.status !== 200) return null;
        const via = (JSON.parse(res.body) as { via?: string }).via ?? null;
        return this.nodeByAddress(via);
      },
      { timeoutMs, intervalMs: 100, what: 'the client to be served through the VIP' },
    );
  }

  /**
   * Sends `signal` to `id`'s daemon by pid. `sentAt` is when (ms since the epoch); `exited` settles once the
   * daemon is gone (SIGKILLed after `exitTimeoutMs`). SIGKILL leaves whatever the daemon had configured, as a crash does.
   */
  signal(id: string, signal: NodeJS.Signals, exitTimeoutMs = 30_000): { sentAt: number; exited: Promise<void> } {
    const proc = this.node(id).proc;
    if (!alive(proc) || proc.pid === undefined) throw new Error(`node ${id} is not running`);
    const exit = once(proc, 'exit');
    const sentAt = Date.now();
    process.kill(proc.pid, signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), exitTimeoutMs);
    return { sentAt, exited: exit.then(() => clearTimeout(timer)) };
  }

  /** kill -9 of `id`'s daemon; resolves with the time the signal was sent, once the process is gone. */
  async kill(id: string): Promise<number> {
    const { sentAt, exited } = this.signal(id, 'SIGKILL');
    await exited;
    return sentAt;
  }

  /** Starts `id` again from its config and data dir; resolves once it is ready. */
  async restart(id: string, timeoutMs = this.startTimeoutMs): Promise<NodeReadiness> {
    const n = this.node(id);
    if (alive(n.proc)) throw new Error(`node ${id} is still running`);
    this.spawnNode(n);
    return this.waitReady(id, timeoutMs);
  }

  /** Pulls `id`'s cable (its bridge port goes down; the node keeps running and sees NO-CARRIER). */
  partition(id: string): Promise<void> {
    return setLink(this.node(id).host.ns, false);
  }

  heal(id: string): Promise<void> {
    return setLink(this.node(id).host.ns, true);
  }

  /** One request from the client namespace through the VIP (path e.g. "slow/800"). */
  viaVip(path: string, timeoutMs: number): Promise<AgentAnswer> {
    return this.agent(this.lab.client.ns).request(`${this.url}${path}`, { timeoutMs });
  }

  /** Starts the bounded client loop inside the client namespace against the VIP. */
  client(options: ClientLoopOptions = {}): ClientLoop {
    const loop = startClientLoop(this.lab.client.ns, this.url, options);
    this.loops.push(loop);
    return loop;
  }

  /** `id`'s log lines (pino JSON) at or after `sinceMs`. */
  logs(id: string, sinceMs = 0): NodeLogLine[] {
    let text: string;
    try {
      text = readFileSync(this.node(id).logPath, 'utf8');
    } catch {
      return [];
    }
    const out: NodeLogLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as NodeLogLine;
        if (typeof entry.time === 'number' && entry.time >= sinceMs) out.push(entry);
      } catch {
        // a torn last line while the node writes
      }
    }
    return out;
  }

  /** Stops the loops, agents, nodes and backends, removes the lab and (unless `keepDir`) the temp dir. */
  async close(keepDir = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.loops.map((l) => l.stop().catch(() => undefined)));
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => undefined)));
    for (const n of this.nodes) if (alive(n.proc)) n.proc.kill('SIGKILL');
    for (const b of this.backends) if (alive(b)) b.kill('SIGKILL');
    try {
      await labDown({ prefix: this.lab.prefix });
    } finally {
      if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
