// A listener's response header policy: hide or rewrite Server and X-Powered-By, remove and add
// headers, and Strict-Transport-Security on TLS listeners. Compiled once per spec, applied per response.
import type { ListenerSpec } from '../types.js';
import type { FlatHeaders } from './types.js';

export interface ResponsePolicy {
  /** Lowercased names dropped from every response. */
  remove: ReadonlySet<string>;
  /** Appended after the removals (so they replace the backend's). */
  add: readonly (readonly [string, string])[];
}

/** The policy of a spec, or undefined when responses pass as the backend sent them. */
export function compilePolicy(spec: ListenerSpec): ResponsePolicy | undefined {
  const remove = new Set<string>();
  const add: [string, string][] = [];
  const h = spec.headers;
  if (h !== undefined) {
    if (h.hideServer !== undefined) {
      remove.add('server');
      remove.add('x-powered-by');
      if (typeof h.hideServer === 'string') add.push(['Server', h.hideServer]);
    }
    for (const name of h.removeResponse) remove.add(name.toLowerCase());
    for (const [name, value] of Object.entries(h.addResponse)) {
      remove.add(name.toLowerCase());
      add.push([name, value]);
    }
  }
  const hsts = spec.tls?.hsts;
  if (hsts !== undefined) {
    let value = `max-age=${hsts.maxAgeSeconds}`;
    if (hsts.includeSubDomains) value += '; includeSubDomains';
    if (hsts.preload) value += '; preload';
    remove.add('strict-transport-security');
    add.push(['Strict-Transport-Security', value]);
  }
  return remove.size === 0 && add.length === 0 ? undefined : { remove, add };
}

export function applyPolicy(headers: FlatHeaders, policy: ResponsePolicy): FlatHeaders {
  const out: FlatHeaders = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? '';
    if (!policy.remove.has(name.toLowerCase())) out.push(name, headers[i + 1] ?? '');
  }
  for (const [name, value] of policy.add) out.push(name, value);
  return out;
}
