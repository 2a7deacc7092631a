// A login on a follower that has not applied the entry creating its user yet: three real Raft
// stores (file WAL, in-memory network), one follower cut off while the leader commits the admin
// user. Healed, the follower's app refuses the login without the read barrier and accepts it with
// the barrier, which catches the follower up before it checks the password again.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ClusterError } from '../../cluster/node/errors.js';
import { RaftStateStore, type PeerMessage } from '../../cluster/node/raft-store.js';
import { MemoryNetwork } from '../../cluster/transport/memory-transport.js';
import { StateMachine } from '../../cluster/state/machine.js';
import { bootstrapAccess } from '../../web/access-bootstrap.js';
import { Authenticator } from '../../web/authenticator.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter } from '../../web/login-limiter.js';
import { hashPassword } from '../../web/password.js';
import { buildApp } from '../../web/app.js';

const logger = pino({ level: 'silent' });
const ADMIN = { user: 'admin', password: 'catch-up-password' };
const IDS = ['n1', 'n2', 'n3'];

function app(store: RaftStateStore, id: string, withBarrier: boolean) {
  return buildApp({
    logger,
    nodeId: id,
    store,
    isReady: () => ({ ready: true, reason: 'serving' }),
    listenerPorts: () => ({}),
    role: () => ({ id, role: store.status().role, leader: store.status().leader, vipHeld: false }),
    clusterView: () => {
      const s = store.status();
      return { nodeId: id, leader: s.leader, term: s.term, commitIndex: s.commit, leadingForMs: null, vip: { address: null, holder: null, heldForMs: null }, nodes: IDS.map((n) => ({ id: n, address: '', role: n === s.leader ? 'leader' : 'unknown', roleFrom: n === s.leader ? 'raft' : null, lastContactMs: null, matchIndex: null })) };
    },
    workers: null,
    registry: new Registry(),
    transferLeadership: async () => {
      throw new ClusterError('CLUSTER_ERR_NO_LEADER', 'not in this test');
    },
    readBarrier: withBarrier ? (ms) => store.readBarrier(ms) : null,
  });
}

test('a follower that has not applied the admin user catches up through the read barrier before it refuses a login', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-login-catch-up-'));
  const net = new MemoryNetwork();
  const stores = IDS.map(
    (id) =>
      new RaftStateStore({
        id,
        voters: IDS,
        dataDir: join(dir, id),
        transport: net.transport<PeerMessage>(id),
        logger,
        // Slow heartbeats: after the heal, nothing reaches the follower for a while on its own.
        heartbeatMs: 1000,
        electionTimeoutMs: 5000,
        electionJitterMs: 1000,
      }),
  );
  const apps: ReturnType<typeof buildApp>[] = [];
  try {
    await Promise.all(stores.map((s) => s.start()));
    const deadline = Date.now() + 20_000;
    while (!stores.some((s) => s.status().role === 'leader') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const leader = stores.find((s) => s.status().role === 'leader');
    assert.ok(leader, 'a leader within 20 s');
    const followerIndex = stores.findIndex((s) => s !== leader);
    const follower = stores[followerIndex]!;
    const followerId = IDS[followerIndex]!;
    const leaderId = IDS[stores.indexOf(leader)]!;

    net.partition(leaderId, followerId);
    await bootstrapAccess(leader, ADMIN, logger);
    assert.ok(leader.readAccess().user(ADMIN.user), 'committed with the other follower');
    assert.equal(follower.readAccess().user(ADMIN.user), undefined, 'the cut-off follower has not applied it');

    const plain = app(follower, followerId, false);
    const caughtUp = app(follower, followerId, true);
    apps.push(plain, caughtUp);
    net.heal();
    assert.equal(follower.readAccess().user(ADMIN.user), undefined, 'still not applied when the logins start');
    const [refused, accepted] = await Promise.all([
      plain.inject({ method: 'POST', url: '/api/v1/session', payload: ADMIN }),
      caughtUp.inject({ method: 'POST', url: '/api/v1/session', payload: ADMIN }),
    ]);
    assert.equal(refused.statusCode, 401, 'without the barrier the follower answers from what it has');
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.ok(follower.readAccess().user(ADMIN.user));
  } finally {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(stores.map((s) => s.close()));
  }
});

// The CI failure this covers: the entry creating the user was applied while the first check ran
// its (decoy) scrypt, so after the barrier the record looked unchanged and a good password was refused.
test('an entry applied while the first password check runs still gets the login its second check', async () => {
  const machine = new StateMachine();
  const at = Date.now();
  const init = { v: 2 as const, op: 'access.init' as const, secret: 'catch-up-secret', admin: { name: ADMIN.user, role: 'admin' as const, passwordHash: await hashPassword(ADMIN.password), createdAt: at, updatedAt: at } };
  let reads = 0;
  const access = () => {
    // The first read is the first check's; the apply lands on the next turn, while its scrypt runs.
    if (reads++ === 0) setImmediate(() => assert.ok(machine.apply(init).ok));
    return machine.accessView();
  };
  let barriers = 0;
  const auth = new Authenticator(access, new LoginLimiter(DEFAULT_LOGIN_LIMITS, Date.now), Date.now, async () => {
    barriers++;
  });
  const { role } = await auth.checkPassword(ADMIN.user, ADMIN.password, '127.0.0.1');
  assert.equal(role, 'admin');
  assert.equal(barriers, 1, 'one catch-up, after the first check failed');
  await assert.rejects(auth.checkPassword(ADMIN.user, 'wrong', '127.0.0.1'), /wrong user name or password/);
});
