// TLS certificates as cluster state through a real node (control plane in this process, two real
// worker processes): upload checks over the REST API and `ballast ctl cert`, a listener serving a
// cluster certificate, session resumption across workers, a live certificate replacement under an
// open keep-alive connection, and the expiry metric and warning.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { startTestNode, type TestNode } from '../support/in-process-node.js';
import { runCli } from '../support/node-process.js';
import { startOrigin, type Origin } from '../support/origin-server.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';
import { hashPassword } from '../../web/password.js';

const AUTH = { authorization: `Basic ${Buffer.from('tester:tester-password').toString('base64')}` };

let pki: TestPki;
let site1: Leaf;
let site2: Leaf;
let origin: Origin;
let tn: TestNode;
let admin: string;
let tlsPort: number;

before(async () => {
  pki = createTestPki();
  site1 = pki.leaf('site1', ['site.example.test']);
  site2 = pki.leaf('site2', ['site.example.test']);
  origin = await startOrigin('o1');
  tn = await startTestNode(
    { pools: [{ name: 'web', backends: [{ name: 'o1', address: origin.address }] }], listeners: [] },
    { workers: 2 },
  );
  admin = tn.node.adminUrl();
  const at = Date.now();
  const r = await tn.node.store!.propose({ v: 2, op: 'user.add', user: { name: 'tester', role: 'admin', passwordHash: await hashPassword('tester-password'), createdAt: at, updatedAt: at } });
  assert.ok(r.ok);
  tlsPort = await freePort();
});
after(async () => {
  await tn?.stop();
  await origin?.close();
  pki?.cleanup();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${admin}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms}ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

test('uploads are checked with the reason: expired, mismatched key, broken chain are refused; nothing is stored', async () => {
  const expired = pki.leaf('old', ['old.example.test'], { notBefore: new Date('2020-01-01'), notAfter: new Date('2020-02-01') });
  const mis = pki.misChained('mis', 'mis.example.test');
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ name: 'old', cert: expired.chain, key: expired.key }, 'cert', /^cert: the certificate "old\.example\.test" expired on 2020-02-01/],
    [{ name: 'mm', cert: site1.chain, key: site2.key }, 'key', /^key: the private key does not match the certificate "site\.example\.test"/],
    [{ name: 'mis', cert: mis.chain, key: mis.key }, 'cert', /is not signed by the next certificate of the chain/],
  ];
  for (const [body, field, message] of cases) {
    const r = await api('POST', '/api/v1/certificates', body);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    const error = r.body['error'] as { code: string; field: string; message: string };
    assert.equal(error.code, 'WEB_ERR_INVALID');
    assert.equal(error.field, field);
    assert.match(error.message, message);
  }
  const list = await api('GET', '/api/v1/certificates');
  assert.deepEqual(list.body['certificates'], []);
});

test('a certificate uploaded through the API serves a TLS listener on every worker; the key is sealed in the state', async () => {
  const up = await api('POST', '/api/v1/certificates', { name: 'site', cert: site1.chain, key: site1.key });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const view = up.body['certificate'] as Record<string, unknown>;
  assert.deepEqual(view['names'], ['site.example.test']);
  assert.equal(view['warning'], null);
  assert.equal(view['chainLength'], 2);
  assert.ok(!JSON.stringify(up.body).includes('PRIVATE KEY'), 'no key in the answer');
  const stored = tn.node.store!.read().certificates?.[0];
  assert.match(stored?.key ?? '', /^sealed:v1:/);
  // A second upload of the same name is a conflict; replacing is PUT.
  assert.equal((await api('POST', '/api/v1/certificates', { name: 'site', cert: site1.chain, key: site1.key })).status, 409);

  const created = await api('POST', '/api/v1/listeners', {
    name: 'secure',
    mode: 'http',
    bind: `127.0.0.1:${tlsPort}`,
    routes: [{ pathPrefix: '/', pool: 'web' }],
    tls: { certificates: [{ name: 'site' }], hsts: { maxAge: 600 } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await until('both workers listen', () => tn.node.supervisor!.status().every((w) => w.listening['secure'] === tlsPort));
  const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'site.example.test', ca: pki.rootCert });
  await once(s, 'secureConnect');
  assert.equal(s.authorized, true);
  assert.equal(s.getPeerCertificate().fingerprint256, fingerprint(site1.cert));
  s.end();
  // In use: cannot be deleted.
  const del = await api('DELETE', '/api/v1/certificates/site');
  assert.equal(del.status, 409);
});

/** Worker pid that owns the local TCP port `port` (Linux /proc): which worker dialed the origin. */
function ownerOfLocalPort(port: number, pids: number[]): number | undefined {
  const inodes = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || cols[9] === undefined) continue;
      if (Number.parseInt(local.split(':').at(-1) ?? '', 16) === port) inodes.set(cols[9], port);
    }
  }
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) return pid;
    }
  }
  return undefined;
}

test('a listener with an inline certificate: its key is sealed in the state and opened for the workers', async () => {
  const inline = pki.leaf('inline', ['inline.example.test']);
  const port = await freePort();
  const created = await api('POST', '/api/v1/listeners', {
    name: 'inline',
    mode: 'http',
    bind: `127.0.0.1:${port}`,
    routes: [{ pathPrefix: '/', pool: 'web' }],
    tls: { certificates: [{ cert: inline.chain, key: inline.key }] },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.ok(!JSON.stringify(tn.node.store!.read()).includes('PRIVATE KEY'), 'no plaintext key in the replicated state');
  await until('both workers listen', () => tn.node.supervisor!.status().every((w) => w.listening['inline'] === port));
  const s = tls.connect({ host: '127.0.0.1', port, servername: 'inline.example.test', ca: pki.rootCert });
  await once(s, 'secureConnect');
  assert.equal(s.getPeerCertificate().fingerprint256, fingerprint(inline.cert));
  s.end();
  assert.equal((await api('DELETE', '/api/v1/listeners/inline')).status, 200);
});

test('sessions resume on any worker of the node (shared ticket keys): every resumed handshake is reported reused', async () => {
  const first = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'site.example.test', ca: pki.rootCert });
  const [ticket] = (await once(first, 'session')) as [Buffer];
  first.end();
  const pids = tn.node.supervisor!.status().map((w) => w.pid).filter((p): p is number => p !== null);
  assert.equal(pids.length, 2);
  const servedBy = new Set<number>();
  let resumed = 0;
  let total = 0;
  // The kernel spreads accepts between the two workers (SCHED_NONE); concurrent rounds until both served.
  for (let round = 0; round < 8 && servedBy.size < 2; round++) {
    const results = await Promise.all(
      Array.from({ length: 16 }, () =>
        new Promise<{ reused: boolean }>((resolve, reject) => {
          const req = https.get(
            { host: '127.0.0.1', port: tlsPort, path: '/', servername: 'site.example.test', ca: pki.rootCert, agent: false, session: ticket } as https.RequestOptions,
            (res) => {
              const reused = (res.socket as tls.TLSSocket).isSessionReused();
              res.resume();
              res.on('end', () => resolve({ reused }));
            },
          );
          req.on('error', reject);
        }),
      ),
    );
    total += results.length;
    resumed += results.filter((r) => r.reused).length;
    for (const req of origin.seen) {
      const owner = ownerOfLocalPort(req.socket.remotePort ?? 0, pids);
      if (owner !== undefined) servedBy.add(owner);
    }
  }
  console.log(`resumed ${resumed}/${total} handshakes; workers that served: ${servedBy.size}`);
  assert.equal(resumed, total, 'every handshake with the ticket resumed');
  assert.equal(servedBy.size, 2, 'both workers served resumed connections');
});

test('replacing the certificate (ballast ctl cert add --replace) keeps an open keep-alive connection working; new handshakes get the new one', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ status: number; socket: tls.TLSSocket; hsts: string | undefined }>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: tlsPort, path: '/', servername: 'site.example.test', ca: pki.rootCert, agent }, (res) => {
          const socket = res.socket as tls.TLSSocket;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket, hsts: res.headers['strict-transport-security'] }));
        })
        .on('error', reject);
    });
  try {
    const a = await get();
    assert.equal(a.status, 200);
    assert.equal(a.hsts, 'max-age=600');
    assert.equal(a.socket.getPeerCertificate().fingerprint256, fingerprint(site1.cert));

    const ctl = await runCli(['ctl', '--api', admin, '--user', 'tester', '--password', 'tester-password', 'cert', 'add', 'site', '--cert', site2.chainFile, '--key', site2.keyFile, '--replace']);
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.match(ctl.stdout, /replaced certificate site for site\.example\.test/);
    const version = tn.node.store!.read().version;
    await tn.node.supervisor!.waitApplied(version, 10_000);

    const b = await get();
    assert.equal(b.status, 200);
    assert.equal(b.socket, a.socket, 'the same connection carried the request after the swap');
    assert.equal(b.socket.getPeerCertificate().fingerprint256, fingerprint(site1.cert), 'on the certificate it started with');
    // Every worker serves the new one to new handshakes.
    for (let i = 0; i < 8; i++) {
      const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'site.example.test', ca: pki.rootCert });
      await once(s, 'secureConnect');
      assert.equal(s.getPeerCertificate().fingerprint256, fingerprint(site2.cert));
      s.end();
    }
  } finally {
    agent.destroy();
  }
});

test('expiry: ballast_certificate_expiry_seconds on /metrics, a warning field 30 days out in the API and in `ctl cert list`', async () => {
  const soon = pki.leaf('soon', ['soon.example.test'], { notAfter: new Date(Date.now() + 10 * 86_400_000) });
  const ctl = await runCli(['ctl', '--api', admin, '--user', 'tester', '--password', 'tester-password', 'cert', 'add', 'soon', '--cert', soon.chainFile, '--key', soon.keyFile]);
  assert.equal(ctl.code, 0, ctl.stderr);
  assert.match(ctl.stdout, /added certificate soon .*\(warning: expires in (9|10) days\)/);
  const listed = await runCli(['ctl', '--api', admin, '--user', 'tester', '--password', 'tester-password', 'cert', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /soon\s+soon\.example\.test\s+\S+\s+(9|10)d WARN/);
  assert.match(listed.stdout, /site\s+site\.example\.test\s+\S+\s+36[45]d\s+secure/);
  const one = await api('GET', '/api/v1/certificates/soon');
  assert.match(String((one.body['certificate'] as Record<string, unknown>)['warning']), /expires in (9|10) days/);
  // Serve it so the workers report it, then read the metric the node aggregates.
  const put = await api('PUT', '/api/v1/listeners/secure', {
    name: 'secure',
    mode: 'http',
    bind: `127.0.0.1:${tlsPort}`,
    routes: [{ pathPrefix: '/', pool: 'web' }],
    tls: { certificates: [{ name: 'site' }, { name: 'soon' }], hsts: { maxAge: 600 } },
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  await tn.node.supervisor!.waitApplied(tn.node.store!.read().version, 10_000);
  const metrics = await (await fetch(`${admin}/metrics`, { headers: AUTH })).text();
  const value = (name: string) => Number(new RegExp(`^ballast_certificate_expiry_seconds\\{certificate="${name}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
  const soonS = value('soon');
  const siteS = value('site');
  assert.ok(soonS > 9 * 86_400 && soonS <= 10 * 86_400, `soon: ${soonS}`);
  assert.ok(siteS > 364 * 86_400 && siteS <= 365 * 86_400, `site: ${siteS}`);
  // The SNI name picks the second certificate on the same listener, no restart.
  const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'soon.example.test', ca: pki.rootCert });
  await once(s, 'secureConnect');
  assert.equal(s.getPeerCertificate().fingerprint256, fingerprint(soon.cert));
  s.end();
});
