// HAProxy as the reference load balancer: a generated haproxy.cfg with the same listeners and
// origins as Ballast's (mode http + mode tcp, balance roundrobin), run in the foreground.
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcesses, Tracked } from './children.js';
import { waitListening } from './local-port.js';
import type { BenchCert } from './tls-cert.js';
import type { Endpoint } from './types.js';

export interface LbLayout {
  host: string;
  httpPort: number;
  tcpPort: number;
  /** HTTP origins and TCP sinks, in round-robin order. */
  origins: Endpoint[];
  sinks: Endpoint[];
  /** Worker processes (Ballast) = threads (HAProxy). */
  workers: number;
  /** An https listener too (same origins as httpPort), for the TLS scenarios. */
  tls?: { port: number; cert: BenchCert };
}

export function haproxyConfig(l: LbLayout): string {
  const servers = (eps: Endpoint[], prefix: string) =>
    eps.map((e, i) => `  server ${prefix}${i + 1} ${e.host}:${e.port}`).join('\n');
  // No `log` lines anywhere: HAProxy logs nothing without them. No `check`: Ballast runs without
  // health checks in this benchmark too. `option forwardfor` because Ballast adds X-Forwarded-For.
  return `global
  nbthread ${l.workers}
  # Far above the benchmark's 50 connections, and within a 20000 fd ulimit (HAProxy wants ~2x).
  maxconn 4096

defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s

frontend web
  mode http
  option forwardfor
  bind ${l.host}:${l.httpPort}
  default_backend web

backend web
  mode http
  balance roundrobin
${servers(l.origins, 'o')}

${l.tls ? secureFrontend(l.host, l.tls.port, l.tls.cert.combinedFile) : ''}frontend bulk
  mode tcp
  bind ${l.host}:${l.tcpPort}
  default_backend bulk

backend bulk
  mode tcp
  balance roundrobin
${servers(l.sinks, 's')}
`;
}

function secureFrontend(host: string, port: number, pem: string): string {
  return `frontend secure
  mode http
  option forwardfor
  bind ${host}:${port} ssl crt ${pem} alpn h2,http/1.1
  default_backend web

`;
}

export function haproxyVersion(): string {
  try {
    return execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

export async function startHaproxy(children: ChildProcesses, dir: string, layout: LbLayout): Promise<Tracked> {
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(layout));
  try {
    execFileSync('haproxy', ['-c', '-q', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`haproxy rejected ${cfg}: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }
  const log = openSync(join(dir, 'haproxy.log'), 'a');
  // -db: stay in the foreground, so it is ours to stop.
  const t = children.spawn('haproxy', 'haproxy', ['-db', '-f', cfg], { stdio: ['ignore', log, log] });
  let exit: string | null = null;
  void t.exited.then((c) => (exit = `haproxy exited (${String(c)}): ${logTail(join(dir, 'haproxy.log'))}`));
  await waitListening(layout.host, layout.httpPort, 10_000, () => exit);
  await waitListening(layout.host, layout.tcpPort, 10_000, () => exit);
  if (layout.tls) await waitListening(layout.host, layout.tls.port, 10_000, () => exit);
  return t;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-2).join(' | ').slice(0, 400);
  } catch {
    return '(no log)';
  }
}
