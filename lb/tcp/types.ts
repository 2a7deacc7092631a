// Types of the TCP passthrough engine: its dependencies, dial results and splice outcomes.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { EdgeRuntime } from '../edge/edge-runtime.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { BackendLease, PoolDirectory } from '../types.js';

export interface TcpListenerDeps {
  pools: PoolDirectory;
  metrics: DataPlaneMetrics;
  logger: Logger;
  /** Edge protection shared across the worker's listeners; absent = a private in-process one. */
  edge?: EdgeRuntime;
}

/** Why no backend connection could be made; the names double as proxyErrorsTotal kinds. */
export type DialFailure = 'no_backend' | 'connect_failed' | 'connect_timeout';

export type DialResult =
  | { kind: 'connected'; socket: Socket; lease: BackendLease }
  | { kind: 'failed'; reason: DialFailure }
  /** The client went away (or the listener was destroyed) while dialing. */
  | { kind: 'aborted' };

export interface DialOptions {
  clientIp: string;
  /** Other backends to try after the first failed one. */
  retries: number;
  /** 0 = no timeout of our own (the kernel's SYN retries still apply). */
  connectMs: number;
  signal: AbortSignal;
  /** One attempt failed; its lease is already released. */
  onAttemptFailed(lease: BackendLease, reason: Exclude<DialFailure, 'no_backend'>, error: Error | undefined): void;
}

export interface SpliceOptions {
  /** 0 = no idle timeout. */
  idleMs: number;
  /** Bytes read from the client (and written toward the backend). */
  onClientBytes(n: number): void;
  /** Bytes read from the backend (and written toward the client). */
  onBackendBytes(n: number): void;
  /** Both sockets closed; called exactly once. */
  onEnd(end: SpliceEnd): void;
}

export interface SpliceEnd {
  clientBytes: number;
  backendBytes: number;
  clientError: Error | undefined;
  backendError: Error | undefined;
  /** Closed by the idle timeout. */
  idle: boolean;
}
