// `npm run bench`: Ballast's data-plane benchmark against HAProxy and the direct origin path.
// Starts origins, HAProxy and a real `ballast start` process on loopback, drives them with wrk
// (HTTP) and a bulk TCP client, prints a table with the targets, stops everything it started.
import { get as httpsGet } from 'node:https';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBallast } from './ballast.js';
import { buildBallast } from './ballast-build.js';
import { ChildProcesses, tsEntry, type Tracked } from './children.js';
import { startHaproxy, type LbLayout } from './haproxy.js';
import { groupCpuMs } from './group-cpu.js';
import { H2_CONNECTIONS, H2_STREAMS_PER_CONNECTION, runH2load } from './h2load.js';
import { freePort } from './local-port.js';
import { startNodeFloor } from './node-floor-target.js';
import { describeMachine, formatMachine } from './machine.js';
import { EDGE_SCENARIOS, type EdgeScenario } from './edge-bench.js';
import { runEdgePhase } from './edge-phase.js';
import { startOrigins } from './origins.js';
import { formatSummary, summarize } from './profile-summary.js';
import { describeRun, formatTable, medianOf, NOT_APPLICABLE, NOT_SELECTED, scenarioTitle, verdicts } from './report.js';
import { runBulk } from './tcp-bulk.js';
import { makeBenchCert } from './tls-cert.js';
import type { Cell, Endpoint, Measurement, ScenarioName, ScenarioResult, TargetName } from './types.js';
import { runWrk } from './wrk.js';

const HOST = '127.0.0.1';
const SCENARIOS: readonly ScenarioName[] = ['http-keepalive', 'http-close', 'tcp-bulk', 'tls-handshake', 'https-keepalive', 'h2'];
/** Over the https listener, which only Ballast and HAProxy get (the same self-signed certificate). */
const TLS_SCENARIOS: readonly ScenarioName[] = ['tls-handshake', 'https-keepalive', 'h2'];
const TARGETS: readonly TargetName[] = ['ballast', 'haproxy', 'direct', 'node-floor'];
/** node-floor is an analysis aid (what the runtime alone costs), so only on request. */
const DEFAULT_TARGETS: readonly TargetName[] = ['ballast', 'haproxy', 'direct'];
const USAGE = `usage: npm run bench -- [options]
  --quick               smoke run: 1 round of 3 s runs, 1 s warm-up, 2 GiB bulk, 5 s health phases
  --rounds N            runs per target and scenario, interleaved; the median is shown (default 3)
  --duration S          seconds per measured run (default 4)
  --warmup S            seconds of warm-up before a target's first run of a scenario (default 1)
  --connections N       wrk connections (default 50)
  --threads N           wrk threads (default min(cores, 2))
  --bulk-mib N          TCP bulk MiB per run, bounded by --duration too (default 8192)
  --streams N           concurrent TCP bulk streams (default 1)
  --scenarios LIST      comma list of ${[...SCENARIOS, ...EDGE_SCENARIOS].join(', ')}
                        (tls-handshake, https-keepalive, h2: over TLS, Ballast and HAProxy only; h2 needs h2load;
                        cache-hit: Ballast's cached route vs nginx proxy_cache; rules-cost: Ballast with
                        access rules + request filter + rate limit vs without, scripts/bench/edge-bench.ts)
  --targets LIST        comma list of ${TARGETS.join(', ')} (default ${DEFAULT_TARGETS.join(',')});
                        node-floor: a bare node:http+undici / pipe() balancer (scripts/bench/node-floor.ts)
  --workers N           Ballast workers = HAProxy threads (default: cores)
  --log-level L         Ballast log level (default info, as shipped)
  --from-source         run Ballast's TypeScript through tsx instead of compiled JavaScript (as shipped)
  --cpu-prof DIR        record CPU profiles of Ballast's processes into DIR and summarize them
  --health-seconds S    seconds per health-check phase (http, then tcp; default 10)
  --no-health           skip the health-check overhead phases (scripts/bench/health.ts)
  --json FILE           also write the results as JSON
  --keep                keep the temp dir (configs, logs)
`;

interface Settings {
  rounds: number;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  threads: number;
  bulkBytes: number;
  streams: number;
  workers: number;
  scenarios: ScenarioName[];
  /** Edge scenarios (edge-bench.ts), run after the others while Ballast still runs. */
  edge: EdgeScenario[];
  targets: TargetName[];
  logLevel: string;
  fromSource: boolean;
  cpuProfDir: string | null;
  /** Seconds per health-check phase; 0 skips them. */
  healthSeconds: number;
  jsonPath: string | null;
  keep: boolean;
}

function pickList<T extends string>(text: string | undefined, all: readonly T[], what: string): T[] {
  if (text === undefined) return [...all];
  const picked = text.split(',').map((s) => s.trim());
  for (const p of picked) if (!all.includes(p as T)) throw new Error(`unknown ${what} "${p}" (one of ${all.join(', ')})`);
  return picked as T[];
}

/** --scenarios names both kinds; each goes to its own list. */
function pickScenarios(text: string | undefined): { scenarios: ScenarioName[]; edge: EdgeScenario[] } {
  if (text === undefined) return { scenarios: [...SCENARIOS], edge: [...EDGE_SCENARIOS] };
  const all: readonly string[] = [...SCENARIOS, ...EDGE_SCENARIOS];
  const picked = pickList(text, all, 'scenario');
  return {
    scenarios: SCENARIOS.filter((sc) => picked.includes(sc)),
    edge: EDGE_SCENARIOS.filter((sc) => picked.includes(sc)),
  };
}

function positive(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} must be a positive number, got "${text}"`);
  return n;
}

function parseSettings(argv: string[]): Settings | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      'bulk-mib': { type: 'string' },
      streams: { type: 'string' },
      scenarios: { type: 'string' },
      targets: { type: 'string' },
      workers: { type: 'string' },
      'log-level': { type: 'string' },
      'from-source': { type: 'boolean' },
      'cpu-prof': { type: 'string' },
      'health-seconds': { type: 'string' },
      'no-health': { type: 'boolean' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  const quick = values.quick === true;
  const cores = availableParallelism();
  return {
    rounds: Math.round(positive(values.rounds, quick ? 1 : 3, 'rounds')),
    seconds: positive(values.duration, quick ? 3 : 4, 'duration'),
    warmupSeconds: positive(values.warmup, 1, 'warmup'),
    connections: Math.round(positive(values.connections, 50, 'connections')),
    threads: Math.round(positive(values.threads, Math.min(cores, 2), 'threads')),
    bulkBytes: Math.round(positive(values['bulk-mib'], quick ? 2048 : 8192, 'bulk-mib') * 2 ** 20),
    streams: Math.round(positive(values.streams, 1, 'streams')),
    workers: Math.round(positive(values.workers, cores, 'workers')),
    ...pickScenarios(values.scenarios),
    targets: values.targets === undefined ? [...DEFAULT_TARGETS] : pickList(values.targets, TARGETS, 'target'),
    logLevel: values['log-level'] ?? 'info',
    fromSource: values['from-source'] === true,
    cpuProfDir: values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']),
    healthSeconds: values['no-health'] === true ? 0 : positive(values['health-seconds'], quick ? 5 : 10, 'health-seconds'),
    jsonPath: values.json ?? null,
    keep: values.keep === true,
  };
}

/** Per target: where HTTP and TCP load goes, or why the target is unavailable. */
interface TargetPath {
  http: Endpoint;
  tcp: Endpoint;
  /** The https listener (Ballast and HAProxy, when a TLS scenario is selected). */
  https?: Endpoint;
  /** Process group whose CPU is charged to this target (the origins' for direct). */
  pgid: number;
  /** Its processes record a CPU profile between two SIGUSR2 (cpu-profiler.ts). */
  profiled?: boolean;
}
type Paths = Record<TargetName, Cell<TargetPath>>;

function endpoints(l: LbLayout): { http: Endpoint; tcp: Endpoint; https?: Endpoint } {
  const plain = { http: { host: l.host, port: l.httpPort }, tcp: { host: l.host, port: l.tcpPort } };
  return l.tls ? { ...plain, https: { host: l.host, port: l.tls.port } } : plain;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One GET before loading a target: a wrong answer should be a note, not a fast 404 benchmark. */
async function probeHttp(ep: Endpoint): Promise<void> {
  const res = await fetch(`http://${ep.host}:${ep.port}/`, { signal: AbortSignal.timeout(5000) });
  const body = await res.arrayBuffer();
  if (res.status !== 200 || body.byteLength !== 1024) {
    throw new Error(`probe GET / answered ${res.status} with ${body.byteLength} bytes (want 200, 1024)`);
  }
}

/** The same over TLS; the certificate is our own self-signed one. */
async function probeHttps(ep: Endpoint): Promise<void> {
  const { status, bytes } = await new Promise<{ status: number; bytes: number }>((resolveProbe, reject) => {
    const req = httpsGet({ host: ep.host, port: ep.port, path: '/', rejectUnauthorized: false, timeout: 5000 }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolveProbe({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('https probe timed out')));
    req.on('error', reject);
  });
  if (status !== 200 || bytes !== 1024) throw new Error(`https probe GET / answered ${status} with ${bytes} bytes (want 200, 1024)`);
}

async function measure(
  children: ChildProcesses,
  s: Settings,
  scenario: ScenarioName,
  path: TargetPath,
  warm: boolean,
): Promise<Measurement> {
  const run = async <T extends Measurement>(go: () => Promise<T>): Promise<T> => {
    if (path.profiled) process.kill(-path.pgid, 'SIGUSR2');
    const cpu0 = groupCpuMs(path.pgid);
    const t0 = performance.now();
    const m = await go();
    const cpu1 = groupCpuMs(path.pgid);
    if (path.profiled) process.kill(-path.pgid, 'SIGUSR2');
    m.cpu = cpu0 === null || cpu1 === null ? null : { ms: cpu1 - cpu0, wallMs: performance.now() - t0 };
    return m;
  };
  switch (scenario) {
    case 'http-keepalive':
    case 'http-close': {
      const base = { connections: s.connections, threads: s.threads, close: scenario === 'http-close' };
      if (warm) await runWrk(children, path.http, { ...base, seconds: s.warmupSeconds });
      return run(() => runWrk(children, path.http, { ...base, seconds: s.seconds }));
    }
    case 'tcp-bulk': {
      const bulk = { streams: s.streams, bytes: s.bulkBytes, maxMs: s.warmupSeconds * 1000 };
      if (warm) await runBulk(children, path.tcp, bulk);
      return run(() => runBulk(children, path.tcp, { ...bulk, maxMs: s.seconds * 1000 }));
    }
    case 'tls-handshake':
    case 'https-keepalive': {
      const https = path.https;
      if (!https) throw new Error('no https listener');
      const base = { connections: s.connections, threads: s.threads, close: scenario === 'tls-handshake', https: true };
      if (warm) await runWrk(children, https, { ...base, seconds: s.warmupSeconds });
      return run(() => runWrk(children, https, { ...base, seconds: s.seconds }));
    }
    case 'h2': {
      const https = path.https;
      if (!https) throw new Error('no https listener');
      const base = { connections: H2_CONNECTIONS, threads: s.threads, streams: H2_STREAMS_PER_CONNECTION };
      if (warm) await runH2load(children, https, { ...base, seconds: s.warmupSeconds });
      return run(() => runH2load(children, https, { ...base, seconds: s.seconds }));
    }
    default: {
      const never: never = scenario;
      throw new Error(`unknown scenario ${String(never)}`);
    }
  }
}

/** The health-check benchmark as a child process (its CPU is its own); answers its report. */
async function runHealth(children: ChildProcesses, seconds: number): Promise<string> {
  const { exec, args } = tsEntry('./health.ts');
  const t = children.spawn('health', exec, [...args, '--backends', '200', '--interval', '500', '--seconds', String(seconds)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  t.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  t.child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await t.exited;
  if (code !== 0) throw new Error(`health bench exited ${String(code)}: ${out.trim().slice(0, 600)}`);
  return out.replace(/^/gm, '  ');
}

async function main(argv: string[]): Promise<number> {
  const s = parseSettings(argv);
  if (!s) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const machine = describeMachine();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  process.stdout.write(`Ballast data-plane benchmark\n${formatMachine(machine)}\n`);
  if (machine.load1 > machine.cores / 2) {
    // The load generator, the origins and the balancer already need every core; a neighbour's
    // work lands on the balancer's share, and more on the one that needs more CPU per request.
    process.stdout.write(`WARNING  load ${machine.load1.toFixed(2)} on ${machine.cores} cores: other work is running, figures will be low and noisy\n`);
  }
  process.stdout.write(
    `settings ${s.rounds} round(s) of ${s.seconds} s runs per target, interleaved, median shown; ${s.warmupSeconds} s warm-up first; wrk -t${s.threads} -c${s.connections}; ` +
      `TCP bulk ${s.bulkBytes / 2 ** 20} MiB x ${s.streams} stream(s), bounded by ${s.seconds} s\n` +
      `setup    3 origins in one child process (1 KiB body, keep-alive) + 3 TCP sinks; Ballast: one node, ` +
      `${s.fromSource ? 'TypeScript source through tsx' : 'compiled to JavaScript as shipped (esbuild, ES2022)'}, ${s.workers} workers, http + tcp listener, round-robin, no health checks, log level ${s.logLevel}; ` +
      `HAProxy: nbthread ${s.workers}, roundrobin, no checks, no logging, option forwardfor\n\n`,
  );

  const children = new ChildProcesses();
  const dir = mkdtempSync(join(tmpdir(), 'ballast-bench-'));
  let cleaning: Promise<void> | null = null;
  const cleanup = (ballast: Tracked | null) => {
    cleaning ??= (async () => {
      // Ballast first and gently, so its workers drain and write their CPU profiles.
      if (ballast) await children.stop(ballast, 20_000);
      await children.stopAll(5000);
      if (!s.keep) rmSync(dir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  let ballastProc: Tracked | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    log(`\n${sig}: stopping everything the benchmark started`);
    void cleanup(ballastProc).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => children.killAllNow());

  try {
    const { ready, tracked: originProc } = await startOrigins(children, 3);
    const origins = ready.http.map((port) => ({ host: HOST, port }));
    const sinks = ready.sinks.map((port) => ({ host: HOST, port }));
    const direct = {
      http: origins[0] ?? { host: HOST, port: 0 },
      tcp: sinks[0] ?? { host: HOST, port: 0 },
      pgid: originProc.child.pid ?? 0,
    };
    const cert = s.scenarios.some((sc) => TLS_SCENARIOS.includes(sc)) ? makeBenchCert(dir) : null;
    const layout = async (): Promise<LbLayout> => ({
      host: HOST,
      httpPort: await freePort(),
      tcpPort: await freePort(),
      origins,
      sinks,
      workers: s.workers,
    });
    const tlsLayout = async (): Promise<LbLayout> => {
      const l = await layout();
      return cert ? { ...l, tls: { port: await freePort(), cert } } : l;
    };

    let ballastEdge: { cachePort: number; rulesPort: number; web: number; pgid: number } | undefined;
    const paths: Paths = {
      ballast: { ok: false, reason: NOT_SELECTED },
      haproxy: { ok: false, reason: NOT_SELECTED },
      direct: s.targets.includes('direct') ? { ok: true, value: direct } : { ok: false, reason: NOT_SELECTED },
      'node-floor': { ok: false, reason: NOT_SELECTED },
    };
    if (s.targets.includes('node-floor')) {
      const l = await layout();
      try {
        const t = await startNodeFloor(children, l);
        paths['node-floor'] = { ok: true, value: { ...endpoints(l), pgid: t.child.pid ?? 0 } };
      } catch (err) {
        paths['node-floor'] = { ok: false, reason: errorText(err) };
      }
    }
    if (s.targets.includes('haproxy')) {
      const l = await tlsLayout();
      try {
        const t = await startHaproxy(children, dir, l);
        paths.haproxy = { ok: true, value: { ...endpoints(l), pgid: t.child.pid ?? 0 } };
      } catch (err) {
        paths.haproxy = { ok: false, reason: errorText(err) };
      }
    }
    if (s.targets.includes('ballast')) {
      const l = await tlsLayout();
      try {
        if (s.cpuProfDir) mkdirSync(s.cpuProfDir, { recursive: true });
        const compiledEntry = s.fromSource ? null : await buildBallast();
        const edge = s.edge.length > 0 ? { cachePort: await freePort(), rulesPort: await freePort() } : undefined;
        const run = await startBallast(children, dir, l, { adminPort: await freePort(), logLevel: s.logLevel, cpuProfDir: s.cpuProfDir, compiledEntry, edge });
        if (edge !== undefined) ballastEdge = { ...edge, pgid: run.tracked.child.pid ?? 0, web: l.httpPort };
        ballastProc = run.tracked;
        paths.ballast = { ok: true, value: { ...endpoints(l), pgid: run.tracked.child.pid ?? 0, profiled: s.cpuProfDir !== null } };
      } catch (err) {
        paths.ballast = { ok: false, reason: errorText(err) };
      }
    }
    for (const t of TARGETS) {
      const p = paths[t];
      if (!p.ok || !s.scenarios.some((sc) => sc !== 'tcp-bulk')) continue;
      try {
        await probeHttp(p.value.http);
        if (p.value.https) await probeHttps(p.value.https);
      } catch (err) {
        paths[t] = { ok: false, reason: errorText(err) };
      }
    }

    const results: ScenarioResult[] = [];
    for (const scenario of s.scenarios) {
      const runs = new Map<TargetName, { ok: Measurement[]; failed: string[] }>();
      for (let round = 0; round < s.rounds; round++) {
        // Rotate the order each round, so that a noisy neighbour's burst does not always land on
        // the same target.
        const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length]).filter((t) => t !== undefined);
        for (const t of order) {
          const p = paths[t];
          if (!p.ok || (TLS_SCENARIOS.includes(scenario) && !p.value.https)) continue;
          const mine = runs.get(t) ?? { ok: [], failed: [] };
          runs.set(t, mine);
          const label = `  ${scenarioTitle(scenario, s.connections, s.streams)} via ${t}, run ${round + 1}/${s.rounds}`;
          try {
            const m = await measure(children, s, scenario, p.value, mine.ok.length === 0 && mine.failed.length === 0);
            mine.ok.push(m);
            log(`${label}: ${describeRun(m)}`);
          } catch (err) {
            mine.failed.push(errorText(err));
            log(`${label}: failed: ${errorText(err)}`);
          }
        }
      }
      const cells = {} as ScenarioResult['cells'];
      for (const t of TARGETS) {
        const p = paths[t];
        const mine = runs.get(t);
        const measured = mine ? medianOf(mine.ok, mine.failed) : null;
        if (!p.ok) cells[t] = { ok: false, reason: p.reason };
        else if (TLS_SCENARIOS.includes(scenario) && !p.value.https) cells[t] = { ok: false, reason: NOT_APPLICABLE };
        else if (measured) cells[t] = { ok: true, value: measured };
        else cells[t] = { ok: false, reason: mine?.failed.join('; ') || 'no run' };
      }
      results.push({ scenario, cells });
    }

    if (results.length > 0) process.stdout.write(`\n${formatTable(results, s.connections, s.streams)}\n`);
    const edgeBallast = !paths.ballast.ok ? paths.ballast.reason : (ballastEdge ?? 'Ballast has no edge listeners');
    const edgeResults = s.edge.length > 0 ? await runEdgePhase(children, s, { dir, host: HOST, origins, ballast: edgeBallast }) : [];
    process.stdout.write(
      `\nload ${loadavg()[0]?.toFixed(2) ?? '?'} at end; took ${((Date.now() - started) / 1000).toFixed(0)} s. ` +
        'MB/s = 10^6 bytes/s acknowledged by the sink. CPU = user+system time of the target\'s processes ' +
        '(the origins\' for direct) per request or per GB, and the cores that was. Targets are reported, not asserted.\n',
    );
    if (s.jsonPath) {
      writeFileSync(s.jsonPath, `${JSON.stringify({ machine, settings: s, results, verdicts: verdicts(results), edge: edgeResults }, null, 2)}\n`);
    }

    await cleanup(ballastProc);
    if (s.healthSeconds > 0) {
      // After the data-plane runs and with everything of theirs stopped: the checker's CPU alone.
      process.stdout.write(`\nhealth-check overhead (scripts/bench/health.ts), load avg ${loadavg().map((l) => l.toFixed(2)).join(' / ')} before:\n`);
      try {
        process.stdout.write(await runHealth(children, s.healthSeconds));
      } catch (err) {
        process.stdout.write(`  failed: ${errorText(err)}\n`);
      }
    }
    if (s.cpuProfDir) {
      const files = readdirSync(s.cpuProfDir).filter((f) => f.endsWith('.cpuprofile'));
      if (!files.length) process.stdout.write(`\nno CPU profiles in ${s.cpuProfDir}\n`);
      for (const f of files.sort()) {
        const path = join(s.cpuProfDir, f);
        process.stdout.write(`\n${formatSummary(path, summarize(path))}\n`);
      }
    }
    if (s.keep) process.stdout.write(`\nkept ${dir}\n`);
    return 0;
  } catch (err) {
    log(`bench: ${errorText(err)}`);
    await cleanup(ballastProc);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${errorText(err)}\n`);
    process.exit(1);
  },
);
