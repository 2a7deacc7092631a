// Types shared by the edge modules: the channel to the node's shared state and gate verdicts.
import type { EdgeTakeReply } from '../types.js';

/** How a worker reaches the node-wide edge state (net-ipc in a worker, direct calls in-process). */
export interface EdgeChannel {
  take(key: string, ratePerSec: number, burst: number, scope: 'node' | 'cluster', want: number): Promise<EdgeTakeReply>;
  /** false: the address is at its connection limit. */
  connOpen(key: string, limit: number): Promise<boolean>;
  connClose(key: string): void;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSec: number };

/** What the HTTP gate decided for one request. */
export type GateVerdict =
  | { kind: 'pass'; body?: Buffer }
  | { kind: 'reject'; status: number; reason: string; rule: string; headers?: Record<string, string> };
