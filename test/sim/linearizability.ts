// Linearizability of a key-value history (Wing & Gong search with Lowe's memoization, as Knossos
// and Porcupine do), checked key by key since each key is an independent register.

export interface KvOp {
  client: number;
  key: string;
  kind: 'write' | 'read';
  /** Value written, or value the read returned (null: key absent). */
  value: string | null;
  invoke: number;
  /** Infinity when the outcome is unknown (timed out, node crashed): it may or may not have happened. */
  response: number;
}

export type LinearizabilityResult = { ok: true } | { ok: false; key: string; reason: string } | { ok: 'unknown'; key: string };

/** Search budget per key; past it the history is reported as unknown rather than judged. */
const MAX_STEPS = 200_000;

function checkRegister(ops: KvOp[]): 'ok' | 'fail' | 'unknown' {
  const sorted = [...ops].sort((a, b) => a.invoke - b.invoke);
  const n = sorted.length;
  const mustLinearize = sorted.filter((o) => o.response !== Infinity).length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let steps = 0;

  const key = (state: string | null): string => `${state ?? '\u0000'}|${done.join('')}`;

  const search = (state: string | null, doneFinite: number): boolean | 'unknown' => {
    if (doneFinite === mustLinearize) return true;
    if (++steps > MAX_STEPS) return 'unknown';
    const k = key(state);
    if (seen.has(k)) return false;
    seen.add(k);
    // An op can go next only if it was invoked before every pending op's response.
    let minResponse = Infinity;
    for (let i = 0; i < n; i++) {
      const o = sorted[i] as KvOp;
      if (done[i] === 0 && o.response < minResponse) minResponse = o.response;
    }
    for (let i = 0; i < n; i++) {
      const o = sorted[i] as KvOp;
      if (done[i] === 1) continue;
      if (o.invoke > minResponse) break;
      if (o.kind === 'read' && o.value !== state) continue;
      done[i] = 1;
      const r = search(o.kind === 'write' ? o.value : state, doneFinite + (o.response !== Infinity ? 1 : 0));
      done[i] = 0;
      if (r === true || r === 'unknown') return r;
    }
    return false;
  };
  const r = search(null, 0);
  return r === true ? 'ok' : r === 'unknown' ? 'unknown' : 'fail';
}

export function checkLinearizable(history: readonly KvOp[]): LinearizabilityResult {
  const byKey = new Map<string, KvOp[]>();
  for (const op of history) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = checkRegister(ops);
    if (r === 'fail') return { ok: false, key, reason: `no linearization of ${ops.length} operations on "${key}"` };
    if (r === 'unknown') return { ok: 'unknown', key };
  }
  return { ok: true };
}
