// The edge of the HTTP engine over real TLS sockets, run by a real DataPlane in this process:
// SNI certificate choice, chains, versions, resumption, hot swap under a live connection, HTTP/2
// by ALPN balanced per stream, compression, header hygiene, HSTS, redirect, re-encryption to
// backends, and TLS passthrough routed by SNI in TCP mode. Certificates come from openssl.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import type { ListenerInput, PoolInput } from '../../config/schema.js';
import { DataPlane } from '../../lb/data-plane.js';
import type { CertificateSpec, DataPlaneState } from '../../lb/types.js';
import { freePort } from '../support/free-port.js';
import { startOrigin, type Origin } from '../support/origin-server.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';

const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'silent' });
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

let pki: TestPki;
let exact: Leaf;
let wild: Leaf;
let fallback: Leaf;
before(() => {
  pki = createTestPki();
  cleanups.push(() => pki.cleanup());
  fallback = pki.leaf('default', ['default.example.test']);
  exact = pki.leaf('exact', ['a.example.test']);
  wild = pki.leaf('wild', ['*.wild.example.test']);
});

let version = 0;
function state(listeners: ListenerInput[], pools: PoolInput[], certificates: CertificateSpec[] = [], ticketSeed?: string): DataPlaneState {
  const s: DataPlaneState = {
    version: ++version,
    listeners: listeners.map((l, i) => normalizeListener(l, `listeners[${i}]`)),
    pools: pools.map((p, i) => normalizePool(p, `pools[${i}]`)),
    health: {},
    certificates,
  };
  if (ticketSeed !== undefined) s.ticketSeed = ticketSeed;
  return s;
}

async function plane(s: DataPlaneState): Promise<{ dp: DataPlane; port: (name: string) => number; registry: Registry }> {
  const registry = new Registry();
  const dp = new DataPlane({ logger, registry });
  cleanups.push(() => dp.drain(500));
  const report = await dp.apply(s);
  assert.deepEqual(report.errors, {}, 'every listener started');
  return { dp, registry, port: (name) => report.listening[name] ?? assert.fail(`${name} not listening`) };
}

async function origins(n: number): Promise<Origin[]> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => startOrigin(`o${i + 1}`)));
  for (const o of list) cleanups.push(() => o.close());
  return list;
}

const pool = (name: string, os: Origin[]): PoolInput => ({ name, backends: os.map((o) => ({ name: o.name, address: o.address })) });

/** One TLS handshake; resolves with the socket once secure (caller ends it). */
function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: pki.rootCert, ...opts }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function subjectCN(socket: tls.TLSSocket): string {
  return socket.getPeerCertificate().subject.CN as string;
}

/** GET over https with our root trusted; keeps nothing alive unless an agent says so. */
function httpsGet(port: number, path: string, opts: https.RequestOptions = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca: pki.rootCert, servername: 'a.example.test', ...opts }, (res) => {
      const chunks: Buffer[] = [];
      // A keep-alive agent takes the socket back once the body ended: hold on to it now.
      const socket = res.socket as tls.TLSSocket;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function tlsListener(extra: Partial<ListenerInput> = {}, tlsExtra: Record<string, unknown> = {}): ListenerInput {
  return {
    name: 'web',
    mode: 'http',
    bind: '127.0.0.1:0',
    routes: [{ pathPrefix: '/', pool: 'web' }],
    tls: { certificates: [{ certFile: fallback.chainFile, keyFile: fallback.keyFile }, { cert: exact.chain, key: exact.key }, { certFile: wild.chainFile, keyFile: wild.keyFile }], ...tlsExtra },
    ...extra,
  };
}

describe('TLS termination', () => {
  it('picks the certificate by SNI (exact, wildcard one label deep), else the default; serves the full chain', async () => {
    const os = await origins(1);
    const { port } = await plane(state([tlsListener()], [pool('web', os)]));
    const cases: [string | undefined, string][] = [
      ['a.example.test', 'a.example.test'],
      ['x.wild.example.test', '*.wild.example.test'],
      ['A.EXAMPLE.TEST', 'a.example.test'],
      ['deep.x.wild.example.test', 'default.example.test'],
      ['unknown.example.test', 'default.example.test'],
      [undefined, 'default.example.test'],
    ];
    for (const [servername, cn] of cases) {
      const s = await handshake(port('web'), { ...(servername === undefined ? {} : { servername }), rejectUnauthorized: false });
      assert.equal(subjectCN(s), cn, `SNI ${servername ?? '(none)'}`);
      // The intermediate came along: the chain verifies against the root alone.
      const issuer = s.getPeerCertificate(true).issuerCertificate;
      assert.equal(issuer.subject.CN, 'Ballast Test int1', 'intermediate sent');
      s.end();
    }
    // Full verification (chain and name) with only the root trusted.
    const v = await handshake(port('web'), { servername: 'q.wild.example.test' });
    assert.equal(v.authorized, true);
    v.end();
    const r = await httpsGet(port('web'), '/');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'o1');
  });

  it('speaks TLS 1.2 and 1.3 by default with modern ciphers, refuses 1.1; minVersion TLSv1.3 refuses 1.2', async () => {
    const os = await origins(1);
    const { port } = await plane(
      state(
        [tlsListener(), { ...tlsListener({ name: 'only13' }, { minVersion: 'TLSv1.3' }) }],
        [pool('web', os)],
      ),
    );
    const v13 = await handshake(port('web'), { servername: 'a.example.test' });
    assert.equal(v13.getProtocol(), 'TLSv1.3');
    v13.end();
    const v12 = await handshake(port('web'), { servername: 'a.example.test', maxVersion: 'TLSv1.2' });
    assert.equal(v12.getProtocol(), 'TLSv1.2');
    assert.match(v12.getCipher().name, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    v12.end();
    await assert.rejects(handshake(port('web'), { servername: 'a.example.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
    await assert.rejects(handshake(port('only13'), { servername: 'a.example.test', maxVersion: 'TLSv1.2' }));
    const ok13 = await handshake(port('only13'), { servername: 'a.example.test' });
    assert.equal(ok13.getProtocol(), 'TLSv1.3');
    ok13.end();
  });

  it('resumes sessions (TLS 1.3 tickets and TLS 1.2)', async () => {
    const os = await origins(1);
    const { port } = await plane(state([tlsListener()], [pool('web', os)], [], randomBytes(32).toString('base64')));
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      // TLS 1.3 sends its tickets after the handshake: take the session from the 'session' event.
      const first = tls.connect({ host: '127.0.0.1', port: port('web'), ca: pki.rootCert, servername: 'a.example.test', maxVersion });
      const [ticket] = (await once(first, 'session')) as [Buffer];
      assert.equal(first.isSessionReused(), false);
      first.end();
      const second = await handshake(port('web'), { servername: 'a.example.test', maxVersion, session: ticket });
      assert.equal(second.isSessionReused(), true, `${maxVersion} session reused`);
      second.end();
    }
  });

  it('a ticket issued by one worker resumes on another worker with the same seed, and not under another seed', async () => {
    const os = await origins(1);
    const seed = randomBytes(32).toString('base64');
    // Each DataPlane is what one worker process runs; the node gives all of them the same seed.
    const a = await plane(state([tlsListener()], [pool('web', os)], [], seed));
    const b = await plane(state([tlsListener()], [pool('web', os)], [], seed));
    const c = await plane(state([tlsListener()], [pool('web', os)], [], randomBytes(32).toString('base64')));
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = tls.connect({ host: '127.0.0.1', port: a.port('web'), ca: pki.rootCert, servername: 'a.example.test', maxVersion });
      const [ticket] = (await once(first, 'session')) as [Buffer];
      first.end();
      const same = await handshake(b.port('web'), { servername: 'a.example.test', maxVersion, session: ticket });
      assert.equal(same.isSessionReused(), true, `${maxVersion}: resumed on the other worker`);
      same.end();
      const other = await handshake(c.port('web'), { servername: 'a.example.test', maxVersion, session: ticket });
      assert.equal(other.isSessionReused(), false, `${maxVersion}: another seed cannot open the ticket`);
      other.end();
    }
  });

  it('replaces a cluster certificate live: an open keep-alive connection keeps working, new handshakes get the new one', async () => {
    const os = await origins(1);
    const v1 = pki.leaf('swap1', ['swap.example.test']);
    const v2 = pki.leaf('swap2', ['swap.example.test']);
    const listener = tlsListener({}, {});
    (listener.tls as { certificates: unknown[] }).certificates = [{ name: 'site' }];
    const { dp, port } = await plane(state([listener], [pool('web', os)], [{ name: 'site', cert: v1.chain, key: v1.key }]));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const opts = { agent, servername: 'swap.example.test' };
    const r1 = await httpsGet(port('web'), '/', opts);
    assert.equal(r1.status, 200);
    const fp1 = r1.socket.getPeerCertificate().fingerprint256;
    assert.equal(fp1, new (await import('node:crypto')).X509Certificate(v1.cert).fingerprint256);

    const report = await dp.apply(state([listener], [pool('web', os)], [{ name: 'site', cert: v2.chain, key: v2.key }]));
    assert.deepEqual(report.errors, {});
    const r2 = await httpsGet(port('web'), '/', opts);
    assert.equal(r2.status, 200);
    assert.equal(r2.socket, r1.socket, 'the same keep-alive connection carried the second request');
    assert.equal(r2.socket.getPeerCertificate().fingerprint256, fp1, 'and it still runs on the old certificate');

    const fresh = await handshake(port('web'), { servername: 'swap.example.test' });
    assert.equal(fresh.getPeerCertificate().fingerprint256, new (await import('node:crypto')).X509Certificate(v2.cert).fingerprint256, 'a new handshake gets the new certificate');
    fresh.end();
  });

  it('refuses to start a listener whose certificate file does not match its key, naming the field', async () => {
    const os = await origins(1);
    assert.throws(
      () => normalizeListener({ ...tlsListener(), tls: { certificates: [{ certFile: exact.chainFile, keyFile: wild.keyFile }] } }, 'listeners[0]'),
      /listeners\[0\]\.tls\.certificates\[0\]: the private key does not match the certificate "a\.example\.test"/,
    );
    assert.throws(
      () => normalizeListener({ ...tlsListener(), tls: { certificates: [{ certFile: exact.chainFile }] } }, 'l'),
      /l\.tls\.certificates\[0\]\.keyFile: is required with certFile/,
    );
    // A named certificate the state does not hold: the listener reports it and does not listen.
    const listener = tlsListener();
    (listener.tls as { certificates: unknown[] }).certificates = [{ name: 'nope' }];
    const dp = new DataPlane({ logger, registry: new Registry() });
    cleanups.push(() => dp.drain(100));
    const report = await dp.apply(state([listener], [pool('web', os)]));
    assert.match(report.errors['web'] ?? '', /certificate "nope".*no certificate of that name/);
  });
});

describe('HTTP/2 at the edge', () => {
  it('negotiates h2 and http/1.1 by ALPN', async () => {
    const os = await origins(1);
    const { port } = await plane(state([tlsListener()], [pool('web', os)]));
    const h2 = await handshake(port('web'), { servername: 'a.example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(h2.alpnProtocol, 'h2');
    h2.end();
    const h1 = await handshake(port('web'), { servername: 'a.example.test', ALPNProtocols: ['http/1.1'] });
    assert.equal(h1.alpnProtocol, 'http/1.1');
    h1.end();
  });

  it('balances the streams of one h2 connection per request over HTTP/1.1 backends', async () => {
    const os = await origins(3);
    const { port } = await plane(state([tlsListener({ headers: { hideServer: 'ballast' } })], [pool('web', os)]));
    const session = http2.connect(`https://127.0.0.1:${port('web')}`, { ca: pki.rootCert, servername: 'a.example.test' });
    cleanups.push(() => session.destroy());
    const N = 60;
    const bodies = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        new Promise<{ status: number; body: string; server: unknown }>((resolve, reject) => {
          const req = session.request({ ':path': `/item/${i}`, ':authority': 'a.example.test', cookie: 'a=1', 'x-n': String(i) });
          req.end();
          let status = 0;
          let server: unknown;
          const chunks: Buffer[] = [];
          req.on('response', (h) => {
            status = Number(h[':status']);
            server = h['server'];
          });
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), server }));
          req.on('error', reject);
        }),
      ),
    );
    assert.ok(bodies.every((b) => b.status === 200));
    assert.ok(bodies.every((b) => b.server === 'ballast'), 'header policy applies to h2 responses');
    const tally: Record<string, number> = {};
    for (const b of bodies) tally[b.body] = (tally[b.body] ?? 0) + 1;
    // Round-robin per stream: 20 each (the same connection would pin one backend if balanced per connection).
    assert.deepEqual(Object.keys(tally).sort(), ['o1', 'o2', 'o3']);
    for (const o of os) assert.ok(Math.abs((tally[o.name] ?? 0) - N / 3) <= 2, `${o.name}: ${tally[o.name]}`);
    const seen = os.flatMap((o) => o.seen);
    assert.equal(seen.length, N);
    for (const req of seen) {
      assert.equal(req.httpVersion, '1.1', 'backends speak HTTP/1.1');
      assert.equal(req.headers.host, 'a.example.test', ':authority became Host');
      assert.equal(req.headers['x-forwarded-proto'], 'https');
    }
    session.close();
  });
});

/** An origin that answers /big (streamed in chunks), /tiny, /gz (already gzip), /png, /echo (hash of the body), /slowstream. */
async function contentOrigin(): Promise<{ port: number; big: Buffer; release: () => void; close: () => Promise<void> }> {
  const big = Buffer.from(Array.from({ length: 4000 }, (_, i) => `line ${i} of a compressible text body\n`).join(''));
  let release: () => void = () => undefined;
  const server = http.createServer((req, res) => {
    switch (req.url) {
      case '/big': {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', server: 'Apache/2.4', 'x-powered-by': 'PHP/8' });
        for (let i = 0; i < big.length; i += 16_384) res.write(big.subarray(i, i + 16_384));
        res.end();
        return;
      }
      case '/tiny':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('small');
        return;
      case '/gz': {
        const gz = zlib.gzipSync(big);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(gz.length) }).end(gz);
        return;
      }
      case '/echo': {
        const h = createHash('sha256');
        let n = 0;
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${n}:${h.digest('hex')}`));
        return;
      }
      case '/png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(big.length) }).end(big);
        return;
      case '/slowstream': {
        // First part now; the rest only once the test saw the first bytes arrive decoded.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(big.subarray(0, 20_000));
        release = () => res.end(big.subarray(20_000));
        return;
      }
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    big,
    release: () => release(),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

describe('compression', () => {
  it('gzip and brotli by Accept-Encoding (q-values), size floor, already-compressed and non-text untouched, Vary set', async () => {
    const origin = await contentOrigin();
    cleanups.push(() => origin.close());
    const { port } = await plane(
      state(
        [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'c' }], compression: { minBytes: 100, level: 6 } }],
        [{ name: 'c', backends: [{ name: 'c1', address: `127.0.0.1:${origin.port}` }] }],
      ),
    );
    const get = (path: string, ae?: string) =>
      new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: port('web'), path, headers: ae === undefined ? {} : { 'accept-encoding': ae } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    const br = await get('/big', 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers['vary'], 'Accept-Encoding');
    assert.ok(zlib.brotliDecompressSync(br.body).equals(origin.big), 'br decodes to the original bytes');
    assert.ok(br.body.length < origin.big.length / 5, `br is smaller: ${br.body.length}`);

    const gz = await get('/big', 'br;q=0.5, gzip;q=1');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(gz.body).equals(origin.big), 'gzip decodes to the original bytes');

    const none = await get('/big', 'br;q=0, gzip;q=0');
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.headers['vary'], 'Accept-Encoding');
    assert.ok(none.body.equals(origin.big));

    const identity = await get('/big');
    assert.equal(identity.headers['content-encoding'], undefined);

    const tiny = await get('/tiny', 'gzip');
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.equal(tiny.body.toString(), 'small');

    const pre = await get('/gz', 'br');
    assert.equal(pre.headers['content-encoding'], 'gzip', "the backend's encoding is kept");
    assert.ok(zlib.gunzipSync(pre.body).equals(origin.big));

    const png = await get('/png', 'gzip');
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.headers['vary'], undefined);
  });

  it('streams: the first decoded bytes arrive before the origin has finished the body', async () => {
    const origin = await contentOrigin();
    cleanups.push(() => origin.close());
    const { port } = await plane(
      state(
        [{ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'c' }], compression: {} }],
        [{ name: 'c', backends: [{ name: 'c1', address: `127.0.0.1:${origin.port}` }] }],
      ),
    );
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: port('web'), path: '/slowstream', headers: { 'accept-encoding': 'gzip' } }, resolve).on('error', reject),
    );
    assert.equal(res.headers['content-encoding'], 'gzip');
    const gunzip = zlib.createGunzip();
    res.pipe(gunzip);
    const decoded: Buffer[] = [];
    let have = 0;
    const firstBytes = new Promise<void>((resolve) =>
      gunzip.on('data', (c: Buffer) => {
        decoded.push(c);
        have += c.length;
        if (have > 0) resolve();
      }),
    );
    const timeout = sleep(10_000).then(() => 'timeout' as const);
    assert.notEqual(await Promise.race([firstBytes.then(() => 'data' as const), timeout]), 'timeout', 'decoded bytes arrived while the origin held the rest');
    origin.release();
    await once(gunzip, 'end');
    assert.ok(Buffer.concat(decoded).equals(origin.big), 'the whole body decodes to the original');
  });
});

describe('header hygiene, HSTS, redirect, X-Forwarded-Proto', () => {
  it('rewrites Server, drops X-Powered-By, adds headers and HSTS; the redirect listener answers 301 to https', async () => {
    const origin = await contentOrigin();
    cleanups.push(() => origin.close());
    const os = await origins(1);
    const redirectPort = await freePort();
    const { port } = await plane(
      state(
        [
          tlsListener(
            { routes: [{ pathPrefix: '/big', pool: 'c' }, { pathPrefix: '/', pool: 'web' }], headers: { hideServer: 'edge', removeResponse: ['x-origin'], addResponse: { 'X-Frame-Options': 'DENY' } } },
            { redirectHttp: `127.0.0.1:${redirectPort}`, hsts: { maxAge: 31536000, includeSubDomains: true } },
          ),
        ],
        [pool('web', os), { name: 'c', backends: [{ name: 'c1', address: `127.0.0.1:${origin.port}` }] }],
      ),
    );
    const r = await httpsGet(port('web'), '/big');
    assert.equal(r.status, 200);
    assert.equal(r.headers['server'], 'edge');
    assert.equal(r.headers['x-powered-by'], undefined);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    const o = await httpsGet(port('web'), '/x');
    assert.equal(o.headers['x-origin'], undefined, 'removed by name');
    assert.equal(os[0]!.seen.at(-1)?.headers['x-forwarded-proto'], 'https');
    assert.equal(os[0]!.seen.at(-1)?.headers['x-forwarded-for'], '127.0.0.1');
  });
});

describe('redirect listener', () => {
  it('answers every plain-HTTP request with a 301 to the same host and path over https', async () => {
    const os = await origins(1);
    const redirectPort = await freePort();
    const { port } = await plane(state([tlsListener({}, { redirectHttp: `127.0.0.1:${redirectPort}` })], [pool('web', os)]));
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: redirectPort, path: '/a/b?c=1', headers: { host: 'Site.Example.test:80' } }, resolve).on('error', reject),
    );
    res.resume();
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, `https://site.example.test:${port('web')}/a/b?c=1`);
    assert.equal(os[0]!.seen.length, 0, 'nothing reached the backend');
  });
});

describe('re-encryption to backends', () => {
  it('dials backends over TLS (verified against the given CA, SNI as configured), and fails closed with another CA', async () => {
    const backendCert = pki.leaf('backend', ['backend.internal.test'], { ips: ['127.0.0.1'] });
    const seen: { proto: string | undefined; servername: string | false; encrypted: boolean }[] = [];
    const server = https.createServer({ cert: backendCert.chain, key: backendCert.key }, (req, res) => {
      const sock = req.socket as tls.TLSSocket;
      seen.push({ proto: req.headers['x-forwarded-proto'] as string | undefined, servername: (sock as tls.TLSSocket & { servername: string | false }).servername, encrypted: sock.encrypted });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('secure backend');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    const bport = (server.address() as AddressInfo).port;
    const other = createTestPki();
    cleanups.push(() => other.cleanup());
    const backends = [{ name: 'b1', address: `127.0.0.1:${bport}` }];
    const { port } = await plane(
      state(
        [
          tlsListener({ routes: [{ pathPrefix: '/', pool: 'sec' }], backendTls: { ca: pki.rootCert, servername: 'backend.internal.test' } }),
          { name: 'ipname', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'sec' }], backendTls: { caFile: pki.rootFile } },
          { name: 'wrongca', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'sec' }], retries: 0, backendTls: { ca: other.rootCert } },
        ],
        [{ name: 'sec', backends }],
      ),
    );
    const r = await httpsGet(port('web'), '/');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'secure backend');
    assert.deepEqual(seen[0], { proto: 'https', servername: 'backend.internal.test', encrypted: true });
    // No servername: an IP backend is verified against its IP SAN, and no SNI is sent.
    const plain = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: port('ipname'), path: '/' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject),
    );
    assert.deepEqual(plain, { status: 200, body: 'secure backend' });
    assert.equal(seen[1]?.proto, 'http');
    const refused = await new Promise<number>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: port('wrongca'), path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    assert.equal(refused, 502, 'a backend whose certificate does not verify is not talked to');
    assert.equal(seen.length, 2);
  });
});

describe('TLS passthrough in TCP mode', () => {
  it('routes by the ClientHello SNI to two pools without decrypting; bytes arrive untouched; no SNI goes to the fallback', async () => {
    const mk = async (name: string, leaf: Leaf) => {
      const server = tls.createServer({ cert: leaf.chain, key: leaf.key }, (s) => {
        // Echo with a name prefix on the first line, then hash everything received.
        const h = createHash('sha256');
        s.on('data', (c: Buffer) => h.update(c));
        s.on('end', () => s.end(`${name}:${h.digest('hex')}`));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
      return (server.address() as AddressInfo).port;
    };
    const pa = await mk('A', exact);
    const pw = await mk('W', wild);
    const pd = await mk('D', fallback);
    const { port } = await plane(
      state(
        [{ name: 'pt', mode: 'tcp', bind: '127.0.0.1:0', pool: 'dflt', sniRoutes: [{ host: 'a.example.test', pool: 'pa' }, { host: '*.wild.example.test', pool: 'pw' }] }],
        [
          { name: 'pa', backends: [{ name: 'a', address: `127.0.0.1:${pa}` }] },
          { name: 'pw', backends: [{ name: 'w', address: `127.0.0.1:${pw}` }] },
          { name: 'dflt', backends: [{ name: 'd', address: `127.0.0.1:${pd}` }] },
        ],
      ),
    );
    const payload = randomBytes(300_000);
    const want = createHash('sha256').update(payload).digest('hex');
    for (const [servername, who, cn] of [['a.example.test', 'A', 'a.example.test'], ['x.wild.example.test', 'W', '*.wild.example.test'], [undefined, 'D', 'default.example.test']] as const) {
      const s = await handshake(port('pt'), servername === undefined ? { rejectUnauthorized: false } : { servername });
      // The certificate is the backend's own: the balancer did not terminate TLS.
      assert.equal(subjectCN(s), cn);
      assert.equal(s.authorized, servername !== undefined, 'verifies end to end against the root');
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.end(payload);
      await once(s, 'end');
      assert.equal(Buffer.concat(chunks).toString(), `${who}:${want}`);
    }
  });
});

describe('runtime changes', () => {
  it('compression, header policy and HSTS change live on a TLS listener: the open keep-alive connection sees them; turning h2 off replaces the listener', async () => {
    const origin = await contentOrigin();
    cleanups.push(() => origin.close());
    const pools: PoolInput[] = [{ name: 'c', backends: [{ name: 'c1', address: `127.0.0.1:${origin.port}` }] }];
    const base = tlsListener({ routes: [{ pathPrefix: '/', pool: 'c' }] });
    const { dp, port } = await plane(state([base], pools));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const opts = { agent, headers: { 'accept-encoding': 'gzip' } };
    const before = await httpsGet(port('web'), '/big', opts);
    assert.equal(before.headers['content-encoding'], undefined);
    assert.equal(before.headers['server'], 'Apache/2.4');

    const changed = tlsListener({ routes: [{ pathPrefix: '/', pool: 'c' }], compression: {}, headers: { hideServer: true } }, { hsts: { maxAge: 60 } });
    assert.deepEqual((await dp.apply(state([changed], pools))).errors, {});
    const after1 = await httpsGet(port('web'), '/big', opts);
    assert.equal(after1.socket, before.socket, 'same connection, no listener restart');
    assert.equal(after1.headers['content-encoding'], 'gzip');
    assert.ok(zlib.gunzipSync(after1.body).equals(origin.big));
    assert.equal(after1.headers['server'], undefined);
    assert.equal(after1.headers['x-powered-by'], undefined);
    assert.equal(after1.headers['strict-transport-security'], 'max-age=60');

    const noH2 = tlsListener({ routes: [{ pathPrefix: '/', pool: 'c' }] }, { http2: false });
    const report = await dp.apply(state([noH2], pools));
    assert.deepEqual(report.errors, {});
    const s = await handshake(report.listening['web'] ?? 0, { servername: 'a.example.test', ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(s.alpnProtocol, 'http/1.1', 'h2 no longer offered');
    s.end();
  });
});

describe('HTTP/2 request bodies', () => {
  it('uploads on concurrent h2 streams reach the HTTP/1.1 backend byte for byte', async () => {
    const origin = await contentOrigin();
    cleanups.push(() => origin.close());
    const { port } = await plane(state([tlsListener({ routes: [{ pathPrefix: '/', pool: 'c' }] })], [{ name: 'c', backends: [{ name: 'c1', address: `127.0.0.1:${origin.port}` }] }]));
    const session = http2.connect(`https://127.0.0.1:${port('web')}`, { ca: pki.rootCert, servername: 'a.example.test' });
    cleanups.push(() => session.destroy());
    const bodies = Array.from({ length: 8 }, () => randomBytes(200_000));
    const answers = await Promise.all(
      bodies.map(
        (body) =>
          new Promise<string>((resolve, reject) => {
            const req = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'application/octet-stream' });
            let text = '';
            req.on('data', (c: Buffer) => (text += c.toString()));
            req.on('end', () => resolve(text));
            req.on('error', reject);
            req.end(body);
          }),
      ),
    );
    answers.forEach((a, i) => assert.equal(a, `${bodies[i]!.length}:${createHash('sha256').update(bodies[i]!).digest('hex')}`));
    session.close();
  });
});

describe('gRPC passthrough', () => {
  it('an h2 client reaches an h2 (TLS) backend with TE: trailers; the grpc-status trailers come back', async () => {
    const backendCert = pki.leaf('grpc', ['grpc.internal.test'], { ips: ['127.0.0.1'] });
    const seen: { te: string | undefined; body: Buffer; proto: string }[] = [];
    const server = http2.createSecureServer({ cert: backendCert.chain, key: backendCert.key });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.push({ te: headers['te'] as string | undefined, body: Buffer.concat(chunks), proto: (stream.session?.socket as tls.TLSSocket | undefined)?.alpnProtocol || '' });
        // A gRPC reply: one length-prefixed message, then the status in trailers.
        const msg = Buffer.from('pong');
        const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
        stream.end(frame);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const bport = (server.address() as AddressInfo).port;
    const { port } = await plane(
      state(
        [tlsListener({ routes: [{ pathPrefix: '/', pool: 'g' }], backendTls: { ca: pki.rootCert, http2: true } })],
        [{ name: 'g', backends: [{ name: 'g1', address: `127.0.0.1:${bport}` }] }],
      ),
    );
    const session = http2.connect(`https://127.0.0.1:${port('web')}`, { ca: pki.rootCert, servername: 'a.example.test' });
    cleanups.push(() => session.destroy());
    const ping = Buffer.from('ping');
    const call = () =>
      new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; data: Buffer }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/pkg.Echo/Ping', 'content-type': 'application/grpc', te: 'trailers' });
        let headers: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        req.on('response', (h) => (headers = h));
        req.on('trailers', (t: http2.IncomingHttpHeaders) => (trailers = t));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve({ headers, trailers, data: Buffer.concat(chunks) }));
        req.on('error', reject);
        req.end(Buffer.concat([Buffer.from([0, 0, 0, 0, ping.length]), ping]));
      });
    const results = await Promise.all([call(), call(), call()]);
    for (const r of results) {
      assert.equal(r.headers[':status'], 200);
      assert.equal(r.headers['content-type'], 'application/grpc');
      assert.equal(r.trailers['grpc-status'], '0');
      assert.equal(r.trailers['grpc-message'], 'OK');
      assert.deepEqual([...r.data], [0, 0, 0, 0, 4, ...Buffer.from('pong')]);
    }
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.equal(s.te, 'trailers');
      assert.equal(s.proto, 'h2');
      assert.deepEqual([...s.body], [0, 0, 0, 0, 4, ...ping]);
    }
    session.close();
  });
});
