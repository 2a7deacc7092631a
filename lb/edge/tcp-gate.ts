// TcpGate: the edge checks of one TCP listener at accept, before any backend is dialed: the PROXY
// header (acceptProxy), access rules, the per-address connection limit and connection rate limits.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenerSpec } from '../types.js';
import { compileAccess, type AccessRules } from './access-rules.js';
import type { EdgeRuntime } from './edge-runtime.js';
import { peerOf, type Peer } from './peer-address.js';
import { ProxyIntake } from './proxy-intake.js';

export type TcpAdmission = { ok: true; peer: Peer; release: () => void } | { ok: false; peer: Peer; rule: string; reason: string };

export class TcpGate {
  private readonly access: AccessRules | null;
  private readonly intake: ProxyIntake | null;

  constructor(
    private readonly spec: ListenerSpec,
    private readonly edge: EdgeRuntime,
    private readonly logger: Logger,
  ) {
    this.access = compileAccess(spec.access);
    this.intake = spec.acceptProxy === true ? new ProxyIntake(spec) : null;
  }

  async admit(socket: Socket): Promise<TcpAdmission> {
    if (this.intake !== null) {
      const r = await this.intake.accept(socket);
      if (!r.ok) return this.refuse(peerOf(socket), r.rule, r.reason);
    }
    const peer = peerOf(socket);
    if (this.access !== null && !this.access.check(peer.address).allowed) return this.refuse(peer, 'access-deny', `${peer.address} is not allowed`);
    for (const [i, limit] of (this.spec.rateLimits ?? []).entries()) {
      // TCP limits count new connections; "route" means the listener as a whole.
      const value = limit.key === 'route' ? 'all' : `ip:${peer.address}`;
      const taken = this.edge.limiter.take(`${this.spec.name}|L${i}|${value}`, limit);
      const decision = taken instanceof Promise ? await taken : taken;
      if (!decision.allowed) return this.refuse(peer, 'rate-limit', 'connection rate limit');
    }
    const perIp = this.spec.maxConnsPerIp ?? 0;
    if (perIp > 0) {
      const key = `${this.spec.name}|${peer.address}`;
      if (!(await this.edge.channel.connOpen(key, perIp))) return this.refuse(peer, 'conn-limit', `${peer.address} has ${perIp} connections open`);
      let released = false;
      return {
        ok: true,
        peer,
        release: () => {
          if (released) return;
          released = true;
          this.edge.channel.connClose(key);
        },
      };
    }
    return { ok: true, peer, release: () => undefined };
  }

  private refuse(peer: Peer, rule: string, reason: string): TcpAdmission {
    this.edge.metrics.decisionsTotal.inc({ listener: this.spec.name, rule, action: 'blocked' });
    if (rule !== 'rate-limit' && rule !== 'conn-limit') {
      this.logger.warn({ listener: this.spec.name, rule, client: peer.address, reason }, 'edge: connection refused');
    }
    return { ok: false, peer, rule, reason };
  }
}
