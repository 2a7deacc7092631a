// AccessRules: allow/deny by client address for one listener or route, compiled once per spec.
import type { AccessRuleSpec } from '../types.js';
import { AddressSet } from './address-set.js';

export type AccessVerdict = { allowed: true } | { allowed: false; reason: 'deny' | 'not-allowed' };

export class AccessRules {
  private readonly allow: AddressSet;
  private readonly deny: AddressSet;

  constructor(spec: AccessRuleSpec) {
    this.allow = new AddressSet(spec.allow);
    this.deny = new AddressSet(spec.deny);
  }

  /** Deny wins over allow; an allow list, when present, admits only what it names. */
  check(ip: string): AccessVerdict {
    if (this.deny.has(ip)) return { allowed: false, reason: 'deny' };
    if (this.allow.size > 0 && !this.allow.has(ip)) return { allowed: false, reason: 'not-allowed' };
    return { allowed: true };
  }
}

/** null when the spec is absent or empty: the common case costs nothing per request. */
export function compileAccess(spec: AccessRuleSpec | undefined): AccessRules | null {
  if (spec === undefined || (spec.allow.length === 0 && spec.deny.length === 0)) return null;
  return new AccessRules(spec);
}
