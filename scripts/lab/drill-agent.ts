// DrillAgent: one resident `node` inside a lab namespace that makes HTTP requests on demand, so a drill
// can poll /readyz every few hundred ms without paying a process start (slow on a loaded box) per poll.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { spawnIn } from './netns.js';

export interface AgentAnswer {
  status: number;
  body: string;
}

export interface AgentRequest {
  method?: 'GET' | 'POST';
  timeoutMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

// Plain JavaScript: it runs in a bare `node` inside the namespace. One JSON line in, one JSON line out per request.
const AGENT = `
const http = require('node:http');
const rl = require('node:readline').createInterface({ input: process.stdin });
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
rl.on('line', (line) => {
  const { id, url, method, timeoutMs, headers, body } = JSON.parse(line);
  let done = false;
  const finish = (o) => { if (!done) { done = true; clearTimeout(timer); out({ id, ...o }); } };
  const timer = setTimeout(() => { req.destroy(); finish({ error: 'ETIMEDOUT' }); }, timeoutMs);
  const req = http.request(url, { method, headers, agent: false }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => finish({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', (e) => finish({ error: e.code || e.message }));
  });
  req.on('error', (e) => finish({ error: e.code || e.message }));
  req.end(body);
});
rl.on('close', () => process.exit(0));
`;

interface Pending {
  resolve: (a: AgentAnswer) => void;
  reject: (e: Error) => void;
}

export class DrillAgent {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly exited: Promise<unknown>;

  private constructor(
    readonly ns: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = once(child, 'exit');
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`drill agent in ${ns} exited`));
      this.pending.clear();
    });
  }

  static start(ns: string): DrillAgent {
    const child = spawnIn(ns, process.execPath, ['-e', AGENT], { stdio: ['pipe', 'pipe', 'ignore'] });
    return new DrillAgent(ns, child);
  }

  /** Resolves with any HTTP answer; rejects with the socket error code (ECONNREFUSED, ETIMEDOUT, ...) as message. */
  request(url: string, req: AgentRequest = {}): Promise<AgentAnswer> {
    const id = this.nextId++;
    const timeoutMs = req.timeoutMs ?? 2000;
    return new Promise<AgentAnswer>((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        reject(new Error(`drill agent in ${this.ns} is not running`));
        return;
      }
      // The agent bounds the request itself; this outer bound covers an agent starved of CPU.
      const guard = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('ETIMEDOUT'));
      }, timeoutMs + 10_000);
      this.pending.set(id, {
        resolve: (a) => {
          clearTimeout(guard);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(guard);
          reject(e);
        },
      });
      const line = { id, url, method: req.method ?? 'GET', timeoutMs, headers: req.headers ?? {}, body: req.body };
      this.child.stdin!.write(`${JSON.stringify(line)}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    let msg: { id: number; status?: number; body?: string; error?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error !== undefined || msg.status === undefined) p.reject(new Error(msg.error ?? 'no status'));
    else p.resolve({ status: msg.status, body: msg.body ?? '' });
  }
}
