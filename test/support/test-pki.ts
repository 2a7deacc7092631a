// A throwaway PKI for TLS tests, made with the openssl CLI under os.tmpdir(): a root CA, an
// intermediate, and leaves (exact and wildcard names, near expiry, expired, a broken chain).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Leaf {
  /** PEM: the leaf alone. */
  cert: string;
  /** PEM: leaf then intermediate (what a server sends). */
  chain: string;
  key: string;
  certFile: string;
  chainFile: string;
  keyFile: string;
}

export interface LeafOptions {
  notBefore?: Date;
  notAfter?: Date;
  ips?: string[];
  /** Authority Information Access: the OCSP responder URL the leaf names. */
  ocspUrl?: string;
}

export interface TestPki {
  dir: string;
  rootCert: string;
  rootFile: string;
  intermediateCert: string;
  /** A leaf signed by the intermediate, served with the full chain. */
  leaf(id: string, names: string[], opts?: LeafOptions): Leaf;
  /** A leaf signed by a second intermediate but bundled with the first: the chain does not verify. */
  misChained(id: string, name: string): Leaf;
  cleanup(): void;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** openssl ca's date form: YYYYMMDDHHMMSSZ. */
function caDate(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const CA_CNF = `
[ ca ]
default_ca = CA_default
[ CA_default ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[ policy_any ]
commonName = supplied
[ leaf_ext ]
basicConstraints = CA:false
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[ ca_ext ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'ballast-pki-'));
  writeFileSync(join(dir, 'ca.cnf'), CA_CNF);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=Ballast Test Root', '-days', '3650', '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const intermediate = (id: string): void => {
    openssl(dir, ['req', ...ec, '-keyout', `${id}.key`, '-out', `${id}.csr`, '-subj', `/CN=Ballast Test ${id}`]);
    openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'root.pem', '-keyfile', 'root.key', '-in', `${id}.csr`, '-out', `${id}.pem`, '-extensions', 'ca_ext', '-days', '3000', '-notext']);
  };
  intermediate('int1');
  intermediate('int2');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const sign = (id: string, names: string[], issuer: string, bundleWith: string, opts: LeafOptions): Leaf => {
    const san = [...names.map((n) => `DNS:${n}`), ...(opts.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
    const aia = opts.ocspUrl === undefined ? [] : ['-addext', `authorityInfoAccess=OCSP;URI:${opts.ocspUrl}`];
    openssl(dir, ['req', ...ec, '-keyout', `${id}.key`, '-out', `${id}.csr`, '-subj', `/CN=${names[0] ?? id}`, '-addext', `subjectAltName=${san}`, ...aia]);
    const from = opts.notBefore ?? new Date(Date.now() - 3_600_000);
    const to = opts.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
    openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${id}.csr`, '-out', `${id}.pem`, '-extensions', 'leaf_ext', '-startdate', caDate(from), '-enddate', caDate(to), '-notext']);
    const cert = read(`${id}.pem`);
    const chain = cert + read(`${bundleWith}.pem`);
    writeFileSync(join(dir, `${id}.chain.pem`), chain);
    return { cert, chain, key: read(`${id}.key`), certFile: join(dir, `${id}.pem`), chainFile: join(dir, `${id}.chain.pem`), keyFile: join(dir, `${id}.key`) };
  };
  return {
    dir,
    rootCert: read('root.pem'),
    rootFile: join(dir, 'root.pem'),
    intermediateCert: read('int1.pem'),
    leaf: (id, names, opts = {}) => sign(id, names, 'int1', 'int1', opts),
    misChained: (id, name) => sign(id, [name], 'int2', 'int1', {}),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
