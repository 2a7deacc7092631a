// Applies a first-boot plan to a root directory ('/' on the VM, a scratch tree in tests): host name, root's
// SSH keys, the seed's files (owners looked up in that root's own passwd/group) and networkd units.
import { appendFile, chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FirstBootError } from './errors.js';
import type { FirstBootPlan } from './types.js';

/** Where the applied instance-id is kept: its presence is what stops a second run (the unit's condition). */
export const STAMP = '/var/lib/ballast-firstboot/instance-id';

async function idTable(root: string, file: 'passwd' | 'group'): Promise<Map<string, number>> {
  const text = await readFile(join(root, 'etc', file), 'utf8').catch(() => '');
  const table = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0]) table.set(f[0], Number(f[2]));
  }
  return table;
}

/** `user[:group]` -> numeric ids from `root`'s own tables (the group defaults to the user's name). */
export async function resolveOwner(root: string, owner: string): Promise<{ uid: number; gid: number }> {
  const [user = 'root', group = user] = owner.split(':');
  const uid = (await idTable(root, 'passwd')).get(user);
  const gid = (await idTable(root, 'group')).get(group);
  if (uid === undefined || gid === undefined) throw new FirstBootError('IMAGE_ERR_OWNER', `owner ${owner}: no such user or group on this image`);
  return { uid, gid };
}

export async function applyPlan(plan: FirstBootPlan, root: string, options: { chown: boolean } = { chown: true }): Promise<void> {
  const at = (p: string): string => join(root, p);
  if (plan.hostname !== null) {
    await writeFile(at('/etc/hostname'), `${plan.hostname}\n`);
    const hosts = await readFile(at('/etc/hosts'), 'utf8').catch(() => '127.0.0.1 localhost\n');
    const lines = hosts.split('\n').filter((l) => !l.startsWith('127.0.1.1'));
    lines.splice(1, 0, `127.0.1.1 ${plan.hostname}`);
    await writeFile(at('/etc/hosts'), lines.join('\n'));
  }
  if (plan.rootKeys.length > 0) {
    await mkdir(at('/root/.ssh'), { recursive: true, mode: 0o700 });
    await writeFile(at('/root/.ssh/authorized_keys'), `${plan.rootKeys.join('\n')}\n`, { mode: 0o600 });
  }
  for (const f of plan.files) {
    await mkdir(dirname(at(f.path)), { recursive: true });
    if (f.append) await appendFile(at(f.path), f.content);
    else await writeFile(at(f.path), f.content);
    await chmod(at(f.path), f.mode);
    if (options.chown && f.owner !== null) {
      const { uid, gid } = await resolveOwner(root, f.owner);
      await chown(at(f.path), uid, gid);
    }
  }
  if (plan.network.length > 0) {
    await mkdir(at('/etc/systemd/network'), { recursive: true });
    for (const u of plan.network) await writeFile(at(join('/etc/systemd/network', u.name)), u.content);
  }
  await mkdir(dirname(at(STAMP)), { recursive: true });
  await writeFile(at(STAMP), `${plan.instanceId}\n`);
}
