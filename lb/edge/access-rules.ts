// AccessRules: allow/deny by client address for one listener or route, compiled once per spec.
import type { AccessRuleSpec } from '../types.js';
import { AddressSet } from './address-set.js';

export type AccessVerdict = { allowed: true } | { allowed: false; reason: 'deny' | 'not-allowed' };

const ALLOWED: AccessVerdict = { allowed: true };
const DENIED: AccessVerdict = { allowed: false, reason: 'deny' };
const NOT_ALLOWED: AccessVerdict = { allowed: false, reason: 'not-allowed' };
/**
 * Verdicts remembered per address. A BlockList lookup costs about 3 us (a SocketAddress built in
 * C++ per call; 6 us for deny + allow, measured by scripts/bench/gate-cost.ts), a Map hit about
 * 0.05 us, and a client sends many requests. Bounded: full, it starts over.
 */
const MEMO_ENTRIES = 4096;

export class AccessRules {
  private readonly allow: AddressSet;
  private readonly deny: AddressSet;
  private readonly memo = new Map<string, AccessVerdict>();

  constructor(spec: AccessRuleSpec) {
    this.allow = new AddressSet(spec.allow);
    this.deny = new AddressSet(spec.deny);
  }

  /** Deny wins over allow; an allow list, when present, admits only what it names. */
  check(ip: string): AccessVerdict {
    let verdict = this.memo.get(ip);
    if (verdict !== undefined) return verdict;
    if (this.deny.has(ip)) verdict = DENIED;
    else if (this.allow.size > 0 && !this.allow.has(ip)) verdict = NOT_ALLOWED;
    else verdict = ALLOWED;
    if (this.memo.size >= MEMO_ENTRIES) this.memo.clear();
    this.memo.set(ip, verdict);
    return verdict;
  }
}

/** null when the spec is absent or empty: the common case costs nothing per request. */
export function compileAccess(spec: AccessRuleSpec | undefined): AccessRules | null {
  if (spec === undefined || (spec.allow.length === 0 && spec.deny.length === 0)) return null;
  return new AccessRules(spec);
}
