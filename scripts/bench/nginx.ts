// nginx with proxy_cache as the reference cache: a generated nginx.conf in the run's temp dir
// (pid, logs, temp and cache paths all there), run in the foreground as the benchmark's own child.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcesses, Tracked } from './children.js';
import { waitListening } from './local-port.js';
import type { Endpoint } from './types.js';

export interface NginxLayout {
  host: string;
  port: number;
  origins: Endpoint[];
  /** Worker processes, as Ballast's workers and HAProxy's threads. */
  workers: number;
  /** Everything nginx writes goes under here. */
  dir: string;
}

/** Debian installs it in /usr/sbin, which a non-root PATH may lack. */
export function nginxBinary(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx']) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function nginxVersion(): string {
  const bin = nginxBinary();
  if (bin === null) return 'not installed';
  // nginx -v writes to stderr.
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return `${r.stderr}${r.stdout}`.trim() || 'unknown';
}

/**
 * Cache as Ballast's cached route does: the origin's Cache-Control decides, one key per URL,
 * concurrent misses wait for one fill (proxy_cache_lock, Ballast's coalescing), hits tagged in
 * X-Cache. nginx keeps entries in files (the page cache serves them); Ballast in memory.
 */
export function nginxConfig(l: NginxLayout): string {
  const servers = l.origins.map((o) => `    server ${o.host}:${o.port};`).join('\n');
  const d = l.dir;
  // Running as root, nginx's workers would drop to "nobody" and could not write into our temp dir.
  const user = typeof process.getuid === 'function' && process.getuid() === 0 ? 'user root;\n' : '';
  return `${user}daemon off;
master_process on;
worker_processes ${l.workers};
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;

events {
  worker_connections 4096;
}

http {
  access_log off;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy_temp;
  fastcgi_temp_path ${d}/fastcgi_temp;
  uwsgi_temp_path ${d}/uwsgi_temp;
  scgi_temp_path ${d}/scgi_temp;
  keepalive_timeout 60s;
  keepalive_requests 1000000;
  proxy_cache_path ${d}/cache levels=1:2 keys_zone=bench:10m max_size=64m inactive=60m use_temp_path=off;

  upstream origins {
${servers}
    keepalive 64;
  }

  server {
    listen ${l.host}:${l.port};
    location / {
      proxy_pass http://origins;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_lock on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`;
}

export async function startNginx(children: ChildProcesses, l: NginxLayout): Promise<Tracked> {
  const bin = nginxBinary();
  if (bin === null) throw new Error('nginx is not installed (scripts/install-os-deps.sh installs nginx-light)');
  mkdirSync(l.dir, { recursive: true });
  const conf = join(l.dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(l));
  // -p: prefix for relative paths; -e: the error log before the config is read (not /var/log).
  const base = ['-p', l.dir, '-e', join(l.dir, 'error.log'), '-c', conf];
  try {
    execFileSync(bin, [...base, '-t', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`nginx rejected ${conf}: ${stderr.trim() || (err as Error).message}`, { cause: err });
  }
  const log = openSync(join(l.dir, 'stdout.log'), 'a');
  const t = children.spawn('nginx', bin, base, { stdio: ['ignore', log, log] });
  let exit: string | null = null;
  void t.exited.then((c) => (exit = `nginx exited (${String(c)}): ${tail(join(l.dir, 'error.log'))}`));
  await waitListening(l.host, l.port, 10_000, () => exit);
  return t;
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-2).join(' | ').slice(0, 400);
  } catch {
    return '(no log)';
  }
}
