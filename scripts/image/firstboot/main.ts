// The appliance's first-boot program (ballast-firstboot.service, bundled to one file by the image build):
// finds this VM's seed, a NoCloud ISO (label cidata) or a config drive (config-2), applies it, and grows
// the root filesystem to the disk. It replaces cloud-init, whose Python start-up alone cost a minute per
// boot under software emulation; a VM without a seed keeps the image's defaults (DHCP, no SSH keys).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { applyPlan, STAMP } from './apply.js';
import { planFromSeed } from './seed.js';
import type { SeedFiles } from './types.js';

const run = promisify(execFile);
const log = (line: string): void => void process.stdout.write(`ballast-firstboot: ${line}\n`);

async function findDevice(label: string): Promise<string | null> {
  const r = await run('blkid', ['-t', `LABEL=${label}`, '-o', 'device']).catch(() => null);
  return r?.stdout.trim().split('\n')[0] || null;
}

async function readSeed(): Promise<SeedFiles | null> {
  // The CD-ROM may still be probing when this starts: a short, bounded wait.
  const deadline = Date.now() + 15_000;
  let dev: { path: string; kind: SeedFiles['kind'] } | null = null;
  while (dev === null) {
    const nocloud = (await findDevice('cidata')) ?? (await findDevice('CIDATA'));
    const drive = nocloud === null ? await findDevice('config-2') : null;
    if (nocloud !== null) dev = { path: nocloud, kind: 'nocloud' };
    else if (drive !== null) dev = { path: drive, kind: 'configdrive' };
    else if (Date.now() > deadline) return null;
    else await sleep(500);
  }
  const mnt = await mkdtemp(join(tmpdir(), 'seed-'));
  await run('mount', ['-o', 'ro', dev.path, mnt]);
  try {
    const read = (p: string): Promise<string | null> => readFile(join(mnt, p), 'utf8').catch(() => null);
    if (dev.kind === 'nocloud') return { kind: 'nocloud', metaData: await read('meta-data'), userData: await read('user-data'), networkConfig: await read('network-config') };
    return { kind: 'configdrive', metaData: await read('openstack/latest/meta_data.json'), userData: await read('openstack/latest/user_data'), networkConfig: null };
  } finally {
    await run('umount', [mnt]).catch(() => undefined);
    await rmdir(mnt).catch(() => undefined);
  }
}

async function growRoot(): Promise<void> {
  const source = (await run('findmnt', ['-n', '-o', 'SOURCE', '/'])).stdout.trim();
  const m = /^(\/dev\/[a-z]+?)(p?)(\d+)$/.exec(source);
  if (!m) return log(`root on ${source}: not grown`);
  const [disk, part] = [m[1]!, m[3]!];
  // Usually the VM's disk is the image's size: sysfs says so without a process (each costs ~1 s emulated).
  const sys = (p: string): Promise<number> => readFile(p, 'utf8').then(Number);
  const diskName = disk.slice('/dev/'.length);
  const partName = source.slice('/dev/'.length);
  const [diskSectors, start, size] = await Promise.all([sys(`/sys/class/block/${diskName}/size`), sys(`/sys/class/block/${partName}/start`), sys(`/sys/class/block/${partName}/size`)]);
  if (start + size + 2048 >= diskSectors) return;
  const sectors = async (): Promise<string> => (await run('lsblk', ['-bno', 'SIZE', source])).stdout.trim();
  const before = await sectors();
  // What growpart does, without its Python: sfdisk moves the partition's end to the disk's end (the
  // table only: the kernel keeps the disk open), partx tells the kernel, resize2fs grows ext4 online.
  await run('sh', ['-c', `echo ', +' | sfdisk --no-reread --force -q -N ${part} ${disk}`]);
  await run('partx', ['-u', '-n', part, disk]);
  if ((await sectors()) !== before) {
    await run('resize2fs', [source]);
    log(`grew ${source} to the end of ${disk}`);
  }
}

async function main(): Promise<void> {
  await growRoot().catch((e: Error) => log(`growing the root filesystem failed: ${e.message}`));
  const seed = await readSeed();
  if (seed === null) {
    log('no seed (cidata or config-2): image defaults');
    // Stamped all the same, so a seedless VM (a Vagrant box) does not wait for a seed on every boot.
    await mkdir(dirname(STAMP), { recursive: true });
    await writeFile(STAMP, 'none\n');
    return;
  }
  const plan = planFromSeed(seed);
  if (plan.ignored.length > 0) log(`not applied (unsupported here): ${plan.ignored.join(', ')}`);
  await applyPlan(plan, '/');
  if (plan.hostname !== null) await run('hostname', [plan.hostname]);
  log(`${seed.kind} seed ${plan.instanceId}: host ${plan.hostname ?? '(unchanged)'}, ${plan.rootKeys.length} root key(s), ${plan.files.length} file(s), ${plan.network.length} network unit(s)`);
}

await main();
