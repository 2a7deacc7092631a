// Lookup by server name: exact names first, then the most specific wildcard, then a default.
// Immutable: owners build a new table and swap it in, so a lookup never sees half an update.

export interface HostTableOptions {
  /**
   * 'one-label': "*.example.com" matches "a.example.com" only, as certificate wildcards do
   * (RFC 6125 6.4.3); 'any': also "a.b.example.com", as HTTP route wildcards do.
   */
  wildcard: 'one-label' | 'any';
}

export class HostTable<T> {
  private readonly exact = new Map<string, T>();
  /** ".example.com" -> value, longest suffix first. */
  private readonly wildcards: [string, T][] = [];

  /** Earlier entries win when two claim the same name. */
  constructor(
    entries: Iterable<readonly [string, T]>,
    private readonly fallback: T | undefined,
    private readonly opts: HostTableOptions,
  ) {
    const wild = new Map<string, T>();
    for (const [rawName, value] of entries) {
      const name = rawName.toLowerCase().replace(/\.$/, '');
      if (name.startsWith('*.')) {
        if (!wild.has(name.slice(1))) wild.set(name.slice(1), value);
      } else if (!this.exact.has(name)) {
        this.exact.set(name, value);
      }
    }
    this.wildcards = [...wild].sort((a, b) => b[0].length - a[0].length);
  }

  /** The value for a server name (any case, optional trailing dot); the fallback when none matches. */
  lookup(serverName: string | undefined): T | undefined {
    if (serverName === undefined || serverName === '') return this.fallback;
    const name = serverName.toLowerCase().replace(/\.$/, '');
    const hit = this.exact.get(name);
    if (hit !== undefined) return hit;
    for (const [suffix, value] of this.wildcards) {
      if (name.length <= suffix.length || !name.endsWith(suffix)) continue;
      const label = name.slice(0, name.length - suffix.length);
      if (this.opts.wildcard === 'any' || !label.includes('.')) return value;
    }
    return this.fallback;
  }
}
