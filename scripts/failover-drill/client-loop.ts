// The drill's client, run on the client host through Host.spawn: one new connection per request, a short
// timeout, a JSON line per result, stamped with the CLIENT's clock (gaps are measured on that clock only).
import { createInterface } from 'node:readline';
import type { Host, HostProcess } from '../hosts/types.js';

export interface ClientSample {
  t0: number;
  t1: number;
  ok: boolean;
  error: string | null;
}

// Plain JavaScript for the host's own node; stops at SIGTERM or at its bounds.
const SCRIPT = `
const http = require('node:http');
const [url, interval, timeout, maxMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const started = Date.now();
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
function next() {
  if (stopping || Date.now() - started >= maxMs) return;
  const t0 = Date.now();
  let done = false;
  const finish = (ok, error) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ t0, t1: Date.now(), ok, error }) + '\\n');
    setTimeout(next, Math.max(0, t0 + interval - Date.now()));
  };
  const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
    res.resume();
    res.on('end', () => finish(res.statusCode === 200, res.statusCode === 200 ? null : 'status ' + res.statusCode));
    res.on('error', (e) => finish(false, e.code || e.message));
  });
  const timer = setTimeout(() => { req.destroy(); finish(false, 'timeout'); }, timeout);
  req.on('error', (e) => finish(false, e.code || e.message));
}
next();
`;

export interface ClientLoop {
  readonly samples: readonly ClientSample[];
  stop(): Promise<ClientSample[]>;
}

export function startClientLoop(host: Host, url: string, options: { intervalMs?: number; timeoutMs?: number; maxMs?: number } = {}): ClientLoop {
  const samples: ClientSample[] = [];
  const proc: HostProcess = host.spawn('node', ['-e', SCRIPT, url, String(options.intervalMs ?? 50), String(options.timeoutMs ?? 800), String(options.maxMs ?? 300_000)]);
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      samples.push(JSON.parse(line) as ClientSample);
    } catch {
      // a torn last line when the loop is stopped
    }
  });
  proc.stderr.resume();
  return {
    samples,
    async stop() {
      await proc.kill('SIGTERM');
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      await proc.kill('SIGKILL');
      return samples;
    },
  };
}

/** The longest run of failures and the time from the last success before it to the first success after. */
export function longestGap(samples: readonly ClientSample[]): { gapMs: number; failed: number; from: number | null } {
  let best = { gapMs: 0, failed: 0, from: null as number | null };
  let lastOk: number | null = null;
  let failed = 0;
  let runStart: number | null = null;
  for (const s of samples) {
    if (s.ok) {
      if (failed > 0 && runStart !== null) {
        const gapMs = s.t1 - runStart;
        if (gapMs > best.gapMs) best = { gapMs, failed, from: runStart };
      }
      lastOk = s.t1;
      failed = 0;
      runStart = null;
    } else {
      if (failed === 0) runStart = lastOk ?? s.t0;
      failed += 1;
    }
  }
  return best;
}
