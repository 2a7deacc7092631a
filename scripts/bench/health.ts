// Health-check benchmark: the real HealthMonitor and checkers against 200 local HTTP backends, every 500ms.
// Backends run in a child process (this file with --serve) so the CPU measured is the checking side only.
// Usage: node --import tsx scripts/bench/health.ts [--backends 200] [--interval 500] [--seconds 10] [--types http,tcp]
// (`npm run bench` runs it after the data-plane runs and prints its report with theirs.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { realClock } from '../../lb/health/clock.js';
import { HttpChecker } from '../../lb/health/http-checker.js';
import { HealthMonitor } from '../../lb/health/monitor.js';
import { TcpChecker } from '../../lb/health/tcp-checker.js';
import type { CheckResult, CheckTarget, CheckType, Checker } from '../../lb/health/types.js';
import type { HealthCheckSpec, HealthTable, PoolSpec } from '../../lb/types.js';

const HOST = '127.0.0.1';
/** Hard bound on the whole run, whatever happens. */
const WATCHDOG_MS = 90_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

/** Child mode: N HTTP servers answering "ok", ports printed as one JSON line; exits when stdin closes. */
async function serve(count: number): Promise<void> {
  const servers: http.Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
    });
    server.on('connection', (s) => s.on('error', () => {})); // probes reset their connections
    server.listen(0, HOST);
    await once(server, 'listening');
    servers.push(server);
  }
  process.stdout.write(`${JSON.stringify(servers.map((s) => (s.address() as AddressInfo).port))}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
  setTimeout(() => process.exit(0), WATCHDOG_MS).unref();
}

interface Tally {
  done: number;
  failed: number;
  durations: number[];
  reasons: Map<string, number>;
}

/** Wraps a real checker to count completions; adds one closure per check, nothing measurable. */
function counting(inner: Checker, tally: Tally): Checker {
  return {
    async check(target: CheckTarget, spec: HealthCheckSpec, signal: AbortSignal): Promise<CheckResult> {
      const r = await inner.check(target, spec, signal);
      tally.done++;
      tally.durations.push(r.durationMs);
      if (!r.ok) {
        tally.failed++;
        tally.reasons.set(r.reason, (tally.reasons.get(r.reason) ?? 0) + 1);
      }
      return r;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function round(type: CheckType, ports: number[], intervalMs: number, seconds: number): Promise<void> {
  const tally: Tally = { done: 0, failed: 0, durations: [], reasons: new Map() };
  const checkers: Record<CheckType, Checker> = {
    http: counting(new HttpChecker(), tally),
    tcp: counting(new TcpChecker(), tally),
  };
  const spec: HealthCheckSpec = {
    type,
    intervalMs,
    timeoutMs: Math.min(1000, intervalMs - 1),
    rise: 2,
    fall: 3,
    fastIntervalMs: intervalMs,
    downIntervalMs: intervalMs,
    method: 'GET',
    path: '/health',
    expectStatus: [{ from: 200, to: 399 }],
    expectBody: 'ok',
  };
  const pool: PoolSpec = {
    name: 'bench',
    scheduler: 'round-robin',
    healthCheck: spec,
    slowStartMs: 0,
    backends: ports.map((port, i) => ({
      name: `b${i}`,
      host: HOST,
      port,
      weight: 1,
      state: 'active' as const,
      backup: false,
      maxConns: 0,
    })),
  };
  const health: HealthTable = {
    bench: Object.fromEntries(pool.backends.map((b) => [b.name, { status: 'up' as const, reason: '', since: 0 }])),
  };
  let transitions = 0;
  const monitor = new HealthMonitor({
    clock: realClock,
    random: Math.random,
    checkers,
    onTransition: () => void transitions++,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });

  monitor.update([pool], health);
  // First checks are spread over one interval; measure the steady state after it.
  await new Promise((r) => setTimeout(r, intervalMs));
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const startDone = tally.done;
  const startFailed = tally.failed;
  const startDurations = tally.durations.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const checks = tally.done - startDone;
  const failed = tally.failed - startFailed;
  const reasons = [...tally.reasons].map(([r, n]) => ` ${r} x${n}`).join(',');
  lag.disable();
  await monitor.stop();

  const cpuMs = (cpu.user + cpu.system) / 1000;
  const durations = tally.durations.slice(startDurations).sort((a, b) => a - b);
  const ideal = (ports.length * 1000) / intervalMs;
  console.log(`${type} checks${type === 'http' ? ' (GET /health, expect 200-399 and body "ok")' : ''}:`);
  console.log(`  completed   ${checks} in ${(wallMs / 1000).toFixed(1)}s = ${((checks * 1000) / wallMs).toFixed(1)}/s (schedule asks ${ideal}/s)`);
  console.log(`  failed      ${failed} in the window (reasons over the whole run:${reasons || ' none'}); transitions ${transitions}`);
  console.log(`  duration    p50 ${percentile(durations, 50).toFixed(2)}ms  p99 ${percentile(durations, 99).toFixed(2)}ms  max ${percentile(durations, 100).toFixed(2)}ms`);
  console.log(
    `  CPU         ${cpuMs.toFixed(0)}ms user+sys = ${((cpuMs * 1000) / Math.max(1, checks)).toFixed(0)}µs per check, ` +
      `${((cpuMs / wallMs) * 100).toFixed(1)}% of one core`,
  );
  console.log(`  loop delay  p99 ${(lag.percentile(99) / 1e6).toFixed(1)}ms  max ${(lag.max / 1e6).toFixed(1)}ms`);
}

function types(): CheckType[] {
  const i = process.argv.indexOf('--types');
  if (i < 0) return ['http', 'tcp'];
  const picked = (process.argv[i + 1] ?? '').split(',');
  for (const t of picked) if (t !== 'http' && t !== 'tcp') throw new Error(`--types: unknown check type "${t}" (http, tcp)`);
  return picked as CheckType[];
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve');
  if (serveAt >= 0) {
    await serve(Number(process.argv[serveAt + 1]));
    return;
  }
  const backends = flag('backends', 200);
  const intervalMs = flag('interval', 500);
  const seconds = flag('seconds', 10);
  setTimeout(() => {
    console.error(`health bench: still running after ${WATCHDOG_MS}ms, giving up`);
    process.exit(2);
  }, WATCHDOG_MS).unref();

  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', String(backends)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const ports = JSON.parse(line) as number[];
    console.log(`health bench: ${ports.length} HTTP backends on ${HOST} (child process), every ${intervalMs}ms, ${seconds}s per type, Node ${process.version}`);
    for (const type of types()) await round(type, ports, intervalMs, seconds);
  } finally {
    child.stdin.end();
    child.kill();
  }
}

await main();
