// The replicated state machine: applies commands to listeners, pools, backends, health, users,
// tokens and the audit log, and hands out the DataPlaneState workers run (never the access data). Pure and deterministic: the same commands in the same
// order give the same state on every node; a refused command changes nothing.
import type { BackendHealth, BackendSpec, CachePurge, CertificateSpec, DataPlaneState, HealthTable, ListenerSpec, PoolSpec } from '../../lb/types.js';
import { AccessBook, type AccessSnapshot } from './access-book.js';
import { AuditLog, type AuditSnapshot } from './audit-log.js';
import { StateError } from './errors.js';
import { withEdge } from './listener-edge.js';
import type { AccessReader, ApplyResult, StateCommand } from './types.js';

interface SnapshotV1 {
  v: 1;
  version: number;
  listeners: ListenerSpec[];
  pools: PoolSpec[];
  health: HealthTable;
}

interface SnapshotV2 extends Omit<SnapshotV1, 'v'> {
  v: 2;
  access: AccessSnapshot;
  audit: AuditSnapshot;
  /** Recent cache purges and the last seq given out (absent in snapshots from before purges). */
  purges?: CachePurge[];
  purgeSeq?: number;
  /** Absent in snapshots written before certificates were state. */
  certificates?: CertificateSpec[];
}

/** Purges kept in the state: a worker further behind than this purges everything instead. */
export const KEPT_PURGES = 64;

/** The sealed form's prefix (lb/tls/key-seal.ts): the log and snapshots never hold a plaintext key. */
const SEALED_KEY_PREFIX = 'sealed:v1:';

/** The command version each op belongs to: a node refuses an op under any other version. */
const OP_VERSION: Record<StateCommand['op'], 1 | 2> = {
  bootstrap: 1,
  'pool.put': 1,
  'pool.delete': 1,
  'backend.add': 1,
  'backend.patch': 1,
  'backend.remove': 1,
  'listener.put': 1,
  'listener.delete': 1,
  'health.set': 1,
  'pool.create': 2,
  'pool.replace': 2,
  'listener.create': 2,
  'listener.replace': 2,
  'cache.purge': 2,
  'cert.put': 2,
  'cert.delete': 2,
  'access.init': 2,
  'user.add': 2,
  'user.update': 2,
  'user.remove': 2,
  'token.add': 2,
  'token.revoke': 2,
  audited: 2,
  'listener.edge': 2,
};

const UNKNOWN: BackendHealth = { status: 'unknown', reason: 'not checked yet', since: 0 };

function clone<T>(value: T): T {
  return structuredClone(value);
}

function sameEndpoint(a: BackendSpec, b: BackendSpec): boolean {
  return a.host === b.host && a.port === b.port && JSON.stringify(a.healthCheck ?? {}) === JSON.stringify(b.healthCheck ?? {});
}

/** Two binds collide when ports match and either is a wildcard or both name the same host. */
function bindsCollide(a: ListenerSpec, b: ListenerSpec): boolean {
  if (a.bind.port !== b.bind.port || a.bind.port === 0) return false;
  const wild = (h: string) => h === '0.0.0.0' || h === '::';
  return wild(a.bind.host) || wild(b.bind.host) || a.bind.host === b.bind.host;
}

export class StateMachine {
  private version = 0;

  /** Applied-change counter: the same on every node after the same commands. */
  currentVersion(): number {
    return this.version;
  }
  private listeners = new Map<string, ListenerSpec>();
  private pools = new Map<string, PoolSpec>();
  private health: HealthTable = {};
  private certificates = new Map<string, CertificateSpec>();
  private access = new AccessBook();
  private audit = new AuditLog();
  private purges: CachePurge[] = [];
  private purgeSeq = 0;

  isEmpty(): boolean {
    return this.listeners.size === 0 && this.pools.size === 0;
  }

  /** Validate without applying: what a proposer runs before putting a command into the log. */
  check(cmd: StateCommand): void {
    const probe = new StateMachine();
    probe.restore(this.snapshot());
    probe.mutate(cmd);
  }

  apply(cmd: StateCommand): ApplyResult {
    const before = this.snapshot();
    try {
      this.mutate(cmd);
      this.version += 1;
      return { ok: true, version: this.version };
    } catch (err) {
      this.restore(before);
      if (err instanceof StateError) return { ok: false, error: { code: err.code, field: err.field, message: err.message } };
      throw err;
    }
  }

  dataPlane(): DataPlaneState {
    return {
      version: this.version,
      listeners: clone([...this.listeners.values()]),
      pools: clone([...this.pools.values()]),
      health: clone(this.health),
      ...(this.purges.length > 0 ? { cachePurges: clone(this.purges) } : {}),
      certificates: clone([...this.certificates.values()]),
    };
  }

  /** Users, tokens and the audit log as applied now; call again after a change or restore. */
  accessView(): AccessReader {
    const { access, audit } = this;
    return {
      sessionSecret: () => access.sessionSecret(),
      user: (name) => access.user(name),
      users: () => access.listUsers(),
      token: (id) => access.token(id),
      tokens: () => access.listTokens(),
      audit: (query) => audit.list(query),
    };
  }

  certificate(name: string): CertificateSpec | undefined {
    const c = this.certificates.get(name);
    return c && clone(c);
  }

  pool(name: string): PoolSpec | undefined {
    const p = this.pools.get(name);
    return p && clone(p);
  }

  snapshot(): Uint8Array {
    const snap: SnapshotV2 = {
      v: 2,
      version: this.version,
      listeners: [...this.listeners.values()],
      pools: [...this.pools.values()],
      health: this.health,
      access: this.access.snapshot(),
      audit: this.audit.snapshot(),
      purges: this.purges,
      purgeSeq: this.purgeSeq,
      certificates: [...this.certificates.values()],
    };
    return new TextEncoder().encode(JSON.stringify(snap));
  }

  restore(bytes: Uint8Array): void {
    const snap = JSON.parse(new TextDecoder().decode(bytes)) as SnapshotV1 | SnapshotV2;
    const v: unknown = snap.v;
    if (v !== 1 && v !== 2) throw new StateError('STATE_ERR_INVALID', '', `snapshot format v${String(v)} is not supported by this release`);
    this.version = snap.version;
    this.listeners = new Map(snap.listeners.map((l) => [l.name, l]));
    this.pools = new Map(snap.pools.map((p) => [p.name, p]));
    this.health = snap.health;
    this.certificates = new Map((snap.v === 2 ? (snap.certificates ?? []) : []).map((c) => [c.name, c]));
    // A v1 snapshot predates access control: no users yet, so the node bootstraps an admin.
    this.access = new AccessBook(snap.v === 2 ? snap.access : undefined);
    this.audit = new AuditLog(snap.v === 2 ? snap.audit : undefined);
    this.purges = snap.v === 2 ? (snap.purges ?? []) : [];
    this.purgeSeq = snap.v === 2 ? (snap.purgeSeq ?? 0) : 0;
  }

  private mutate(cmd: StateCommand): void {
    // Commands arrive as decoded JSON from the log: check what the types cannot promise.
    const v: unknown = cmd.v;
    if (v !== 1 && v !== 2) throw new StateError('STATE_ERR_INVALID', 'v', `command version ${String(v)} is not supported by this release`);
    const expected = OP_VERSION[cmd.op] as 1 | 2 | undefined;
    if (expected !== undefined && v !== expected) {
      throw new StateError('STATE_ERR_INVALID', 'v', `command "${cmd.op}" belongs to version ${expected}, not ${v}`);
    }
    switch (cmd.op) {
      case 'bootstrap':
        if (!this.isEmpty()) return;
        for (const p of cmd.pools) this.putPool(p);
        for (const l of cmd.listeners) this.putListener(l);
        return;
      case 'pool.put':
        return this.putPool(cmd.pool);
      case 'pool.delete':
        return this.deletePool(cmd.pool);
      case 'backend.add': {
        const pool = this.requirePool(cmd.pool);
        if (pool.backends.some((b) => b.name === cmd.backend.name)) {
          throw new StateError('STATE_ERR_CONFLICT', 'name', `backend "${cmd.backend.name}" already exists in pool "${cmd.pool}"`);
        }
        pool.backends.push(clone(cmd.backend));
        (this.health[pool.name] ??= {})[cmd.backend.name] = { ...UNKNOWN };
        return;
      }
      case 'backend.patch': {
        const backend = this.requireBackend(cmd.pool, cmd.backend);
        if (cmd.changes.weight !== undefined) backend.weight = cmd.changes.weight;
        if (cmd.changes.state !== undefined) backend.state = cmd.changes.state;
        if (cmd.changes.backup !== undefined) backend.backup = cmd.changes.backup;
        if (cmd.changes.maxConns !== undefined) backend.maxConns = cmd.changes.maxConns;
        return;
      }
      case 'backend.remove': {
        const pool = this.requirePool(cmd.pool);
        this.requireBackend(cmd.pool, cmd.backend);
        pool.backends = pool.backends.filter((b) => b.name !== cmd.backend);
        delete this.health[pool.name]?.[cmd.backend];
        return;
      }
      case 'listener.put':
        return this.putListener(cmd.listener);
      case 'listener.delete':
        if (!this.listeners.delete(cmd.listener)) {
          throw new StateError('STATE_ERR_NOT_FOUND', 'listener', `no listener named "${cmd.listener}"`);
        }
        return;
      case 'health.set': {
        this.requireBackend(cmd.pool, cmd.backend);
        (this.health[cmd.pool] ??= {})[cmd.backend] = clone(cmd.health);
        return;
      }
      case 'pool.create':
        if (this.pools.has(cmd.pool.name)) throw new StateError('STATE_ERR_CONFLICT', 'name', `pool "${cmd.pool.name}" already exists`);
        return this.putPool(cmd.pool);
      case 'pool.replace':
        this.requirePool(cmd.pool.name);
        return this.putPool(cmd.pool);
      case 'listener.create':
        if (this.listeners.has(cmd.listener.name)) throw new StateError('STATE_ERR_CONFLICT', 'name', `listener "${cmd.listener.name}" already exists`);
        return this.putListener(cmd.listener);
      case 'listener.replace':
        if (!this.listeners.has(cmd.listener.name)) throw new StateError('STATE_ERR_NOT_FOUND', 'listener', `no listener named "${cmd.listener.name}"`);
        return this.putListener(cmd.listener);
      case 'listener.edge': {
        const current = this.listeners.get(cmd.listener);
        if (!current) throw new StateError('STATE_ERR_NOT_FOUND', 'listener', `no listener named "${cmd.listener}"`);
        return this.putListener(withEdge(current, cmd.edge));
      }
      case 'cache.purge':
        return this.recordPurge(cmd.purge);
      case 'cert.put':
        return this.putCertificate(cmd.certificate);
      case 'cert.delete': {
        if (!this.certificates.has(cmd.name)) throw new StateError('STATE_ERR_NOT_FOUND', 'certificate', `no certificate named "${cmd.name}"`);
        const user = [...this.listeners.values()].find((l) => l.tls?.certificates.some((r) => 'name' in r && r.name === cmd.name));
        if (user) throw new StateError('STATE_ERR_CONFLICT', 'certificate', `certificate "${cmd.name}" is used by listener "${user.name}"; change or delete that listener first`);
        this.certificates.delete(cmd.name);
        return;
      }
      case 'access.init':
      case 'user.add':
      case 'user.update':
      case 'user.remove':
      case 'token.add':
      case 'token.revoke':
        return this.access.apply(cmd);
      case 'audited':
        if ((cmd.cmd.op as string) === 'audited') throw new StateError('STATE_ERR_INVALID', 'cmd.op', 'an audited command cannot wrap another');
        this.mutate(cmd.cmd);
        // apply() bumps the version after mutate: the entry names the version this change makes.
        this.audit.record(cmd.actor, cmd.at, cmd.cmd, this.version + 1);
        return;
      default: {
        const never: never = cmd;
        throw new StateError('STATE_ERR_INVALID', 'op', `unknown command ${JSON.stringify(never)}`);
      }
    }
  }

  private recordPurge(purge: CachePurge | Omit<CachePurge, 'seq'>): void {
    if (purge.listener !== undefined && !this.listeners.has(purge.listener)) {
      throw new StateError('STATE_ERR_NOT_FOUND', 'listener', `no listener named "${purge.listener}"`);
    }
    if (purge.prefix !== undefined && !purge.prefix.startsWith('/')) {
      throw new StateError('STATE_ERR_INVALID', 'prefix', 'must start with "/"');
    }
    this.purgeSeq += 1;
    const entry: CachePurge = { seq: this.purgeSeq };
    if (purge.listener !== undefined) entry.listener = purge.listener;
    if (purge.route !== undefined) entry.route = purge.route;
    if (purge.prefix !== undefined) entry.prefix = purge.prefix;
    this.purges = [...this.purges, entry].slice(-KEPT_PURGES);
  }

  private requirePool(name: string): PoolSpec {
    const pool = this.pools.get(name);
    if (!pool) throw new StateError('STATE_ERR_NOT_FOUND', 'pool', `no pool named "${name}"`);
    return pool;
  }

  private requireBackend(poolName: string, name: string): BackendSpec {
    const backend = this.requirePool(poolName).backends.find((b) => b.name === name);
    if (!backend) throw new StateError('STATE_ERR_NOT_FOUND', 'backend', `no backend named "${name}" in pool "${poolName}"`);
    return backend;
  }

  private putPool(spec: PoolSpec): void {
    const previous = this.pools.get(spec.name);
    const oldHealth = this.health[spec.name] ?? {};
    const health: Record<string, BackendHealth> = {};
    for (const b of spec.backends) {
      const prev = previous?.backends.find((p) => p.name === b.name);
      // Health is an observation of an endpoint: it survives only if the endpoint is unchanged.
      health[b.name] = prev && sameEndpoint(prev, b) && oldHealth[b.name] ? oldHealth[b.name]! : { ...UNKNOWN };
    }
    this.pools.set(spec.name, clone(spec));
    this.health[spec.name] = health;
  }

  private deletePool(name: string): void {
    this.requirePool(name);
    for (const l of this.listeners.values()) {
      if (
        l.pool === name ||
        l.routes.some((r) => r.pool === name || r.split?.some((t) => t.pool === name) === true) ||
        l.sniRoutes?.some((r) => r.pool === name) === true
      ) {
        throw new StateError('STATE_ERR_CONFLICT', 'pool', `pool "${name}" is used by listener "${l.name}"; change or delete that listener first`);
      }
    }
    this.pools.delete(name);
    delete this.health[name];
  }

  private putCertificate(spec: CertificateSpec): void {
    if (typeof spec.name !== 'string' || spec.name === '') throw new StateError('STATE_ERR_INVALID', 'name', 'a certificate needs a name');
    if (typeof spec.cert !== 'string' || !spec.cert.includes('-----BEGIN CERTIFICATE-----')) {
      throw new StateError('STATE_ERR_INVALID', 'cert', `certificate "${spec.name}" has no PEM certificate`);
    }
    if (typeof spec.key !== 'string' || !spec.key.startsWith(SEALED_KEY_PREFIX)) {
      throw new StateError('STATE_ERR_INVALID', 'key', `the key of certificate "${spec.name}" must be sealed before it enters the replicated state`);
    }
    this.certificates.set(spec.name, { name: spec.name, cert: spec.cert, key: spec.key });
  }

  private putListener(spec: ListenerSpec): void {
    const refs: [string, string][] =
      spec.mode === 'tcp'
        ? [...(spec.pool === undefined && spec.sniRoutes?.length ? [] : [['pool', spec.pool ?? ''] as [string, string]]), ...(spec.sniRoutes ?? []).map((r, i): [string, string] => [`sniRoutes[${i}].pool`, r.pool])]
        : spec.routes.flatMap((r, i) => (r.split === undefined ? [[`routes[${i}].pool`, r.pool] as [string, string]] : r.split.map((t, k) => [`routes[${i}].split[${k}].pool`, t.pool] as [string, string])));
    for (const [field, pool] of refs) {
      if (!this.pools.has(pool)) {
        throw new StateError('STATE_ERR_NOT_FOUND', field, `listener "${spec.name}" refers to pool "${pool}", which does not exist; create it first`);
      }
    }
    (spec.tls?.certificates ?? []).forEach((ref, i) => {
      if ('name' in ref && !this.certificates.has(ref.name)) {
        throw new StateError('STATE_ERR_NOT_FOUND', `tls.certificates[${i}].name`, `listener "${spec.name}" refers to certificate "${ref.name}", which does not exist; upload it first`);
      }
    });
    for (const other of this.listeners.values()) {
      if (other.name !== spec.name && bindsCollide(other, spec)) {
        throw new StateError('STATE_ERR_CONFLICT', 'bind', `${spec.bind.host}:${spec.bind.port} overlaps listener "${other.name}" (${other.bind.host}:${other.bind.port})`);
      }
    }
    this.listeners.set(spec.name, clone(spec));
  }
}
