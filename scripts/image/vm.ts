// One VM booted from the appliance image under qemu (TCG unless told otherwise), for the boot check and
// the deploy against a real image: a throwaway overlay over the image, a NoCloud seed ISO, user-mode
// networking with no route out (restrict=on) and host forwards bound to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SshHost } from '../hosts/ssh-host.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

export interface VmOptions {
  image: string;
  /** cloud-init user-data without the SSH key, which boot() adds for root. */
  userData: (publicKey: string) => string;
  instanceId: string;
  hostname: string;
  /** Guest ports forwarded to 127.0.0.1 (a free host port each). */
  forward?: readonly number[];
  accelerator?: 'tcg' | 'kvm';
  memoryMb?: number;
  cpus?: number;
  /** Hard bound on the VM's life: qemu is killed after it whatever happens. Default 20 min. */
  lifetimeMs?: number;
}

export interface Vm {
  dir: string;
  sshPort: number;
  /** Guest port -> 127.0.0.1 port. */
  ports: Map<number, number>;
  privateKeyPath: string;
  serialLog: string;
  /** Connects over SSH, retrying until it works or `timeoutMs` passes. */
  connect(timeoutMs: number): Promise<SshHost>;
  /** Kills qemu and removes the overlay, seed and key. */
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r, j) => srv.once('error', j).listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function bootVm(options: VmOptions): Promise<Vm> {
  const dir = await mkdtemp(join(tmpdir(), 'ballast-vm-'));
  let qemu: ChildProcess | null = null;
  let lifetime: NodeJS.Timeout | undefined;
  const destroy = async (): Promise<void> => {
    clearTimeout(lifetime);
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGTERM');
      const gone = await Promise.race([once(qemu, 'exit').then(() => true), sleep(5000).then(() => false)]);
      if (!gone) qemu.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const key = join(dir, 'key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ballast-vm', '-f', key]);
    const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
    await writeFile(join(dir, 'user-data'), options.userData(pub));
    await writeFile(join(dir, 'meta-data'), `instance-id: ${options.instanceId}\nlocal-hostname: ${options.hostname}\n`);
    await run('bash', [join(root, 'scripts/image/seed.sh'), join(dir, 'seed.iso'), join(dir, 'user-data'), join(dir, 'meta-data')]);
    // An overlay: the image itself is never written.
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', resolve(options.image), join(dir, 'disk.qcow2')]);
    const sshPort = await freePort();
    const ports = new Map<number, number>();
    for (const p of options.forward ?? []) ports.set(p, await freePort());
    const fwd = [`hostfwd=tcp:127.0.0.1:${sshPort}-:22`, ...[...ports].map(([g, h]) => `hostfwd=tcp:127.0.0.1:${h}-:${g}`)];
    const accel = options.accelerator ?? 'tcg';
    const serialLog = join(dir, 'serial.log');
    qemu = spawn('qemu-system-x86_64', [
      '-machine', 'pc', '-accel', accel === 'tcg' ? 'tcg,thread=multi' : 'kvm',
      '-smp', String(options.cpus ?? 2), '-m', String(options.memoryMb ?? 1024),
      '-drive', `file=${join(dir, 'disk.qcow2')},if=virtio,format=qcow2`,
      '-drive', `file=${join(dir, 'seed.iso')},media=cdrom,readonly=on`,
      '-netdev', `user,id=n0,restrict=on,${fwd.join(',')}`,
      '-device', 'virtio-net-pci,netdev=n0',
      '-display', 'none', '-serial', `file:${serialLog}`, '-monitor', 'none',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    lifetime = setTimeout(() => qemu?.kill('SIGKILL'), options.lifetimeMs ?? 20 * 60_000);
    lifetime.unref();
    const vmQemu = qemu;
    const connect = async (timeoutMs: number): Promise<SshHost> => {
      const deadline = Date.now() + timeoutMs;
      let last: unknown = null;
      while (Date.now() < deadline) {
        if (vmQemu.exitCode !== null || vmQemu.signalCode !== null) throw new Error(`qemu exited (${vmQemu.exitCode ?? vmQemu.signalCode}): ${stderr.trim()}`);
        try {
          return await SshHost.connect({ name: options.hostname, host: '127.0.0.1', port: sshPort, username: 'root', privateKeyPath: key, connectTimeoutMs: 30_000 });
        } catch (err) {
          last = err;
          await sleep(3000);
        }
      }
      throw new Error(`no SSH to ${options.hostname} within ${timeoutMs} ms: ${(last as Error | null)?.message ?? ''}`);
    };
    return { dir, sshPort, ports, privateKeyPath: key, serialLog, connect, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
