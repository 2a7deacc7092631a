// Commands of the replicated state machine. Versioned so that a node never misreads a command
// written by a newer or older release; every node applies the same bytes to the same result.
import type { BackendHealth, BackendSpec, ListenerSpec, PoolSpec } from '../../lb/types.js';

export interface BackendChanges {
  weight?: number;
  state?: BackendSpec['state'];
  backup?: boolean;
  maxConns?: number;
}

export type StateCommand =
  | { v: 1; op: 'bootstrap'; listeners: ListenerSpec[]; pools: PoolSpec[] }
  | { v: 1; op: 'pool.put'; pool: PoolSpec }
  | { v: 1; op: 'pool.delete'; pool: string }
  | { v: 1; op: 'backend.add'; pool: string; backend: BackendSpec }
  | { v: 1; op: 'backend.patch'; pool: string; backend: string; changes: BackendChanges }
  | { v: 1; op: 'backend.remove'; pool: string; backend: string }
  | { v: 1; op: 'listener.put'; listener: ListenerSpec }
  | { v: 1; op: 'listener.delete'; listener: string }
  | { v: 1; op: 'health.set'; pool: string; backend: string; health: BackendHealth };

export type StateErrorCode = 'STATE_ERR_NOT_FOUND' | 'STATE_ERR_CONFLICT' | 'STATE_ERR_INVALID';

export type ApplyResult = { ok: true; version: number } | { ok: false; error: { code: StateErrorCode; field: string; message: string } };
