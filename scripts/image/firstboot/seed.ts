// Reads a seed's files into a first-boot plan: the part of cloud-config a Ballast node uses
// (ssh_authorized_keys, write_files, hostname/fqdn) plus meta-data's identity; the rest is named, not applied.
import { parse } from 'yaml';
import { FirstBootError } from './errors.js';
import { networkUnits } from './network.js';
import type { FileToWrite, FirstBootPlan, SeedFiles } from './types.js';

type Dict = Record<string, unknown>;

// Keys that mean nothing on this image (no cloud-init, root login by key only) and are accepted quietly.
const HARMLESS = new Set(['disable_root', 'ssh_pwauth', 'preserve_hostname', 'manage_etc_hosts']);

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function yamlDoc(text: string, what: string): Dict {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new FirstBootError('IMAGE_ERR_SEED', `${what}: not YAML (${(err as Error).message})`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isDict(doc)) throw new FirstBootError('IMAGE_ERR_SEED', `${what}: not a mapping`);
  return doc;
}

function fileEntry(raw: unknown, i: number): FileToWrite {
  if (!isDict(raw) || typeof raw['path'] !== 'string' || !raw['path'].startsWith('/')) {
    throw new FirstBootError('IMAGE_ERR_SEED', `write_files[${i}]: needs an absolute path`);
  }
  const text = typeof raw['content'] === 'string' ? raw['content'] : '';
  const encoding = typeof raw['encoding'] === 'string' ? raw['encoding'] : 'text/plain';
  let content: Buffer;
  switch (encoding) {
    case 'b64':
    case 'base64':
      content = Buffer.from(text, 'base64');
      break;
    case 'text/plain':
      content = Buffer.from(text, 'utf8');
      break;
    default:
      throw new FirstBootError('IMAGE_ERR_SEED', `write_files[${i}] (${raw['path']}): encoding ${encoding} is not read (b64 or plain)`);
  }
  const perms = raw['permissions'];
  const mode = typeof perms === 'string' ? parseInt(perms, 8) : typeof perms === 'number' ? perms : 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new FirstBootError('IMAGE_ERR_SEED', `write_files[${i}]: bad permissions ${String(perms)}`);
  return { path: raw['path'], content, mode, owner: typeof raw['owner'] === 'string' ? raw['owner'] : null, append: raw['append'] === true };
}

interface Identity {
  instanceId: string;
  hostname: string | null;
  keys: string[];
}

function identity(seed: SeedFiles): Identity {
  if (seed.metaData === null) throw new FirstBootError('IMAGE_ERR_SEED', 'no meta-data');
  switch (seed.kind) {
    case 'nocloud': {
      const meta = yamlDoc(seed.metaData, 'meta-data');
      const id = meta['instance-id'] ?? meta['instance_id'];
      if (typeof id !== 'string' || id === '') throw new FirstBootError('IMAGE_ERR_SEED', 'meta-data has no instance-id');
      const host = meta['local-hostname'] ?? meta['hostname'];
      const keys = Array.isArray(meta['public-keys']) ? meta['public-keys'].filter((k): k is string => typeof k === 'string') : [];
      return { instanceId: id, hostname: typeof host === 'string' ? host : null, keys };
    }
    case 'configdrive': {
      let meta: unknown;
      try {
        meta = JSON.parse(seed.metaData);
      } catch {
        throw new FirstBootError('IMAGE_ERR_SEED', 'meta_data.json is not JSON');
      }
      if (!isDict(meta) || typeof meta['uuid'] !== 'string') throw new FirstBootError('IMAGE_ERR_SEED', 'meta_data.json has no uuid');
      const keys = isDict(meta['public_keys']) ? Object.values(meta['public_keys']).filter((k): k is string => typeof k === 'string') : [];
      return { instanceId: meta['uuid'], hostname: typeof meta['hostname'] === 'string' ? meta['hostname'] : null, keys };
    }
    default: {
      const never: never = seed.kind;
      throw new FirstBootError('IMAGE_ERR_SEED', `unknown seed kind ${String(never)}`);
    }
  }
}

export function planFromSeed(seed: SeedFiles): FirstBootPlan {
  const id = identity(seed);
  const plan: FirstBootPlan = { instanceId: id.instanceId, hostname: id.hostname, rootKeys: [...id.keys], files: [], network: [], ignored: [] };
  if (seed.userData !== null && seed.userData.trim() !== '') {
    if (!seed.userData.startsWith('#cloud-config')) throw new FirstBootError('IMAGE_ERR_SEED', 'user-data is not #cloud-config (scripts are not run)');
    const user = yamlDoc(seed.userData, 'user-data');
    for (const [key, value] of Object.entries(user)) {
      switch (key) {
        case 'ssh_authorized_keys':
          if (!Array.isArray(value)) throw new FirstBootError('IMAGE_ERR_SEED', 'ssh_authorized_keys must be a list');
          plan.rootKeys.push(...value.filter((k): k is string => typeof k === 'string'));
          break;
        case 'write_files':
          if (!Array.isArray(value)) throw new FirstBootError('IMAGE_ERR_SEED', 'write_files must be a list');
          plan.files.push(...value.map(fileEntry));
          break;
        case 'hostname':
        case 'fqdn':
          if (typeof value === 'string' && (key === 'hostname' || plan.hostname === null)) plan.hostname = value.split('.')[0] ?? value;
          break;
        default:
          if (!HARMLESS.has(key)) plan.ignored.push(key);
      }
    }
  }
  // The short name: an FQDN from meta-data keeps its first label (the image has no resolver to serve the rest).
  if (plan.hostname !== null) plan.hostname = plan.hostname.split('.')[0] ?? plan.hostname;
  if (plan.hostname !== null && !/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(plan.hostname)) throw new FirstBootError('IMAGE_ERR_SEED', `hostname ${plan.hostname} is not a host name`);
  if (seed.networkConfig !== null && seed.networkConfig.trim() !== '') plan.network = networkUnits(yamlDoc(seed.networkConfig, 'network-config'));
  return plan;
}
