// `ballast ctl cert add|list|remove`: TLS certificates of the cluster through /api/v1/certificates.
// Files are read here and sent as PEM; the API checks the chain and key and seals the key.
import { readFileSync } from 'node:fs';
import type { MetaT } from '../web/schemas.js';
import type { CtlClient } from './ctl-client.js';
import { formatTable } from './ctl-table.js';

export const CERT_USAGE = `  cert list                               certificates: names, expiry (WARN 30 days out), listeners using them
  cert add NAME --cert CHAIN.pem --key KEY.pem [--replace]
                                          upload (or with --replace, hot-swap) a certificate
  cert remove NAME                        delete a certificate no listener uses
`;

interface CertView {
  name: string;
  names: string[];
  notAfter: string;
  expiresInDays: number;
  warning: string | null;
  usedBy: string[];
  issuer: string;
}

function readPem(path: string | undefined, flag: string): string {
  if (path === undefined) throw new RangeError(`cert add needs ${flag} FILE`);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RangeError(`cannot read ${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

function listText(certs: CertView[]): string {
  const rows = certs.map((c) => [c.name, c.names.join(','), c.notAfter.slice(0, 10), `${Math.floor(c.expiresInDays)}d${c.warning === null ? '' : ' WARN'}`, c.usedBy.join(',') || '-']);
  return formatTable(['CERTIFICATE', 'NAMES', 'EXPIRES', 'LEFT', 'LISTENERS'], rows);
}

/** Throws RangeError for usage mistakes (the caller turns them into exit code 2). */
export async function certCommand(
  client: CtlClient,
  rest: string[],
  opts: { cert?: string | undefined; key?: string | undefined; replace?: boolean | undefined },
): Promise<{ json: unknown; text: string }> {
  const [sub, ...args] = rest;
  const seg = encodeURIComponent;
  switch (sub) {
    case 'list': {
      if (args.length !== 0) throw new RangeError('cert list takes no arguments');
      const r = await client.call<MetaT & { certificates: CertView[] }>('GET', '/api/v1/certificates');
      return { json: r, text: listText(r.certificates) };
    }
    case 'add': {
      const [name] = args;
      if (name === undefined || args.length !== 1) throw new RangeError('cert add NAME --cert FILE --key FILE');
      const cert = readPem(opts.cert, '--cert');
      const key = readPem(opts.key, '--key');
      const r = opts.replace === true
        ? await client.call<MetaT & { certificate: CertView }>('PUT', `/api/v1/certificates/${seg(name)}`, { cert, key })
        : await client.call<MetaT & { certificate: CertView }>('POST', '/api/v1/certificates', { name, cert, key });
      const c = r.certificate;
      const warn = c.warning === null ? '' : ` (warning: ${c.warning})`;
      return { json: r, text: `${opts.replace === true ? 'replaced' : 'added'} certificate ${name} for ${c.names.join(', ')}, expires ${c.notAfter}${warn}, at state version ${r.version}\n` };
    }
    case 'remove': {
      const [name] = args;
      if (name === undefined || args.length !== 1) throw new RangeError('cert remove NAME');
      const r = await client.call<MetaT>('DELETE', `/api/v1/certificates/${seg(name)}`);
      return { json: r, text: `removed certificate ${name} at state version ${r.version}\n` };
    }
    default:
      throw new RangeError(`unknown cert command "${sub ?? ''}" (add, list, remove)`);
  }
}
