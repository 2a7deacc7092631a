// Certificates as data: upload checks with reasons, sealed keys, certificates in the replicated
// state, what workers get, the expiry metric and warning, ticket keys, ClientHello peeking, the
// SNI table and the config schema's messages. Certificates come from the openssl CLI.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import net from 'node:net';
import { once } from 'node:events';
import { StateMachine } from '../../cluster/state/machine.js';
import { buildConfig } from '../../config/load.js';
import { normalizeListener, normalizePool } from '../../config/normalize.js';
import { CertificateExpiry } from '../../lb/tls/certificate-expiry.js';
import { prepareCertificate } from '../../lb/tls/certificate-upload.js';
import { peekClientHello } from '../../lb/tls/client-hello.js';
import { TlsError } from '../../lb/tls/errors.js';
import { HostTable } from '../../lb/tls/host-table.js';
import { deriveSealKey, isSealed, unsealPrivateKey } from '../../lb/tls/key-seal.js';
import { sealInlineKeys } from '../../lb/tls/inline-keys.js';
import { ticketKeysFor } from '../../lb/tls/ticket-keys.js';
import { workerState } from '../../lb/tls/worker-secrets.js';
import { createTestPki, type Leaf, type TestPki } from '../support/test-pki.js';

let pki: TestPki;
let good: Leaf;
before(() => {
  pki = createTestPki();
  good = pki.leaf('good', ['good.example.test', 'www.good.example.test']);
});
after(() => pki.cleanup());

const seal = deriveSealKey('cluster-secret-one');

describe('certificate upload checks', () => {
  it('accepts a full chain and reports names, issuer and expiry; the key comes back sealed', () => {
    const p = prepareCertificate('good', good.chain, good.key, seal);
    assert.deepEqual(p.info.names, ['good.example.test', 'www.good.example.test']);
    assert.equal(p.info.chainLength, 2);
    assert.match(p.info.issuer, /Ballast Test int1/);
    assert.ok(p.info.notAfter > Date.now() + 300 * 86_400_000);
    assert.ok(isSealed(p.spec.key));
    assert.ok(!p.spec.key.includes('PRIVATE KEY'));
    assert.equal(unsealPrivateKey(p.spec.key, 'good', seal), good.key);
  });

  const refusals: [string, () => [string, string], string, RegExp][] = [
    ['an expired certificate', () => { const l = pki.leaf('old', ['old.example.test'], { notBefore: new Date('2020-01-01'), notAfter: new Date('2020-02-01') }); return [l.chain, l.key]; }, 'TLS_ERR_EXPIRED', /the certificate "old\.example\.test" expired on 2020-02-01/],
    ['a not yet valid certificate', () => { const l = pki.leaf('future', ['future.example.test'], { notBefore: new Date(Date.now() + 86_400_000) }); return [l.chain, l.key]; }, 'TLS_ERR_NOT_YET_VALID', /is not valid before/],
    ['a key of another certificate', () => [good.chain, pki.leaf('other', ['other.example.test']).key], 'TLS_ERR_KEY_MISMATCH', /private key does not match the certificate "good\.example\.test"/],
    ['a chain whose intermediate did not sign the leaf', () => { const l = pki.misChained('mis', 'mis.example.test'); return [l.chain, l.key]; }, 'TLS_ERR_CHAIN', /certificate #1 "mis\.example\.test" .* is not signed by the next certificate of the chain, "Ballast Test int1"/],
    ['intermediates in the wrong order', () => [pki.intermediateCert + good.cert, good.key], 'TLS_ERR_KEY_MISMATCH', /does not match/],
    ['not PEM at all', () => ['hello', good.key], 'TLS_ERR_PARSE', /no PEM certificate/],
    ['a key that is not PEM', () => [good.chain, 'nope'], 'TLS_ERR_PARSE', /private key does not parse/],
  ];
  for (const [what, input, code, message] of refusals) {
    it(`refuses ${what} with the reason`, () => {
      const [cert, key] = input();
      assert.throws(() => prepareCertificate('x', cert, key, seal), (err: unknown) => err instanceof TlsError && err.code === code && message.test(err.message));
    });
  }

  it('accepts a certificate expiring in 10 days (the API and the metric warn about it)', () => {
    const soon = pki.leaf('soon', ['soon.example.test'], { notAfter: new Date(Date.now() + 10 * 86_400_000) });
    const p = prepareCertificate('soon', soon.chain, soon.key, seal);
    assert.ok(p.info.notAfter - Date.now() < 11 * 86_400_000);
  });
});

describe('sealed keys', () => {
  it('open only under the same cluster secret and the same certificate name', () => {
    const sealed = prepareCertificate('site', good.chain, good.key, seal).spec.key;
    assert.equal(unsealPrivateKey(sealed, 'site', deriveSealKey('cluster-secret-one')), good.key);
    assert.throws(() => unsealPrivateKey(sealed, 'site', deriveSealKey('another-secret')), /sealed under another cluster secret/);
    assert.throws(() => unsealPrivateKey(sealed, 'moved', seal), /does not open/);
    const damaged = `${sealed.slice(0, -4)}AAAA`;
    assert.throws(() => unsealPrivateKey(damaged, 'site', seal), /does not open/);
  });

  it('workers get plaintext keys and the ticket seed; a key that does not open stays sealed with the reason', () => {
    const a = prepareCertificate('a', good.chain, good.key, seal).spec;
    const b = prepareCertificate('b', good.chain, good.key, deriveSealKey('other-secret')).spec;
    const seed = Buffer.alloc(32, 7);
    const r = workerState({ version: 3, listeners: [], pools: [], health: {}, certificates: [a, b] }, seal, seed);
    assert.equal(r.state.certificates?.[0]?.key, good.key);
    assert.ok(isSealed(r.state.certificates?.[1]?.key ?? ''));
    assert.match(r.errors['b'] ?? '', /another cluster secret/);
    assert.equal(r.state.ticketSeed, seed.toString('base64'));
  });
});

describe('inline listener keys', () => {
  it('are sealed for the state, bound to listener and position, and opened for workers', () => {
    const spec = normalizeListener({ name: 'web', mode: 'http', bind: '127.0.0.1:8443', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ name: 'site' }, { cert: good.chain, key: good.key }] } }, 'l');
    const sealed = sealInlineKeys(spec, seal);
    assert.ok(!JSON.stringify(sealed).includes('PRIVATE KEY'));
    assert.deepEqual(sealed.tls?.certificates[0], { name: 'site' });
    assert.equal(sealInlineKeys(sealed, seal), sealed, 'sealing twice changes nothing');
    const opened = workerState({ version: 1, listeners: [sealed], pools: [], health: {} }, seal, Buffer.alloc(32));
    assert.deepEqual(opened.state.listeners[0]?.tls?.certificates[1], { cert: good.chain, key: good.key });
    assert.deepEqual(opened.errors, {});
    const moved = { ...sealed, name: 'other' };
    const refused = workerState({ version: 1, listeners: [moved], pools: [], health: {} }, seal, Buffer.alloc(32));
    assert.match(refused.errors['listener:other#1'] ?? '', /does not open/);
  });
});

describe('certificates in the replicated state', () => {
  const web = normalizePool({ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:9101' }] }, 'p');
  const https = normalizeListener({ name: 'https', mode: 'http', bind: '0.0.0.0:8443', routes: [{ pathPrefix: '/', pool: 'web' }], tls: { certificates: [{ name: 'site' }] } }, 'l');

  it('cert.put stores sealed keys only; listeners must name stored certificates; a used certificate cannot be deleted', () => {
    const m = new StateMachine();
    assert.ok(m.apply({ v: 1, op: 'bootstrap', pools: [web], listeners: [] }).ok);
    const plain = m.apply({ v: 2, op: 'cert.put', certificate: { name: 'site', cert: good.chain, key: good.key } });
    assert.deepEqual(plain.ok ? null : plain.error, { code: 'STATE_ERR_INVALID', field: 'key', message: 'the key of certificate "site" must be sealed before it enters the replicated state' });
    const early = m.apply({ v: 2, op: 'listener.create', listener: https });
    assert.equal(early.ok ? '' : early.error.field, 'tls.certificates[0].name');
    const spec = prepareCertificate('site', good.chain, good.key, seal).spec;
    assert.ok(m.apply({ v: 2, op: 'cert.put', certificate: spec }).ok);
    assert.ok(m.apply({ v: 2, op: 'listener.create', listener: https }).ok);
    const del = m.apply({ v: 2, op: 'cert.delete', name: 'site' });
    assert.match(del.ok ? '' : del.error.message, /used by listener "https"/);
    assert.equal(m.dataPlane().certificates?.[0]?.key, spec.key);
    // Snapshots carry certificates; a restored machine serves the same state.
    const copy = new StateMachine();
    copy.restore(m.snapshot());
    assert.deepEqual(copy.dataPlane(), m.dataPlane());
    assert.ok(m.apply({ v: 1, op: 'listener.delete', listener: 'https' }).ok);
    assert.ok(m.apply({ v: 2, op: 'cert.delete', name: 'site' }).ok);
    assert.deepEqual(m.dataPlane().certificates, []);
    const v1 = m.apply({ v: 1, op: 'cert.delete', name: 'site' } as never);
    assert.match(v1.ok ? '' : v1.error.message, /belongs to version 2/);
  });

  it('the audit log names the certificate and never its key', () => {
    const m = new StateMachine();
    const spec = prepareCertificate('site', good.chain, good.key, seal).spec;
    assert.ok(m.apply({ v: 2, op: 'audited', actor: { user: 'admin', via: 'session', from: '127.0.0.1' }, at: 1, cmd: { v: 2, op: 'cert.put', certificate: spec } }).ok);
    const [entry] = m.accessView().audit({ limit: 10 });
    assert.equal(entry?.target, 'site');
    assert.ok(!JSON.stringify(entry).includes('sealed:'));
  });
});

describe('expiry metric and warning', () => {
  it('ballast_certificate_expiry_seconds per certificate, and a warning log at 30 days or less', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (c: Buffer, _e, cb) => { lines.push(c.toString()); cb(); } }));
    const registry = new Registry();
    const now = Date.parse('2030-01-01T00:00:00Z');
    const expiry = new CertificateExpiry(registry, logger, () => now);
    const owner = {};
    expiry.track(owner, new Map([['far', now + 90 * 86_400_000], ['soon', now + 10 * 86_400_000]]));
    const metric = await registry.getSingleMetric('ballast_certificate_expiry_seconds')?.get();
    const values = Object.fromEntries((metric?.values ?? []).map((v): [string, number] => [String(v.labels['certificate']), v.value]));
    assert.deepEqual(values, { far: 90 * 86_400, soon: 10 * 86_400 });
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /"certificate":"soon".*certificate expires in 10 days/);
    expiry.release(owner);
    const gone = await registry.getSingleMetric('ballast_certificate_expiry_seconds')?.get();
    assert.equal(gone?.values.length, 0);
    expiry.close();
  });
});

describe('session ticket keys', () => {
  it('are the same for every worker with the same seed, differ per listener, seed and window', () => {
    const seed = Buffer.alloc(32, 1);
    assert.equal(ticketKeysFor(seed, 'web', 5).length, 48);
    assert.ok(ticketKeysFor(seed, 'web', 5).equals(ticketKeysFor(Buffer.alloc(32, 1), 'web', 5)));
    assert.ok(!ticketKeysFor(seed, 'web', 5).equals(ticketKeysFor(seed, 'api', 5)));
    assert.ok(!ticketKeysFor(seed, 'web', 5).equals(ticketKeysFor(seed, 'web', 6)));
    assert.ok(!ticketKeysFor(seed, 'web', 5).equals(ticketKeysFor(Buffer.alloc(32, 2), 'web', 5)));
  });
});

describe('ClientHello peek', () => {
  /** The bytes a real node TLS client sends first. */
  async function clientHello(servername: string | undefined): Promise<Buffer> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const got = once(server, 'connection');
    const port = (server.address() as net.AddressInfo).port;
    const client = tls.connect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), ALPNProtocols: ['h2', 'http/1.1'] });
    client.on('error', () => undefined);
    const [sock] = (await got) as [net.Socket];
    const [first] = (await once(sock, 'data')) as [Buffer];
    client.destroy();
    sock.destroy();
    server.close();
    return first;
  }

  it('reads SNI and ALPN, waits on partial records, and says not-tls for other protocols', async () => {
    const hello = await clientHello('Svc.Example.Test');
    assert.deepEqual(peekClientHello(hello), { kind: 'hello', serverName: 'svc.example.test', alpn: ['h2', 'http/1.1'] });
    for (const cut of [1, 5, 40, hello.length - 1]) assert.deepEqual(peekClientHello(hello.subarray(0, cut)), { kind: 'partial' }, `cut at ${cut}`);
    assert.deepEqual(peekClientHello(await clientHello(undefined)), { kind: 'hello', alpn: ['h2', 'http/1.1'] });
    assert.deepEqual(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { kind: 'not-tls' });
    assert.deepEqual(peekClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])), { kind: 'not-tls' });
  });
});

describe('SNI host table', () => {
  it('exact beats wildcard, the longest wildcard wins, certificate wildcards cover one label, route wildcards any depth', () => {
    const entries: [string, string][] = [['*.example.test', 'wild'], ['a.example.test', 'a'], ['*.b.example.test', 'b-wild']];
    const certs = new HostTable(entries, 'default', { wildcard: 'one-label' });
    assert.equal(certs.lookup('a.example.test'), 'a');
    assert.equal(certs.lookup('A.Example.Test.'), 'a');
    assert.equal(certs.lookup('z.example.test'), 'wild');
    assert.equal(certs.lookup('x.b.example.test'), 'b-wild');
    assert.equal(certs.lookup('y.x.example.test'), 'default');
    assert.equal(certs.lookup('example.test'), 'default');
    assert.equal(certs.lookup(undefined), 'default');
    const routes = new HostTable(entries, undefined, { wildcard: 'any' });
    assert.equal(routes.lookup('y.x.example.test'), 'wild');
  });
});

describe('config schema for the edge', () => {
  const base = (listener: Record<string, unknown>) => ({
    node: { id: 'n1', dataDir: '/tmp/x', adminListen: '127.0.0.1:9001' },
    bootstrap: { pools: [{ name: 'web', backends: [{ name: 'a', address: '127.0.0.1:9101' }] }], listeners: [{ name: 'web', mode: 'http', bind: '127.0.0.1:8443', routes: [{ pathPrefix: '/', pool: 'web' }], ...listener }] },
  });
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a certificate entry with two forms', { tls: { certificates: [{ certFile: '/a', keyFile: '/b', name: 'x' }] } }, /bootstrap\.listeners\[0\]\.tls\.certificates\[0\]: give one of: certFile \+ keyFile, cert \+ key/],
    ['an unknown tls field', { tls: { certificates: [{ name: 'x' }], minversion: 'TLSv1.2' } }, /bootstrap\.listeners\[0\]\.tls\.minversion: unknown field; allowed here: certificates, minVersion/],
    ['an old TLS version', { tls: { certificates: [{ name: 'x' }], minVersion: 'TLSv1' } }, /tls\.minVersion: must be one of: TLSv1\.2, TLSv1\.3/],
    ['no certificates', { tls: { certificates: [] } }, /tls\.certificates: must NOT have fewer than 1 items/],
    ['an unreadable cert file', { tls: { certificates: [{ certFile: '/nonexistent/c.pem', keyFile: '/nonexistent/k.pem' }] } }, /tls\.certificates\[0\]\.certFile: cannot read \/nonexistent\/c\.pem: ENOENT/],
    ['a compression level out of range', { compression: { level: 12 } }, /compression\.level: must be an integer 1\.\.9/],
    ['a header value with a line break', { headers: { addResponse: { 'X-A': 'a\r\nb' } } }, /headers\.addResponse\.X-A: must be printable ASCII/],
    ['sniRoutes on an http listener', { sniRoutes: [{ host: 'a.test', pool: 'web' }] }, /sniRoutes: only tcp listeners route by SNI/],
    ['backendTls with ca and caFile', { backendTls: { ca: 'x', caFile: '/y' } }, /backendTls\.caFile: give either ca or caFile/],
  ];
  for (const [what, listener, message] of cases) {
    it(`refuses ${what}, naming the field`, () => assert.throws(() => buildConfig(base(listener), '/tmp/x/c.yaml'), message));
  }

  it('fills defaults: TLS 1.2 minimum, h2 on, compression on with level 5 and a 1 KiB floor, backendTls: true verifies', () => {
    const c = buildConfig(base({ tls: { certificates: [{ certFile: good.chainFile, keyFile: good.keyFile }] }, compression: {}, backendTls: true }), '/tmp/x/c.yaml');
    const l = c.bootstrap.listeners[0]!;
    assert.deepEqual(l.tls, { certificates: [{ certFile: good.chainFile, keyFile: good.keyFile }], minVersion: 'TLSv1.2', http2: true });
    assert.equal(l.compression?.level, 5);
    assert.equal(l.compression?.minBytes, 1024);
    assert.ok(l.compression?.types.includes('text/*'));
    assert.deepEqual(l.backendTls, { enabled: true, verify: true });
  });

  it('a tcp listener may route by SNI, with pool as the fallback or without one', () => {
    const c = buildConfig(
      { ...base({}), bootstrap: { pools: [{ name: 'a' }], listeners: [{ name: 'pt', mode: 'tcp', bind: '127.0.0.1:8443', sniRoutes: [{ host: '*.A.test', pool: 'a' }] }] } },
      '/tmp/x/c.yaml',
    );
    assert.deepEqual(c.bootstrap.listeners[0]?.sniRoutes, [{ host: '*.a.test', pool: 'a' }]);
    assert.throws(
      () => buildConfig({ ...base({}), bootstrap: { listeners: [{ name: 'pt', mode: 'tcp', bind: '127.0.0.1:8443', pool: 'a', tls: { certificates: [{ name: 'x' }] } }] } }, '/tmp/x/c.yaml'),
      /bootstrap\.listeners\[0\]\.tls: only http listeners have it/,
    );
  });
});
