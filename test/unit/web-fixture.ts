// Shared set-up for the web unit tests: the admin app over a real persisted LocalStateStore (in a
// temp dir) with an admin and a viewer, plus helpers to authenticate and to fingerprint the state.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ClusterError } from '../../cluster/node/errors.js';
import { LocalStateStore } from '../../cluster/node/local-store.js';
import type { ClusterView, NodeReportSource } from '../../cluster/node/types.js';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import { deriveSealKey } from '../../lb/tls/key-seal.js';
import { bootstrapAccess } from '../../web/access-bootstrap.js';
import { buildApp, type AdminApp } from '../../web/app.js';
import { hashPassword } from '../../web/password.js';
import type { AdminDeps, LoginLimits, WorkerViews } from '../../web/types.js';

export const ADMIN = { user: 'root', password: 'root-password-1' };
export const VIEWER = { user: 'watcher', password: 'watcher-password-1' };

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
export const asAdmin = basic(ADMIN.user, ADMIN.password);
export const asViewer = basic(VIEWER.user, VIEWER.password);

export interface WebFixture {
  app: AdminApp;
  store: LocalStateStore;
  dir: string;
  /** The persisted state file: every byte the state machine holds, access data and audit included. */
  stateFile(): string;
  /** Log in and return the cookie header and CSRF token. */
  login(who?: { user: string; password: string }): Promise<{ cookie: string; csrf: string; setCookie: string }>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  workers?: WorkerViews | null;
  loginLimits?: LoginLimits;
  now?: () => number;
  /** Reuse a state directory (a second "node" reading the same replicated state). */
  dir?: string;
  clusterView?: (store: LocalStateStore) => ClusterView;
  nodeReports?: NodeReportSource;
  readBarrier?: (timeoutMs: number) => Promise<void>;
  /** Skip creating users and pools: a node that has not applied the bootstrap yet. */
  empty?: boolean;
}

export const BOOTSTRAP = {
  pools: [
    normalizePool(
      {
        name: 'web',
        scheduler: 'least-conn',
        healthCheck: { type: 'http', path: '/health', interval: '2s', timeout: '1s', expectStatus: '200-299' },
        backends: [
          { name: 'a', address: '127.0.0.1:9101', weight: 3 },
          { name: 'b', address: '127.0.0.1:9102' },
        ],
      },
      'p',
    ),
    normalizePool({ name: 'api', backends: [{ name: 'x', address: '127.0.0.1:9201' }] }, 'p'),
  ],
  listeners: [normalizeListener({ name: 'front', mode: 'http', bind: '127.0.0.1:18080', routes: [{ pathPrefix: '/', pool: 'web' }] }, 'l')],
};

function oneNodeView(store: LocalStateStore): ClusterView {
  return {
    nodeId: 'n1',
    leader: 'n1',
    term: 1,
    commitIndex: store.read().version,
    leadingForMs: 0,
    vip: { address: null, holder: null, heldForMs: null },
    nodes: [{ id: 'n1', address: '127.0.0.1:9001', role: 'leader', roleFrom: 'raft', lastContactMs: 0, matchIndex: null }],
  };
}

export async function webFixture(opts: FixtureOptions = {}): Promise<WebFixture> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ballast-web-'));
  const store = await LocalStateStore.open(dir);
  const logger = pino({ level: 'silent' });
  if (store.read().pools.length === 0 && !opts.empty) {
    await store.propose({ v: 1, op: 'bootstrap', ...structuredClone(BOOTSTRAP) });
    await bootstrapAccess(store, { user: ADMIN.user, password: ADMIN.password }, logger);
    const at = Date.now();
    const r = await store.propose({ v: 2, op: 'user.add', user: { name: VIEWER.user, role: 'viewer', passwordHash: await hashPassword(VIEWER.password), createdAt: at, updatedAt: at } });
    if (!r.ok) throw new Error(r.error.message);
  }
  const view = opts.clusterView ?? oneNodeView;
  const deps: AdminDeps = {
    logger,
    nodeId: 'n1',
    store,
    isReady: () => ({ ready: true, reason: 'serving' }),
    listenerPorts: () => ({ front: 18080 }),
    role: () => ({ id: 'n1', role: 'leader', leader: 'n1', vipHeld: false }),
    clusterView: () => view(store),
    workers: opts.workers ?? null,
    registry: new Registry(),
    transferLeadership: async () => {
      throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'no Raft here');
    },
    sealKey: deriveSealKey('web-fixture-cluster-secret'),
  };
  if (opts.loginLimits) deps.loginLimits = opts.loginLimits;
  if (opts.now) deps.now = opts.now;
  if (opts.nodeReports) deps.nodeReports = opts.nodeReports;
  if (opts.readBarrier) deps.readBarrier = opts.readBarrier;
  const app = buildApp(deps);
  return {
    app,
    store,
    dir,
    stateFile: () => readFileSync(join(dir, 'state.json'), 'utf8'),
    login: async (who = ADMIN) => {
      const res = await app.inject({ method: 'POST', url: '/api/v1/session', payload: who });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const setCookie = String(res.headers['set-cookie']);
      return { cookie: setCookie.split(';')[0]!, csrf: res.json<{ csrfToken: string }>().csrfToken, setCookie };
    },
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
