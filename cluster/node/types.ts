// What the rest of the node (web, health, workers) sees of the replicated state.
import type { DataPlaneState } from '../../lb/types.js';
import type { ApplyResult, StateCommand } from '../state/types.js';

export interface StateStore {
  /** Commit a command and apply it; resolves with the state machine's verdict once applied here. */
  propose(cmd: StateCommand): Promise<ApplyResult>;
  /** The state as applied on this node. */
  read(): DataPlaneState;
  /** Called after every applied change, in order. */
  onChange(listener: (state: DataPlaneState) => void): void;
  close(): Promise<void>;
}
