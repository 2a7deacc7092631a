// Ballast under test: a one-node config with an http and a tcp listener over the benchmark's
// origins, run as shipped (`ballast start --config FILE`, a separate process with its workers).
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { ListenerInput } from '../../config/schema.js';
import type { ChildProcesses, Tracked } from './children.js';
import type { LbLayout } from './haproxy.js';
import { waitListening } from './local-port.js';

export interface BallastRun {
  tracked: Tracked;
  adminUrl: string;
  logPath: string;
}

export interface BallastOptions {
  adminPort: number;
  logLevel: string;
  /** Directory for V8 CPU profiles of the node and its workers (cpu-profiler.ts), or null. */
  cpuProfDir: string | null;
  /** Compiled CLI entry (ballast-build.ts) to run, or null for the TypeScript source through tsx. */
  compiledEntry: string | null;
  /** The edge scenarios' listeners, when one of them is selected. */
  edge?: EdgeListeners | undefined;
}

/** Extra http listeners for the edge scenarios (edge-bench.ts), over the same web pool. */
export interface EdgeListeners {
  /** A route with the response cache on (the origin marks /cached/ responses cacheable). */
  cachePort: number;
  /** Access rules, the request filter and a rate limit too high to refuse anything. */
  rulesPort: number;
}

/** The listeners edge-bench.ts measures; "rules off" is the plain `web` listener. */
export function edgeListeners(l: Pick<LbLayout, 'host'>, e: EdgeListeners): ListenerInput[] {
  return [
    { name: 'cached', mode: 'http', bind: `${l.host}:${e.cachePort}`, routes: [{ pathPrefix: '/', pool: 'web', cache: {} }] },
    {
      name: 'rules',
      mode: 'http',
      bind: `${l.host}:${e.rulesPort}`,
      routes: [{ pathPrefix: '/', pool: 'web' }],
      access: { allow: ['127.0.0.0/8', '::1'], deny: ['127.0.0.99', '10.0.0.0/8', '2001:db8::/32'] },
      filter: { mode: 'block' },
      // Leases of 1/20 s of rate: a worker asks the node for tokens a few times a second at most.
      rateLimits: [{ key: 'ip', rate: '100000/s', burst: 200000 }],
    },
  ];
}

/** The raw config file object (what an operator writes), not the normalized NodeConfig. */
export function ballastConfig(dir: string, l: LbLayout, adminPort: number, edge?: EdgeListeners): Record<string, unknown> {
  const backends = (eps: LbLayout['origins'], prefix: string) =>
    eps.map((e, i) => ({ name: `${prefix}${i + 1}`, address: `${e.host}:${e.port}` }));
  return {
    node: { id: 'bench', dataDir: join(dir, 'ballast-data'), adminListen: `${l.host}:${adminPort}`, workers: l.workers },
    admin: { user: 'admin', password: 'bench-password' },
    bootstrap: {
      listeners: [
        { name: 'web', mode: 'http', bind: `${l.host}:${l.httpPort}`, routes: [{ pathPrefix: '/', pool: 'web' }] },
        { name: 'bulk', mode: 'tcp', bind: `${l.host}:${l.tcpPort}`, pool: 'bulk' },
        // http2 is on by default with tls: ALPN offers h2 and http/1.1, as HAProxy's bind does.
        ...(l.tls
          ? [{ name: 'secure', mode: 'http', bind: `${l.host}:${l.tls.port}`, routes: [{ pathPrefix: '/', pool: 'web' }],
              tls: { certificates: [{ certFile: l.tls.cert.certFile, keyFile: l.tls.cert.keyFile }] } }]
          : []),
        ...(edge === undefined ? [] : edgeListeners(l, edge)),
      ],
      // No healthCheck: the pools treat every backend as up, as HAProxy does without `check`.
      pools: [
        { name: 'web', scheduler: 'round-robin', backends: backends(l.origins, 'o') },
        { name: 'bulk', scheduler: 'round-robin', backends: backends(l.sinks, 's') },
      ],
    },
  };
}

function cliScript(): string {
  return fileURLToPath(new URL('../../cli/ballast.ts', import.meta.url));
}

async function readyz(url: string): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

export async function startBallast(children: ChildProcesses, dir: string, l: LbLayout, opts: BallastOptions): Promise<BallastRun> {
  const configPath = join(dir, 'ballast.yaml');
  writeFileSync(configPath, stringify(ballastConfig(dir, l, opts.adminPort, opts.edge)));
  const logPath = join(dir, 'ballast.log');
  const log = openSync(logPath, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, BALLAST_LOG_LEVEL: opts.logLevel };
  if (opts.cpuProfDir) {
    // NODE_OPTIONS reaches the workers too (node:cluster forks inherit the environment); tsx
    // first, since NODE_OPTIONS imports run before the command line's.
    const profiler = new URL('./cpu-profiler.ts', import.meta.url).href;
    env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --import ${import.meta.resolve('tsx')} --import ${profiler}`.trim();
    env['BENCH_CPU_PROF_DIR'] = opts.cpuProfDir;
    // Record only the measured runs: run.ts sends SIGUSR2 to the process group around each one.
    env['BENCH_CPU_PROF_WINDOW'] = '1';
  }
  const entry = opts.compiledEntry === null ? ['--import', import.meta.resolve('tsx'), cliScript()] : [opts.compiledEntry];
  const tracked = children.spawn('ballast', process.execPath, [...entry, 'start', '--config', configPath], { stdio: ['ignore', log, log], env });
  let exit: string | null = null;
  void tracked.exited.then((c) => (exit = `ballast exited (${String(c)})`));
  const adminUrl = `http://${l.host}:${opts.adminPort}`;
  // A worker that cannot load its engines crash-loops; say so instead of waiting out the bound.
  const gone = () => {
    if (exit) return `${exit}; log ${logPath}: ${tail(logPath)}`;
    const crashes = readFileSync(logPath, 'utf8').split('\n').filter((line) => line.includes('worker exited')).length;
    return crashes >= 2 * l.workers ? `ballast workers keep exiting; log ${logPath}: ${tail(logPath)}` : null;
  };
  await waitListening(l.host, opts.adminPort, 30_000, gone);
  const deadline = Date.now() + 30_000;
  let last: { status: number; body: string } | null = null;
  while (Date.now() < deadline) {
    const why = gone();
    if (why !== null) throw new Error(why);
    last = await readyz(adminUrl);
    if (last?.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (last?.status !== 200) throw new Error(`ballast not ready within 30s: ${last?.body ?? 'no answer'}; log ${logPath}`);
  await waitListening(l.host, l.httpPort, 5000, gone);
  await waitListening(l.host, l.tcpPort, 5000, gone);
  if (l.tls) await waitListening(l.host, l.tls.port, 5000, gone);
  for (const port of opts.edge === undefined ? [] : [opts.edge.cachePort, opts.edge.rulesPort]) await waitListening(l.host, port, 5000, gone);
  return { tracked, adminUrl, logPath };
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 600);
  } catch {
    return '(no log)';
  }
}
