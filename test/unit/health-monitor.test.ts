// HealthMonitor timing and hysteresis on a manual clock with a scripted checker (the timing is the unit under test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ManualClock } from '../../lb/health/clock.js';
import { HealthMonitor, RECHECK_SPREAD_MS } from '../../lb/health/monitor.js';
import type { CheckResult, CheckTarget, Checker, HealthTransition } from '../../lb/health/types.js';
import type { BackendSpec, HealthCheckSpec, HealthTable, PoolSpec } from '../../lb/types.js';

const SPEC: HealthCheckSpec = {
  type: 'http',
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 3,
  fastIntervalMs: 200,
  downIntervalMs: 5000,
  method: 'GET',
  path: '/health',
  expectStatus: [{ from: 200, to: 399 }],
};

function backend(name: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return { name, host: '127.0.0.1', port: 9000, weight: 1, state: 'active', backup: false, maxConns: 0, ...extra };
}

function pool(backends: BackendSpec[], spec: Partial<HealthCheckSpec> = {}, name = 'web'): PoolSpec {
  return { name, scheduler: 'round-robin', healthCheck: { ...SPEC, ...spec }, slowStartMs: 0, backends };
}

interface Call {
  backend: string;
  path: string;
  port: number;
  at: number;
}

/** Answers from a per-backend script; a step can take clock time, and can ignore aborts. */
type Step = boolean | { ok: boolean; takesMs?: number; ignoreAbort?: boolean };

class ScriptedChecker implements Checker {
  readonly calls: Call[] = [];
  readonly running = new Map<string, number>();
  maxConcurrentPerBackend = 0;
  readonly #scripts = new Map<string, (n: number) => Step>();

  constructor(
    readonly clock: ManualClock,
    readonly fallback: (backend: string, n: number) => Step = () => true,
  ) {}

  script(backend: string, fn: (n: number) => Step): void {
    this.#scripts.set(backend, fn);
  }

  callsOf(name: string): Call[] {
    return this.calls.filter((c) => c.backend === name);
  }

  check(target: CheckTarget, spec: HealthCheckSpec, signal: AbortSignal): Promise<CheckResult> {
    const n = this.callsOf(target.backend).length;
    this.calls.push({ backend: target.backend, path: spec.path, port: target.port, at: this.clock.now() });
    const running = (this.running.get(target.backend) ?? 0) + 1;
    this.running.set(target.backend, running);
    this.maxConcurrentPerBackend = Math.max(this.maxConcurrentPerBackend, running);
    const raw = (this.#scripts.get(target.backend) ?? ((i: number) => this.fallback(target.backend, i)))(n);
    const step = typeof raw === 'boolean' ? { ok: raw } : raw;
    const result = (ok: boolean, reason: string): CheckResult => ({ ok, reason, durationMs: step.takesMs ?? 0 });
    const done = (): void => {
      this.running.set(target.backend, (this.running.get(target.backend) ?? 1) - 1);
    };
    const reason = step.ok ? `pass #${n}` : `fail #${n}`;
    if (step.takesMs === undefined) {
      done();
      return Promise.resolve(result(step.ok, reason));
    }
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        done();
        resolve(result(step.ok, reason));
      }, step.takesMs ?? 0);
      if (!step.ignoreAbort) {
        signal.addEventListener('abort', () => {
          this.clock.clearTimeout(timer);
          done();
          resolve(result(false, 'aborted'));
        });
      }
    });
  }
}

interface Rig {
  clock: ManualClock;
  checker: ScriptedChecker;
  monitor: HealthMonitor;
  transitions: HealthTransition[];
  registry: Registry;
  logLines: string[];
}

/** Deterministic uniform [0,1) source (mulberry32) so "random" spreads are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rig(options: { random?: () => number; onTransition?: (t: HealthTransition) => void } = {}): Rig {
  const clock = new ManualClock(1_000_000);
  const checker = new ScriptedChecker(clock);
  const transitions: HealthTransition[] = [];
  const logLines: string[] = [];
  const registry = new Registry();
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const monitor = new HealthMonitor({
    clock,
    // 0.5 makes the ±10% jitter factor exactly 1, so interval assertions can be exact on a manual clock.
    random: options.random ?? (() => 0.5),
    checkers: { http: checker, tcp: checker },
    onTransition: (t) => {
      transitions.push(t);
      options.onTransition?.(t);
    },
    logger,
    registry,
  });
  return { clock, checker, monitor, transitions, registry, logLines };
}

function gaps(calls: Call[]): number[] {
  return calls.slice(1).map((c, i) => c.at - (calls[i]?.at ?? 0));
}

function table(status: 'up' | 'down', ...names: string[]): HealthTable {
  const entries = Object.fromEntries(names.map((n) => [n, { status, reason: 'seed', since: 1 }]));
  return { web: entries };
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value;
}

test('unknown backends are decided by their first check: a pass makes up, a failure makes down', async () => {
  const r = rig();
  r.checker.script('a', () => true);
  r.checker.script('b', () => false);
  r.monitor.update([pool([backend('a'), backend('b')])], {});
  await r.clock.advance(1000);
  assert.deepEqual(
    r.transitions.map((t) => [t.backend, t.from, t.to, t.reason]),
    [
      ['a', 'unknown', 'up', 'pass #0'],
      ['b', 'unknown', 'down', 'fail #0'],
    ],
  );
  assert.equal(r.transitions[0]?.at, r.checker.callsOf('a')[0]?.at);
  await r.monitor.stop();
});

test('fall consecutive failures take an up backend down; rise consecutive passes bring it back', async () => {
  const r = rig();
  // pass, pass, fail, fail, pass (resets), fail, fail, fail -> down at call 7; then pass, pass -> up at call 9
  const script = [true, true, false, false, true, false, false, false, true, true, true];
  r.checker.script('a', (n) => script[n] ?? true);
  r.monitor.update([pool([backend('a')])], table('up', 'a'));
  await r.clock.advance(30_000);
  assert.deepEqual(
    r.transitions.map((t) => [t.from, t.to, t.reason]),
    [
      ['up', 'down', 'fail #7'],
      ['down', 'up', 'pass #9'],
    ],
  );
  await r.monitor.stop();
});

test('interval while stable, fastInterval while counting, downInterval while down', async () => {
  const r = rig();
  // up: pass, pass | fail, fail, fail -> down | fail, fail | pass, pass -> up | pass
  const script = [true, true, false, false, false, false, false, true, true, true, true];
  r.checker.script('a', (n) => script[n] ?? true);
  r.monitor.update([pool([backend('a')])], table('up', 'a'));
  await r.clock.advance(40_000);
  const g = gaps(r.checker.callsOf('a')).slice(0, 10);
  assert.deepEqual(g, [
    1000, // after pass #0 (stable up)
    1000, // after pass #1
    200, // after fail #2: counting towards down
    200, // after fail #3
    5000, // after fail #4: now down
    5000, // after fail #5 (stable down)
    5000, // after fail #6
    200, // after pass #7: counting towards up
    1000, // after pass #8: now up
    1000, // after pass #9
  ]);
  await r.monitor.stop();
});

test('flapping (pass/fail alternating every check) never transitions with rise 2 / fall 3', async () => {
  for (const start of ['up', 'down'] as const) {
    const r = rig();
    r.checker.script('a', (n) => n % 2 === 0);
    r.checker.script('b', (n) => n % 2 === 1);
    r.monitor.update([pool([backend('a'), backend('b')])], table(start, 'a', 'b'));
    await r.clock.advance(120_000);
    assert.ok(r.checker.callsOf('a').length >= 40, `only ${r.checker.callsOf('a').length} checks`);
    assert.deepEqual(r.transitions, [], `starting ${start}`);
    await r.monitor.stop();
  }
});

test('first checks are spread over the interval, later ones jittered by at most ±10%', async () => {
  const r = rig({ random: seeded(42) });
  const names = Array.from({ length: 100 }, (_, i) => `b${i}`);
  r.monitor.update([pool(names.map((n) => backend(n)))], table('up', ...names));
  const start = r.clock.now();
  await r.clock.advance(1000);
  const firsts = names.map((n) => r.checker.callsOf(n)[0]?.at);
  assert.ok(firsts.every((t) => t !== undefined), 'every backend checked within one interval');
  const offsets = firsts.map((t) => (t ?? 0) - start);
  // Spread: every tenth of the interval gets some, no instant gets more than a few.
  const deciles = new Set(offsets.map((o) => Math.floor(o / 100)));
  assert.equal(deciles.size, 10, `first checks fall in deciles ${[...deciles].join(',')}`);
  const perInstant = new Map<number, number>();
  for (const o of offsets) perInstant.set(o, (perInstant.get(o) ?? 0) + 1);
  assert.ok(Math.max(...perInstant.values()) <= 3, 'no pile-up at one instant');

  await r.clock.advance(10_000);
  const later = names.flatMap((n) => gaps(r.checker.callsOf(n)));
  assert.ok(later.length > 500);
  assert.ok(later.every((g) => g >= 899.999 && g <= 1100.001), `gap outside ±10%: ${Math.min(...later)}..${Math.max(...later)}`);
  assert.ok(new Set(later).size > 50, 'gaps actually vary');
  await r.monitor.stop();
});

test('never two checks of one backend at once, even when checks outlast the interval or are rechecked', async () => {
  const r = rig();
  // Each check takes 1.2s (> interval 1s, < timeout + overrun grace) and ignores aborts.
  r.checker.script('a', () => ({ ok: true, takesMs: 1200, ignoreAbort: true }));
  r.monitor.update([pool([backend('a')])], table('up', 'a'));
  for (let i = 0; i < 18; i++) {
    await r.clock.advance(300);
    r.monitor.recheckAll();
  }
  // Checks run 500+1200k..: at 5400 one started 100ms ago. A spec change restarts the loop now;
  // the new loop's first check (due at 5900) must wait for the old one (ends 6500).
  assert.equal(r.checker.running.get('a'), 1);
  r.monitor.update([pool([backend('a')], { path: '/other' })], {});
  await r.clock.advance(5000);
  assert.ok(r.checker.calls.length >= 5, `${r.checker.calls.length} checks`);
  assert.equal(r.checker.maxConcurrentPerBackend, 1);
  assert.ok(r.checker.calls.some((c) => c.path === '/other'), 'restarted loop probes the new path');
  // Removed and re-added (with a recheck) while a check is in flight: the new loop waits for it too.
  for (let i = 0; i < 100 && r.checker.running.get('a') !== 1; i++) await r.clock.advance(50);
  assert.equal(r.checker.running.get('a'), 1);
  r.monitor.update([], {});
  r.monitor.update([pool([backend('a')], { path: '/other' })], {}, { recheckNow: true });
  const beforeReAdd = r.checker.calls.length;
  await r.clock.advance(3000);
  assert.ok(r.checker.calls.length > beforeReAdd, 're-added backend is checked');
  // This checker ignores aborts, so stop() can only resolve once its clock time has passed.
  const stopped = r.monitor.stop();
  await r.clock.advance(2000);
  await stopped;
});

test('recheckNow checks every backend within RECHECK_SPREAD_MS, from the health table it was given', async () => {
  const r = rig({ random: seeded(7) });
  const names = Array.from({ length: 40 }, (_, i) => `b${i}`);
  r.checker.script('b0', () => false); // was up: one failure is not enough to go down
  r.checker.script('b1', () => true); // was down: one pass is not enough to go up
  const health: HealthTable = { web: { ...table('up', ...names).web, b1: { status: 'down', reason: 'seed', since: 1 } } };
  r.monitor.update([pool(names.map((n) => backend(n)), { intervalMs: 10_000, fastIntervalMs: 10_000 })], health, {
    recheckNow: true,
  });
  const start = r.clock.now();
  await r.clock.advance(RECHECK_SPREAD_MS);
  for (const n of names) assert.equal(r.checker.callsOf(n).length, 1, `${n} rechecked`);
  const offsets = r.checker.calls.map((c) => c.at - start);
  assert.ok(new Set(offsets).size > 20, 'rechecks are spread, not simultaneous');
  assert.deepEqual(r.transitions, [], 'warm start: hysteresis applies from the table state');
  assert.equal(r.monitor.observed().web?.b1?.status, 'down');

  // A later recheckAll() does the same for a running monitor.
  r.monitor.recheckAll();
  await r.clock.advance(RECHECK_SPREAD_MS);
  for (const n of names) assert.equal(r.checker.callsOf(n).length, 2, `${n} rechecked again`);
  await r.monitor.stop();
});

test('update applies live: add, remove, disable, drain, and restart only what changed', async () => {
  const r = rig();
  r.checker.script('a', (n) => n < 1); // pass, then failures
  r.checker.script('b', (n) => n < 1);
  r.monitor.update([pool([backend('a'), backend('b'), backend('d', { state: 'drain' }), backend('x', { state: 'disabled' })])], {});
  await r.clock.advance(500 + 1000 + 200); // first check (pass) + two failures each for a and b
  assert.equal(r.checker.callsOf('a').length, 3);
  assert.ok(r.checker.callsOf('d').length > 0, 'drained backends are still checked');
  assert.equal(r.checker.callsOf('x').length, 0, 'disabled backends are not checked');

  // Same spec in new objects for a; b moves to another port: a keeps its 2 failures, b starts over.
  r.monitor.update(
    [pool([backend('a'), backend('b', { port: 9001 }), backend('d', { state: 'drain' }), backend('c')])],
    {},
  );
  await r.clock.advance(200);
  assert.deepEqual(
    r.transitions.filter((t) => t.to === 'down').map((t) => t.backend),
    ['a'],
    'a went down on its third failure; b, restarted, did not',
  );
  await r.clock.advance(1000);
  assert.ok(r.checker.callsOf('b').some((c) => c.port === 9001), 'b probes its new port');
  assert.ok(r.checker.callsOf('c').length > 0, 'added backend is checked');

  // Per-backend overrides of port and path.
  r.monitor.update([pool([backend('d', { healthCheck: { port: 9999, path: '/d' } })])], {});
  const before = r.checker.calls.length;
  await r.clock.advance(3000);
  const after = r.checker.calls.slice(before);
  assert.ok(after.length > 0 && after.every((c) => c.backend === 'd' && c.port === 9999 && c.path === '/d'));
  assert.equal(await metricValue(r.registry, 'ballast_backend_up', { backend: 'a' }), undefined, 'removed: no series');

  // A pool without a health check stops its loops.
  const { healthCheck: _unchecked, ...bare } = pool([backend('d')]);
  r.monitor.update([bare], {});
  const stopped = r.checker.calls.length;
  await r.clock.advance(10_000);
  assert.equal(r.checker.calls.length, stopped);
  assert.equal(r.clock.pendingTimers(), 0);
  await r.monitor.stop();
});

test('a checker that never settles is aborted after timeout + grace and counted as a failure', async () => {
  const r = rig();
  r.checker.script('a', () => ({ ok: true, takesMs: 60_000 }));
  r.monitor.update([pool([backend('a')])], {});
  await r.clock.advance(1000 + 500 + 1000);
  assert.deepEqual(
    r.transitions.map((t) => [t.to, t.reason]),
    [['down', 'timeout after 500ms (checker overran)']],
  );
  await r.monitor.stop();
});

test('each transition is logged once with its reason and counted in the metrics', async () => {
  const r = rig({
    onTransition: () => {
      throw new Error('proposal failed');
    },
  });
  r.checker.script('a', (n) => n < 2 || n >= 5); // up, then 3 failures -> down, then passes -> up
  r.monitor.update([pool([backend('a')])], {});
  await r.clock.advance(20_000);
  assert.deepEqual(
    r.transitions.map((t) => t.to),
    ['up', 'down', 'up'],
    'a throwing onTransition does not stop the loop',
  );
  const logged = r.logLines.map((l) => JSON.parse(l) as { msg: string; reason?: string; to?: string; level: number });
  const transitionLogs = logged.filter((l) => l.msg.startsWith('backend web/a is'));
  assert.deepEqual(
    transitionLogs.map((l) => [l.to, l.reason, l.level]),
    [
      ['up', 'pass #0', 30],
      ['down', 'fail #4', 40],
      ['up', 'pass #6', 30],
    ],
  );
  assert.equal(await metricValue(r.registry, 'ballast_backend_up', { pool: 'web', backend: 'a' }), 1);
  assert.equal(await metricValue(r.registry, 'ballast_health_transitions_total', { backend: 'a', to: 'up' }), 2);
  assert.equal(await metricValue(r.registry, 'ballast_health_transitions_total', { backend: 'a', to: 'down' }), 1);
  const fails = await metricValue(r.registry, 'ballast_health_checks_total', { backend: 'a', result: 'fail' });
  assert.equal(fails, 3);
  const passes = await metricValue(r.registry, 'ballast_health_checks_total', { backend: 'a', result: 'pass' });
  assert.equal(passes, r.checker.callsOf('a').length - 3);
  await r.monitor.stop();
  assert.equal(await metricValue(r.registry, 'ballast_backend_up', { backend: 'a' }), undefined, 'stop drops backend_up');
});

test('stop leaves no timers and no further checks; a later update starts over', async () => {
  const r = rig();
  r.checker.script('a', () => ({ ok: true, takesMs: 100 }));
  r.monitor.update([pool([backend('a'), backend('b')])], {});
  await r.clock.advance(1550); // a check of each is in flight (1500..1600)
  assert.equal(r.checker.running.get('a'), 1);
  await r.monitor.stop();
  assert.equal(r.checker.running.get('a'), 0, 'stop aborted the check in flight and waited for it');
  const calls = r.checker.calls.length;
  assert.equal(r.clock.pendingTimers(), 0);
  await r.clock.advance(10_000);
  assert.equal(r.checker.calls.length, calls);

  // Leadership regained: the same monitor starts again from the table it is given, and a second
  // monitor on the same registry (a node that builds one per term) shares the metric families.
  r.monitor.update([pool([backend('a')])], table('down', 'a'), { recheckNow: true });
  await r.clock.advance(RECHECK_SPREAD_MS);
  assert.equal(r.checker.calls.length, calls + 1);
  assert.equal(r.monitor.observed().web?.a?.status, 'down', 'seeded from the table, one pass short of rise');
  await r.monitor.stop();
  const second = new HealthMonitor({
    clock: r.clock,
    random: () => 0.5,
    checkers: { http: r.checker, tcp: r.checker },
    onTransition: () => {},
    logger: pino({ level: 'silent' }),
    registry: r.registry,
  });
  second.update([pool([backend('a')])], table('down', 'a'));
  await r.clock.advance(1000);
  // Passes at 500 (first monitor), the recheck, and 500ms into the second monitor; the aborted one is not counted.
  assert.equal(await metricValue(r.registry, 'ballast_health_checks_total', { backend: 'a', result: 'pass' }), 3);
  await second.stop();
  assert.equal(r.clock.pendingTimers(), 0);
});

test('adopt: a transition the cluster never recorded is observed and reported again', async () => {
  const r = rig();
  r.checker.script('a', (n) => n < 1); // pass, then failures
  r.checker.script('b', () => true);
  r.monitor.update([pool([backend('a'), backend('b')])], table('up', 'a', 'b'));
  await r.clock.advance(500 + 1000 + 200 + 200);
  assert.deepEqual(r.transitions.map((t) => [t.backend, t.to]), [['a', 'down']]);

  // The proposal failed: the table still says up. update() alone keeps the monitor's view...
  r.monitor.update([pool([backend('a'), backend('b')])], table('up', 'a', 'b'));
  assert.equal(r.monitor.observed().web?.a?.status, 'down');
  // ...adopt() takes the table's, re-checks at once, and fall failures report the transition again.
  r.monitor.adopt(table('up', 'a', 'b'));
  assert.equal(r.monitor.observed().web?.a?.status, 'up');
  const callsB = r.checker.callsOf('b').length;
  await r.clock.advance(RECHECK_SPREAD_MS + 200 + 200);
  assert.deepEqual(r.transitions.map((t) => [t.backend, t.from, t.to]), [
    ['a', 'up', 'down'],
    ['a', 'up', 'down'],
  ]);
  assert.equal(r.checker.callsOf('b').length, callsB, 'backends already in agreement are left alone');
  await r.monitor.stop();
});
