// `npm run bench:raft`: three Raft members as real processes on loopback (raft-member.ts: the real
// RaftStateStore with its disk WAL and fsync, peers over net-ipc TLS-PSK). Prints commits/s and
// commit latency for small writes (sequential and concurrent, on the leader and via a follower),
// then SIGKILLs the leader a few times and times the way to a new leader and a first commit.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChildProcesses, tsEntry, type Tracked } from './children.js';
import { freePort } from './local-port.js';
import type { FromMember, LoadReport, MemberConfig, ToMember } from './raft-bench-types.js';
import type { NodeId, RaftRole } from '../../cluster/raft/types.js';

const USAGE = `usage: npm run bench:raft -- [options]
  --quick               smoke run: 2 s phases, 2 kills
  --seconds S           seconds per write phase (default 3)
  --concurrency LIST    concurrent proposers for the concurrent phases (default 8,64)
  --kills N             leader kills (default 3)
  --heartbeat MS        heartbeat interval (default 100, as shipped)
  --election-timeout MS election timeout (default 1000, as shipped)
  --keep                keep the temp dir (WALs, member logs)
`;
/** Hard bound on the whole run. */
const WATCHDOG_MS = 240_000;
const WAIT_MS = 20_000;

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function f(ms: number, digits = 1): string {
  return Number.isFinite(ms) ? ms.toFixed(digits) : '-';
}

interface RoleEvent {
  id: NodeId;
  role: RaftRole;
  leader: NodeId | null;
  term: number;
  at: number;
}

/** A message to a member, before the channel numbers it. */
type Request = ToMember extends infer T ? (T extends ToMember ? Omit<T, 'req'> : never) : never;

/** A member process and its request/answer channel. */
class Member {
  tracked: Tracked | null = null;
  role: RoleEvent | null = null;
  private nextReq = 1;
  private readonly pending = new Map<number, (m: FromMember) => void>();

  constructor(
    readonly config: MemberConfig,
    private readonly logPath: string,
    private readonly onRole: (e: RoleEvent) => void,
  ) {}

  get alive(): boolean {
    return this.tracked !== null;
  }

  async start(children: ChildProcesses): Promise<void> {
    const { exec, args } = tsEntry('./raft-member.ts');
    const log = openSync(this.logPath, 'a');
    const t = children.spawn(`raft-${this.config.id}`, exec, args, {
      stdio: ['ignore', log, log, 'ipc'],
      env: { ...process.env, BENCH_RAFT_MEMBER: JSON.stringify(this.config) },
    });
    this.tracked = t;
    this.role = null;
    const started = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`member ${this.config.id} did not start within ${WAIT_MS} ms; log ${this.logPath}`)), WAIT_MS);
      t.child.on('message', (m: FromMember) => {
        if (m.type === 'started') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'role') {
          this.role = m;
          this.onRole(m);
        } else {
          this.pending.get(m.req)?.(m);
          this.pending.delete(m.req);
        }
      });
      void t.exited.then((code) => {
        clearTimeout(timer);
        if (this.tracked === t) this.tracked = null;
        reject(new Error(`member ${this.config.id} exited (${String(code)}); log ${this.logPath}`));
      });
    });
    await started;
  }

  request(msg: Request, timeoutMs: number): Promise<FromMember> {
    const t = this.tracked;
    if (!t) return Promise.reject(new Error(`member ${this.config.id} is not running`));
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new Error(`member ${this.config.id}: no answer to ${msg.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(req, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      t.child.send({ ...msg, req });
    });
  }

  kill(): void {
    const pid = this.tracked?.child.pid;
    if (pid === undefined) return;
    // The member's process only (it forks nothing): the kill -9 a crash would be.
    process.kill(pid, 'SIGKILL');
  }
}

/** Write + fdatasync of a small record in the WALs' directory: what one commit's fsync costs here. */
async function fsyncFloor(dir: string, count: number): Promise<number[]> {
  const fh = await open(join(dir, 'fsync-probe'), 'w');
  const record = Buffer.alloc(128, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await fh.write(record);
      await fh.datasync();
      times.push(performance.now() - t0);
    }
  } finally {
    await fh.close();
    rmSync(join(dir, 'fsync-probe'), { force: true });
  }
  return times.sort((a, b) => a - b);
}

function fsType(dir: string): string {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function loads(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | null): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** A leader every live member agrees on (role reports), or null. */
function agreedLeader(members: Member[]): Member | null {
  const live = members.filter((m) => m.alive);
  const leader = live.find((m) => m.role?.role === 'leader');
  if (!leader?.role) return null;
  const term = leader.role.term;
  return live.every((m) => m === leader || (m.role?.leader === leader.config.id && m.role.term === term)) ? leader : null;
}

interface PhaseRow {
  name: string;
  report: LoadReport;
}

interface KillRow {
  killed: NodeId;
  next: NodeId;
  /** kill -> the first survivor leaves follower (its election timeout fired, pre-vote starts). */
  detectMs: number | null;
  /** kill -> a survivor reports itself leader. */
  electedMs: number;
  /** kill -> a write proposed on the new leader as soon as it said so committed. */
  commitMs: number | null;
  /** kill -> a write proposed on the other survivor from the moment of the kill (retried) committed. */
  forwardedMs: number | null;
  /** restart of the killed member -> it follows the new leader again. */
  rejoinMs: number;
}

function formatPhases(rows: PhaseRow[]): string {
  const head = ['phase', 'commits', 'commits/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'];
  const body = rows.map(({ name, report: r }) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const errors = Object.entries(r.errors).map(([k, v]) => `${k} x${v}`).join(', ') || '0';
    return [name, String(r.commits), ((r.commits * 1000) / r.wallMs).toFixed(0), f(percentile(sorted, 50), 2), f(percentile(sorted, 99), 2), f(sorted.at(-1) ?? Number.NaN, 1), errors];
  });
  return table([head, ...body]);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function formatKills(rows: KillRow[]): string {
  const head = ['run', 'killed', 'new leader', 'detect ms', 'elected ms', 'commit ms', 'via survivor ms', 'rejoin ms'];
  const ms = (v: number | null) => f(v ?? Number.NaN, 0);
  const body = rows.map((r, i) => [String(i + 1), r.killed, r.next, ms(r.detectMs), ms(r.electedMs), ms(r.commitMs), ms(r.forwardedMs), ms(r.rejoinMs)]);
  const stat = (pick: (r: KillRow) => number | null) => {
    const v = rows.map(pick).filter((x): x is number => x !== null).sort((a, b) => a - b);
    return v.length ? `${f(percentile(v, 50), 0)} (${f(v[0] ?? Number.NaN, 0)}-${f(v.at(-1) ?? Number.NaN, 0)})` : '-';
  };
  body.push(['median (min-max)', '', '', stat((r) => r.detectMs), stat((r) => r.electedMs), stat((r) => r.commitMs), stat((r) => r.forwardedMs), stat((r) => r.rejoinMs)]);
  return table([head, ...body]);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      seconds: { type: 'string' },
      concurrency: { type: 'string' },
      kills: { type: 'string' },
      heartbeat: { type: 'string' },
      'election-timeout': { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const quick = values.quick === true;
  const num = (v: string | undefined, fallback: number, what: string): number => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} must be a positive number`);
    return n;
  };
  const seconds = num(values.seconds, quick ? 2 : 3, 'seconds');
  const kills = Math.round(num(values.kills, quick ? 2 : 3, 'kills'));
  const heartbeatMs = num(values.heartbeat, 100, 'heartbeat');
  const electionTimeoutMs = num(values['election-timeout'], 1000, 'election-timeout');
  const concurrency = (values.concurrency ?? '8,64').split(',').map((c) => Math.round(num(c, 1, 'concurrency')));

  const children = new ChildProcesses();
  setTimeout(() => {
    process.stderr.write(`bench:raft: still running after ${WATCHDOG_MS / 1000} s, giving up\n`);
    children.killAllNow();
    process.exit(2);
  }, WATCHDOG_MS).unref();
  process.once('exit', () => children.killAllNow());
  const onSignal = () => {
    children.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const dir = mkdtempSync(join(tmpdir(), 'ballast-bench-raft-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const out = (line: string) => process.stdout.write(`${line}\n`);

  try {
    out('Ballast Raft benchmark');
    out(`date     ${new Date().toISOString()}`);
    out(`machine  ${availableParallelism()} cores, ${cpus()[0]?.model.trim() ?? 'unknown'}, node ${process.version}; load avg 1/5/15 min ${loads()} at start`);
    if ((loadavg()[0] ?? 0) > availableParallelism() / 2) {
      out(`WARNING  load ${loads()} on ${availableParallelism()} cores: other work is running, latencies will be high and noisy`);
    }
    const floor = await fsyncFloor(dir, 100);
    out(`disk     ${dir} on ${fsType(dir)}: 128 B write + fdatasync p50 ${f(percentile(floor, 50), 2)} ms, p99 ${f(percentile(floor, 99), 2)} ms (100 in a row)`);
    out(
      `setup    3 member processes on 127.0.0.1, each the real RaftStateStore: disk WAL (one fdatasync per Ready), ` +
        `net-ipc TLS-PSK links; heartbeat ${heartbeatMs} ms, election timeout ${electionTimeoutMs} ms, pre-vote, check-quorum, lease`,
    );
    out(`writes   backend.patch commands (~110 B of JSON each); latency = propose -> committed and applied on the proposing member\n`);

    const ids = ['n1', 'n2', 'n3'];
    const ports = await Promise.all(ids.map(() => freePort()));
    const peers = ids.map((id, i) => ({ id, port: ports[i] ?? 0 }));
    const events: RoleEvent[] = [];
    const members = ids.map((id, i) => {
      const dataDir = join(dir, id);
      mkdirSync(dataDir);
      const config: MemberConfig = { id, port: ports[i] ?? 0, peers, dataDir, secret: 'bench-raft-secret', heartbeatMs, electionTimeoutMs, snapshotEvery: 10_000 };
      return new Member(config, join(dir, `${id}.log`), (e) => events.push(e));
    });
    const t0 = Date.now();
    await Promise.all(members.map((m) => m.start(children)));
    let leader = await until('first leader', WAIT_MS, () => agreedLeader(members));
    log(`members up and ${leader.config.id} elected in ${Date.now() - t0} ms`);
    const boot = await leader.request({ type: 'bootstrap' }, WAIT_MS);
    if (boot.type !== 'done' || !boot.ok) throw new Error(`bootstrap write failed: ${boot.type === 'done' ? String(boot.error) : ''}`);

    const phases: PhaseRow[] = [];
    const runPhase = async (name: string, on: Member, c: number) => {
      const r = await on.request({ type: 'load', concurrency: c, seconds, maxOps: 1_000_000 }, seconds * 1000 + WAIT_MS);
      if (r.type !== 'load') throw new Error(`${name}: ${r.type === 'done' ? String(r.error) : 'failed'}`);
      phases.push({ name, report: r.report });
      log(`  ${name}: ${r.report.commits} commits in ${(r.report.wallMs / 1000).toFixed(1)} s`);
    };
    // Warm-up: JIT, TLS links, WAL segment.
    await leader.request({ type: 'load', concurrency: 4, seconds: 1, maxOps: 1_000_000 }, WAIT_MS);
    await runPhase('sequential, on the leader', leader, 1);
    for (const c of concurrency) await runPhase(`${c} concurrent, on the leader`, leader, c);
    const follower = members.find((m) => m.alive && m !== leader);
    if (follower) await runPhase('sequential, via a follower', follower, 1);
    if (follower && concurrency.length) {
      const c = concurrency[concurrency.length - 1] ?? 1;
      await runPhase(`${c} concurrent, via a follower`, follower, c);
    }
    out(`writes, ${seconds} s per phase, load avg ${loads()} after:`);
    out(formatPhases(phases));

    const rows: KillRow[] = [];
    for (let k = 0; k < kills; k++) {
      leader = await until('a leader all members agree on', WAIT_MS, () => agreedLeader(members));
      // Let every member settle (leases, links) before the next kill.
      await new Promise((r) => setTimeout(r, 2 * electionTimeoutMs));
      leader = await until('a leader all members agree on', WAIT_MS, () => agreedLeader(members));
      const oldTerm = leader.role?.term ?? 0;
      const survivors = members.filter((m) => m !== leader);
      // The survivor that will not win is unknown yet: the first one probes, as a client would.
      const prober = survivors[0];
      if (!prober) throw new Error('no survivor');
      const from = events.length;
      const killedAt = wallNow();
      leader.kill();
      const committed = prober.request({ type: 'first-commit', timeoutMs: WAIT_MS }, WAIT_MS * 2);
      await until('the killed leader to exit', WAIT_MS, () => (leader.alive ? null : true));
      const elected = await until('a new leader', WAIT_MS, () =>
        events.slice(from).find((e) => e.role === 'leader' && e.term > oldTerm && e.id !== leader.config.id) ?? null,
      );
      const detect = events.slice(from).find((e) => e.id !== leader.config.id && e.role !== 'follower' && e.at >= killedAt);
      const next = members.find((m) => m.config.id === elected.id);
      const onLeader = next ? await next.request({ type: 'first-commit', timeoutMs: WAIT_MS }, WAIT_MS * 2) : null;
      const c = await committed;
      const restartAt = Date.now();
      await leader.start(children);
      await until('the restarted member to follow the new leader', WAIT_MS, () => (agreedLeader(members) ? true : null));
      const row: KillRow = {
        killed: leader.config.id,
        next: elected.id,
        detectMs: detect ? detect.at - killedAt : null,
        electedMs: elected.at - killedAt,
        commitMs: onLeader?.type === 'first-commit' && onLeader.at !== null ? onLeader.at - killedAt : null,
        forwardedMs: c.type === 'first-commit' && c.at !== null ? c.at - killedAt : null,
        rejoinMs: Date.now() - restartAt,
      };
      rows.push(row);
      log(`  kill ${k + 1}/${kills}: ${row.killed} -> ${row.next}, elected after ${f(row.electedMs, 0)} ms`);
    }
    out(`\nleader kill (SIGKILL of the leader's process, then restart it on its WAL), ${kills} runs, load avg ${loads()} after:`);
    out(formatKills(rows));
    out(
      '\ndetect = kill -> first survivor leaves follower (its randomized election timeout fired); elected = kill -> a survivor ' +
        'is leader (pre-vote + vote; votes wait out the dead leader\'s lease); commit = kill -> a write proposed on the new ' +
        'leader once it said so committed; via survivor = kill -> a write proposed on a survivor from the moment of the kill ' +
        '(forwarded to the leader it knows, retried every 10 ms after an error) committed; rejoin = restart of the killed ' +
        'member -> all three agree on the leader. Figures, not assertions.',
    );
    await Promise.all(members.filter((m) => m.alive).map((m) => m.request({ type: 'stop' }, 5000).catch(() => undefined)));
    return 0;
  } catch (err) {
    log(`bench:raft: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await children.stopAll(3000);
    if (values.keep) out(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:raft: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
