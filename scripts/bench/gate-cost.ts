// The rule set's own CPU cost, in process: HttpGate.check() with the benchmark's rules listener
// (access rules, request filter, rate limit) against the plain listener, on a real IncomingMessage.
// Steadier than the req/s comparison on a shared box: no sockets, no other process, CPU time only.
// The rate limiter runs on the in-process channel here; in a worker it leases tokens from the node
// over IPC a few times a second, which this leaves out.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { pino } from 'pino';
import { normalizeListener } from '../../config/normalize.js';
import { createEdgeRuntime } from '../../lb/edge/edge-runtime.js';
import { HttpGate } from '../../lb/edge/http-gate.js';
import { edgeListeners } from './ballast.js';
import { RULES_PATH } from './edge-bench.js';

export interface GateCost {
  calls: number;
  /** CPU microseconds per check() (user + system), rules off and on. */
  offUs: number;
  onUs: number;
}

function request(): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = RULES_PATH;
  req.headers = { host: 'bench.example', 'user-agent': 'wrk', accept: '*/*' };
  return req;
}

async function perCall(gate: HttpGate, route: Parameters<HttpGate['check']>[1], calls: number): Promise<number> {
  const req = request();
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const v = gate.check(req, route, '127.0.0.1', RULES_PATH);
      const verdict = v instanceof Promise ? await v : v;
      if (verdict.kind !== 'pass') throw new Error(`the rule set refused the benchmark request: ${verdict.kind}`);
    }
  };
  await run(Math.min(calls, 20_000));
  const before = process.cpuUsage();
  await run(calls);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

/** Warm-up plus measured calls stay under the rules listener's burst (200000). */
export async function measureGateCost(calls = 100_000): Promise<GateCost> {
  const logger = pino({ level: 'silent' });
  const [, rulesInput] = edgeListeners({ host: '127.0.0.1' }, { cachePort: 1, rulesPort: 2 });
  if (rulesInput === undefined) throw new Error('no rules listener');
  const on = normalizeListener(rulesInput, 'rules');
  const off = normalizeListener({ name: 'plain', mode: 'http', bind: '127.0.0.1:3', routes: [{ pathPrefix: '/', pool: 'web' }] }, 'plain');
  // A fresh gate (and token bucket) per pass: one pass stays within the limit's burst, so the
  // rate limit never refuses and every call takes the same path.
  const gate = (spec: typeof on): HttpGate => new HttpGate(spec, createEdgeRuntime({ logger }), logger);
  // Alternate, twice each, and keep the lower: a neighbour's burst inflates one pass, not both.
  const offRuns: number[] = [];
  const onRuns: number[] = [];
  for (let i = 0; i < 2; i++) {
    offRuns.push(await perCall(gate(off), off.routes[0], calls));
    onRuns.push(await perCall(gate(on), on.routes[0], calls));
  }
  return { calls, offUs: Math.min(...offRuns), onUs: Math.min(...onRuns) };
}
