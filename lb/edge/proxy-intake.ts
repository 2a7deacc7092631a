// ProxyIntake: acceptProxy on a listener: only trusted peers may send a PROXY header, every
// connection must start with one, and the real client address is recorded for the engines.
import type { Socket } from 'node:net';
import { readProxyHeader } from '../proxy-protocol/read-header.js';
import type { ListenerSpec } from '../types.js';
import { AddressSet, plainAddress } from './address-set.js';
import { setProxiedPeer } from './peer-address.js';

/** A balancer in front sends its header at once; a peer that does not within this is refused. */
export const PROXY_HEADER_TIMEOUT_MS = 5000;

export type IntakeResult = { ok: true } | { ok: false; rule: 'proxy-untrusted' | 'proxy-header'; reason: string };

export class ProxyIntake {
  private readonly trusted: AddressSet | null;

  constructor(spec: ListenerSpec) {
    this.trusted = spec.proxyFrom === undefined || spec.proxyFrom.length === 0 ? null : new AddressSet(spec.proxyFrom);
  }

  async accept(socket: Socket): Promise<IntakeResult> {
    const peer = plainAddress(socket.remoteAddress ?? '');
    if (this.trusted !== null && !this.trusted.has(peer)) {
      return { ok: false, rule: 'proxy-untrusted', reason: `${peer} may not send PROXY headers (proxyFrom)` };
    }
    const r = await readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS);
    if (!r.ok) return { ok: false, rule: 'proxy-header', reason: r.reason };
    // LOCAL / UNKNOWN: the sender's own connection (its health checks): the socket's address stands.
    if (r.header.addresses !== null) setProxiedPeer(socket, r.header.addresses);
    return { ok: true };
  }
}
