// Reads a YAML or JSON config file into a NodeConfig, or throws ConfigError naming the bad field.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { parseAddress } from './address.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { normalizeListener, normalizePool, requireUnique } from './normalize.js';
import { ConfigFile } from './schema.js';
import type { NodeConfig } from './types.js';
import { compileValidator } from './validate.js';

const validateConfigFile = compileValidator(ConfigFile);

function readSecretFile(path: string, field: string, base: string): string {
  const full = isAbsolute(path) ? path : resolve(base, path);
  try {
    return readFileSync(full, 'utf8').trim();
  } catch (err) {
    throw new ConfigError('CONFIG_ERR_READ', field, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function parseConfigText(text: string, source: string): unknown {
  try {
    return source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new ConfigError('CONFIG_ERR_PARSE', '', `${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}${where}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Validate an already-parsed config object. `source` is used for messages and relative paths. */
export function buildConfig(raw: unknown, source: string): NodeConfig {
  const file = validateConfigFile(raw);
  const base = dirname(resolve(source));
  const c = file.cluster;
  if (c?.secret && c.secretFile) throw new ConfigError('CONFIG_ERR_INVALID', 'cluster.secretFile', 'give either secret or secretFile, not both');
  const multiNode = (c?.peers.length ?? 0) > 1;
  const secret = c?.secretFile ? readSecretFile(c.secretFile, 'cluster.secretFile', base) : (c?.secret ?? null);
  if (multiNode && !secret) throw new ConfigError('CONFIG_ERR_INVALID', 'cluster.secret', 'is required when the cluster has more than one peer (or set secretFile)');
  if (c) {
    requireUnique(c.peers.map((p) => p.id), 'cluster.peers', 'peer');
    if (!c.peers.some((p) => p.id === file.node.id)) {
      throw new ConfigError('CONFIG_ERR_INVALID', 'cluster.peers', `must include this node ("${file.node.id}")`);
    }
    if (multiNode && !file.node.clusterListen) throw new ConfigError('CONFIG_ERR_INVALID', 'node.clusterListen', 'is required in a multi-node cluster');
  }
  const heartbeatMs = parseDuration(c?.heartbeat ?? '100ms');
  const electionTimeoutMs = parseDuration(c?.electionTimeout ?? '1s');
  if (electionTimeoutMs < heartbeatMs * 3) {
    throw new ConfigError('CONFIG_ERR_INVALID', 'cluster.electionTimeout', `must be at least 3 heartbeats (${heartbeatMs * 3}ms)`);
  }
  // [T, 1.5T) rather than etcd's [T, 2T): a dead leader is noticed ~0.25 T sooner on average, and
  // pre-vote keeps the extra split votes cheap (the simulator runs this spread too).
  const electionJitterMs = parseDuration(c?.electionJitter ?? `${Math.round(electionTimeoutMs / 2)}ms`);
  if (electionJitterMs < heartbeatMs || electionJitterMs > electionTimeoutMs) {
    throw new ConfigError(
      'CONFIG_ERR_INVALID',
      'cluster.electionJitter',
      `must be between one heartbeat (${heartbeatMs}ms) and the election timeout (${electionTimeoutMs}ms)`,
    );
  }
  // A handshake must survive the stalls the election timeout is sized for (a busy or emulated CPU):
  // the 5 s floor is what the transport used before it could be set.
  const peerConnectTimeoutMs = parseDuration(c?.peerConnectTimeout ?? `${Math.max(5000, 2 * electionTimeoutMs)}ms`);
  if (peerConnectTimeoutMs < 100) throw new ConfigError('CONFIG_ERR_INVALID', 'cluster.peerConnectTimeout', 'must be at least 100ms');
  const admin = file.admin ?? {};
  if (admin.password && admin.passwordFile) throw new ConfigError('CONFIG_ERR_INVALID', 'admin.passwordFile', 'give either password or passwordFile, not both');
  const password = admin.passwordFile ? readSecretFile(admin.passwordFile, 'admin.passwordFile', base) : (admin.password ?? null);

  const pools = file.bootstrap?.pools ?? [];
  const listeners = file.bootstrap?.listeners ?? [];
  requireUnique(pools.map((p) => p.name), 'bootstrap.pools', 'pool');
  requireUnique(listeners.map((l) => l.name), 'bootstrap.listeners', 'listener');
  const poolSpecs = pools.map((p, i) => normalizePool(p, `bootstrap.pools[${i}]`));
  const listenerSpecs = listeners.map((l, i) => normalizeListener(l, `bootstrap.listeners[${i}]`));
  const poolNames = new Set(poolSpecs.map((p) => p.name));
  listenerSpecs.forEach((l, i) => {
    const refs =
      l.mode === 'tcp'
        ? [...(l.pool === undefined ? [] : [['pool', l.pool]]), ...(l.sniRoutes ?? []).map((r, j) => [`sniRoutes[${j}].pool`, r.pool])]
        : l.routes.flatMap((r, j) => (r.split === undefined ? [[`routes[${j}].pool`, r.pool]] : r.split.map((t, k) => [`routes[${j}].split[${k}].pool`, t.pool])));
    for (const [field, pool] of refs) {
      if (!poolNames.has(pool as string)) {
        throw new ConfigError('CONFIG_ERR_INVALID', `bootstrap.listeners[${i}].${field}`, `pool "${pool}" is not defined in bootstrap.pools`);
      }
    }
  });

  return {
    node: {
      id: file.node.id,
      dataDir: resolve(base, file.node.dataDir),
      adminListen: parseAddress(file.node.adminListen),
      clusterListen: file.node.clusterListen ? parseAddress(file.node.clusterListen) : null,
      workers: file.node.workers ?? availableParallelism(),
      listenHost: file.node.listenHost ?? null,
    },
    cluster: {
      secret,
      peers: (c?.peers ?? [{ id: file.node.id, address: file.node.clusterListen ?? '127.0.0.1:0' }]).map((p) => ({ id: p.id, address: parseAddress(p.address) })),
      vip: c?.vip
        ? {
            address: c.vip.address,
            interface: c.vip.interface,
            driver: c.vip.driver ?? 'linux',
            handOverDrainMs: parseDuration(c.vip.handOverDrain ?? '2s'),
          }
        : null,
      heartbeatMs,
      electionTimeoutMs,
      electionJitterMs,
      snapshotCount: c?.snapshotCount ?? 10_000,
      peerConnectTimeoutMs,
    },
    admin: { user: admin.user ?? 'admin', password },
    bootstrap: { listeners: listenerSpecs, pools: poolSpecs },
    source,
  };
}

export function loadConfigFile(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('CONFIG_ERR_READ', '', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return buildConfig(parseConfigText(text, path), path);
}
