// OCSP stapling against a real `openssl ocsp` responder on 127.0.0.1, with a leaf from the test
// PKI that names it: a client asking for status gets a stapled "good" response through a real
// listener; the staple outlives the responder while cached, and is gone once the cache went stale;
// a responder that is down or never answers costs no handshake anything.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { normalizeListener } from '../../config/normalize.js';
import { DataPlane } from '../../lb/data-plane.js';
import { ocspRequest, ocspUrl, parseOcspResponse } from '../../lb/tls/ocsp.js';
import { OcspStapler } from '../../lb/tls/ocsp-stapler.js';
import { freePort } from '../support/free-port.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';

const logger = pino({ level: process.env['BALLAST_LOG_LEVEL'] ?? 'silent' });
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

let pki: TestPki;
before(() => {
  pki = createTestPki();
  cleanups.push(() => pki.cleanup());
});

/**
 * The intermediate's OCSP responder: an HTTP server on 127.0.0.1 handing each request to `openssl
 * ocsp` in responder mode (-index, -reqin/-respout), so the responses are openssl's own while the
 * socket stays on loopback (openssl's own -port listens on every interface).
 */
async function startResponder(signer = 'int1'): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  let n = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = `ocsp-${process.pid}-${n++}`;
      const reqFile = join(pki.dir, `${id}.req`);
      const respFile = join(pki.dir, `${id}.resp`);
      writeFileSync(reqFile, Buffer.concat(chunks));
      execFile(
        'openssl',
        ['ocsp', '-index', 'index.txt', '-CA', 'int1.pem', '-rsigner', `${signer}.pem`, '-rkey', `${signer}.key`, '-nmin', '10', '-reqin', reqFile, '-respout', respFile],
        { cwd: pki.dir },
        (err) => {
          if (err !== null) {
            res.writeHead(500).end(err.message);
            return;
          }
          res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(readFileSync(respFile));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  };
  cleanups.push(stop);
  return { url: `http://127.0.0.1:${port}`, port, stop };
}

/** POST an OCSP request for `cert` to `url`; the DER answer. */
async function ask(url: string, cert: X509Certificate, issuer: X509Certificate): Promise<Buffer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: new Uint8Array(ocspRequest(cert, issuer)) });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** What openssl makes of a DER OCSP response (independent of our parser). */
function opensslReads(der: Buffer): string {
  const file = join(pki.dir, `staple-${Date.now()}-${Math.random()}.der`);
  writeFileSync(file, der);
  return execFileSync('openssl', ['ocsp', '-respin', file, '-resp_text', '-noverify'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function listenerWith(leaf: Leaf): Promise<number> {
  const dp = new DataPlane({ logger, registry: new Registry() });
  cleanups.push(() => dp.drain(500));
  const report = await dp.apply({
    version: 1,
    listeners: [normalizeListener({ name: 'web', mode: 'http', bind: '127.0.0.1:0', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ certFile: leaf.chainFile, keyFile: leaf.keyFile }] } }, 'listeners[0]')],
    pools: [],
    health: {},
    certificates: [],
  });
  assert.deepEqual(report.errors, {});
  return report.listening['web'] ?? assert.fail('not listening');
}

/** One handshake asking for OCSP; the staple (if any) and how long the handshake took. */
function handshake(port: number, servername: string): Promise<{ staple: Buffer | undefined; ms: number; authorized: boolean }> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    let staple: Buffer | undefined;
    // requestOCSP is a TLSSocket option node also reads in connect(); its typings leave it out there.
    const options: tls.ConnectionOptions & { requestOCSP: boolean } = { host: '127.0.0.1', port, servername, ca: pki.rootCert, requestOCSP: true };
    const socket = tls.connect(options, () => {
      const authorized = socket.authorized;
      socket.end();
      resolve({ staple, ms: performance.now() - began, authorized });
    });
    socket.on('OCSPResponse', (r: Buffer | null | undefined) => {
      if (r instanceof Buffer && r.length > 0) staple = r;
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
  });
}

describe('OCSP stapling', () => {
  it('builds a request openssl answers, and reads the answer as openssl does', async () => {
    const responder = await startResponder();
    const leaf = pki.leaf('ocsp-codec', ['codec.example.test'], { ocspUrl: responder.url });
    const cert = new X509Certificate(leaf.cert);
    const issuer = new X509Certificate(pki.intermediateCert);
    assert.equal(ocspUrl(cert), responder.url);
    assert.equal(ocspUrl(issuer), undefined, 'no AIA, no responder');
    const der = await ask(responder.url, cert, issuer);
    const answer = parseOcspResponse(der, cert, issuer);
    assert.equal(answer.status, 'good');
    assert.ok(answer.nextUpdate !== undefined && answer.nextUpdate - answer.thisUpdate >= 9 * 60_000, 'nextUpdate ~10 min after thisUpdate (-nmin 10)');
    assert.match(opensslReads(der), /Cert Status: good/);
    // A response about another certificate is not taken for this one.
    const other = new X509Certificate(pki.leaf('ocsp-other', ['other.example.test']).cert);
    assert.throws(() => parseOcspResponse(der, other, issuer), /does not cover this certificate/);
    // Signed content changed after signing (producedAt's last seconds digit): refused.
    const damaged = Buffer.from(der);
    const at = damaged.indexOf(Buffer.from([0x18, 0x0f]));
    assert.ok(at > 0, 'a GeneralizedTime in the response');
    damaged[at + 15] = damaged[at + 15] === 0x30 ? 0x31 : 0x30;
    assert.throws(() => parseOcspResponse(damaged, cert, issuer), /not signed by the issuer/);
    await responder.stop();
  });

  it('takes a response signed by a responder the issuer delegated to, refuses one signed by anyone else', async () => {
    // A delegated responder: issued by int1 for OCSP signing (openssl embeds it in its responses).
    writeFileSync(join(pki.dir, 'ocsp-signer.ext'), '[ocsp_ext]\nbasicConstraints = CA:false\nkeyUsage = digitalSignature\nextendedKeyUsage = OCSPSigning\n');
    const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'delegate.key', '-out', 'delegate.csr', '-subj', '/CN=Ballast Test OCSP responder']);
    run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'int1.pem', '-keyfile', 'int1.key', '-in', 'delegate.csr', '-out', 'delegate.pem', '-extfile', 'ocsp-signer.ext', '-extensions', 'ocsp_ext', '-days', '30', '-notext']);
    const issuer = new X509Certificate(pki.intermediateCert);
    const delegated = await startResponder('delegate');
    const cert = new X509Certificate(pki.leaf('ocsp-delegated', ['delegated.example.test'], { ocspUrl: delegated.url }).cert);
    assert.equal(parseOcspResponse(await ask(delegated.url, cert, issuer), cert, issuer).status, 'good');
    await delegated.stop();
    // int2 is a sibling CA, not this certificate's issuer: its signature proves nothing.
    const stranger = await startResponder('int2');
    const forged = await ask(stranger.url, cert, issuer);
    assert.match(opensslReads(forged), /Cert Status: good/, 'openssl did answer "good", signed with int2');
    assert.throws(() => parseOcspResponse(forged, cert, issuer), /not signed by the issuer/);
    await stranger.stop();
  });

  it('staples a good response through a real listener; keeps stapling it while the responder is down', async () => {
    const responder = await startResponder();
    const leaf = pki.leaf('ocsp-live', ['live.example.test'], { ocspUrl: responder.url });
    const lb = await listenerWith(leaf);
    // The first handshake that asks starts the fetch; a later one gets the staple.
    let staple: Buffer | undefined;
    for (let i = 0; i < 40 && staple === undefined; i++) {
      const h = await handshake(lb, 'live.example.test');
      assert.equal(h.authorized, true);
      staple = h.staple;
      if (staple === undefined) await sleep(250);
    }
    assert.ok(staple !== undefined, 'a stapled response arrived within 40 handshakes');
    const text = opensslReads(staple);
    assert.match(text, /Cert Status: good/);
    assert.match(text, new RegExp(`Serial Number: ${new X509Certificate(leaf.cert).serialNumber}`, 'i'));
    await responder.stop();
    const after = await handshake(lb, 'live.example.test');
    assert.ok(after.staple?.equals(staple), 'the cached response is still stapled with the responder gone');
  });

  it('a responder that is down, or accepts and never answers, costs the handshake nothing: no staple, no wait', async () => {
    const held = new Set<Socket>();
    const silent = createServer((s) => held.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          silent.close(() => r());
          for (const s of held) s.destroy();
        }),
    );
    const silentPort = (silent.address() as { port: number }).port;
    const downPort = await freePort();
    for (const [id, port] of [['ocsp-silent', silentPort], ['ocsp-down', downPort]] as const) {
      const leaf = pki.leaf(id, [`${id}.example.test`], { ocspUrl: `http://127.0.0.1:${port}` });
      const lb = await listenerWith(leaf);
      for (let i = 0; i < 3; i++) {
        const h = await handshake(lb, `${id}.example.test`);
        assert.equal(h.authorized, true, `${id}: handshake ${i} verified`);
        assert.equal(h.staple, undefined, `${id}: nothing stapled`);
        assert.ok(h.ms < 3000, `${id}: handshake ${i} took ${Math.round(h.ms)} ms`);
      }
    }
  });

  it('the cache: good until nextUpdate minus a margin; then, with the responder gone, nothing is stapled', async () => {
    const responder = await startResponder();
    const leaf = pki.leaf('ocsp-cache', ['cache.example.test'], { ocspUrl: responder.url });
    let clock = Date.now();
    const stapler = new OcspStapler({ logger, listener: 'web', now: () => clock, fetchTimeoutMs: 2000 });
    cleanups.push(() => stapler.close());
    const cert = new X509Certificate(leaf.cert).raw;
    const issuer = new X509Certificate(pki.intermediateCert).raw;
    const ask = (): Buffer | null | undefined => {
      let got: Buffer | null | undefined = undefined;
      let called = false;
      stapler.handle(cert, issuer, (_err, resp) => {
        called = true;
        got = resp;
      });
      assert.ok(called, 'answered synchronously, never waiting on the responder');
      return got;
    };
    assert.equal(ask(), null, 'nothing cached before the first fetch');
    await stapler.refreshAll();
    const first = ask();
    assert.ok(first instanceof Buffer, 'stapled once fetched');
    assert.match(opensslReads(first), /Cert Status: good/);
    await responder.stop();
    clock += 6 * 60_000;
    assert.ok(ask()?.equals(first), '6 min into a 10 min response: still stapled');
    await stapler.refreshAll();
    assert.ok(ask()?.equals(first), 'a failed refresh keeps the cached response');
    clock += 3 * 60_000;
    assert.equal(ask(), null, '9 min in: within the margin before nextUpdate, no longer stapled');
    assert.equal(stapler.stapled(cert), undefined);
    // A certificate that names no responder never triggers a fetch.
    const plain = pki.leaf('ocsp-none', ['none.example.test']);
    let resp: Buffer | null | undefined = Buffer.alloc(1);
    stapler.handle(new X509Certificate(plain.cert).raw, issuer, (_e, r) => (resp = r));
    assert.equal(resp, null);
  });
});
