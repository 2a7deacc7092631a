// The appliance's first-boot program without a VM: a seed's files -> plan -> files in a scratch root
// (owners from that root's own passwd/group), networkd units from network-config, refusals named.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { applyPlan, resolveOwner, STAMP } from '../../scripts/image/firstboot/apply.js';
import { FirstBootError } from '../../scripts/image/firstboot/errors.js';
import { networkUnits } from '../../scripts/image/firstboot/network.js';
import { planFromSeed } from '../../scripts/image/firstboot/seed.js';

const userData = (doc: unknown): string => `#cloud-config\n${stringify(doc)}`;

test('a NoCloud seed becomes host name, root keys and files; unknown keys are named, not dropped', () => {
  const plan = planFromSeed({
    kind: 'nocloud',
    metaData: 'instance-id: i-1\nlocal-hostname: n2\n',
    userData: userData({
      disable_root: false,
      ssh_authorized_keys: ['ssh-ed25519 AAAA k1'],
      write_files: [
        { path: '/etc/ballast/ballast.yaml', owner: 'root:ballast', permissions: '0640', content: 'node: {id: n2}\n' },
        { path: '/etc/x.bin', encoding: 'b64', content: Buffer.from('hi').toString('base64') },
      ],
      packages: ['curl'],
    }),
    networkConfig: null,
  });
  assert.equal(plan.instanceId, 'i-1');
  assert.equal(plan.hostname, 'n2');
  assert.deepEqual(plan.rootKeys, ['ssh-ed25519 AAAA k1']);
  assert.equal(plan.files.length, 2);
  assert.equal(plan.files[0]!.mode, 0o640);
  assert.equal(plan.files[0]!.owner, 'root:ballast');
  assert.equal(plan.files[1]!.content.toString(), 'hi');
  assert.deepEqual(plan.ignored, ['packages']);
});

test('a config drive gives identity and keys from meta_data.json', () => {
  const plan = planFromSeed({ kind: 'configdrive', metaData: JSON.stringify({ uuid: 'u-9', hostname: 'n3.lab', public_keys: { a: 'ssh-ed25519 BBBB' } }), userData: null, networkConfig: null });
  assert.equal(plan.instanceId, 'u-9');
  assert.equal(plan.hostname, 'n3');
  assert.deepEqual(plan.rootKeys, ['ssh-ed25519 BBBB']);
});

test('refusals: no instance-id, a shell-script user-data, a relative path, a bad host name', () => {
  const bad = [
    { kind: 'nocloud' as const, metaData: 'local-hostname: x\n', userData: null, networkConfig: null },
    { kind: 'nocloud' as const, metaData: 'instance-id: a\n', userData: '#!/bin/sh\nreboot\n', networkConfig: null },
    { kind: 'nocloud' as const, metaData: 'instance-id: a\n', userData: userData({ write_files: [{ path: 'etc/x' }] }), networkConfig: null },
    { kind: 'nocloud' as const, metaData: 'instance-id: a\nlocal-hostname: "a b"\n', userData: null, networkConfig: null },
  ];
  for (const seed of bad) assert.throws(() => planFromSeed(seed), (e: unknown) => e instanceof FirstBootError && e.code === 'IMAGE_ERR_SEED');
});

test('network-config v2 -> networkd units, static and DHCP, by name or MAC; v1 is refused', () => {
  const units = networkUnits({
    network: {
      version: 2,
      ethernets: {
        eth0: { addresses: ['198.18.0.11/24'], gateway4: '198.18.0.1', routes: [{ to: '198.19.0.0/16', via: '198.18.0.2' }] },
        mgmt: { match: { macaddress: '52:54:00:00:00:01' }, dhcp4: true },
      },
    },
  });
  assert.equal(units.length, 2);
  assert.equal(units[0]!.name, '10-seed-eth0.network');
  assert.match(units[0]!.content, /Name=eth0\n/);
  assert.match(units[0]!.content, /DHCP=no\n/);
  assert.match(units[0]!.content, /Address=198\.18\.0\.11\/24\n/);
  assert.match(units[0]!.content, /Gateway=198\.18\.0\.1\n/);
  assert.match(units[0]!.content, /\[Route\]\nDestination=198\.19\.0\.0\/16\nGateway=198\.18\.0\.2\n/);
  assert.match(units[1]!.content, /MACAddress=52:54:00:00:00:01\n/);
  assert.match(units[1]!.content, /DHCP=ipv4\n/);
  assert.throws(() => networkUnits({ version: 1, config: [] }), (e: unknown) => e instanceof FirstBootError && e.code === 'IMAGE_ERR_NETWORK_CONFIG');
  assert.throws(() => networkUnits({ version: 2, ethernets: { eth0: { addresses: ['198.18.0.11'] } } }), FirstBootError);
});

test('applyPlan writes into a root: hosts, keys (0600), files with modes, owners from its passwd, units, stamp', async () => {
  const root = await mkdtemp(join(tmpdir(), 'firstboot-'));
  try {
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\nballast:x:998:997::/var/lib/ballast:/usr/sbin/nologin\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nballast:x:997:\n');
    await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 ballast\n::1 localhost\n');
    const plan = planFromSeed({
      kind: 'nocloud',
      metaData: 'instance-id: i-7\nlocal-hostname: n1\n',
      userData: userData({ ssh_authorized_keys: ['ssh-ed25519 CCCC'], write_files: [{ path: '/etc/ballast/ballast.yaml', permissions: '0640', owner: 'root:ballast', content: 'a: 1\n' }] }),
      networkConfig: stringify({ version: 2, ethernets: { eth0: { addresses: ['198.18.0.11/24'] } } }),
    });
    await applyPlan(plan, root, { chown: false });
    assert.equal(await readFile(join(root, 'etc/hostname'), 'utf8'), 'n1\n');
    const hosts = await readFile(join(root, 'etc/hosts'), 'utf8');
    assert.match(hosts, /^127\.0\.1\.1 n1$/m);
    assert.doesNotMatch(hosts, /127\.0\.1\.1 ballast/);
    assert.equal((await stat(join(root, 'root/.ssh/authorized_keys'))).mode & 0o777, 0o600);
    assert.equal(await readFile(join(root, 'etc/ballast/ballast.yaml'), 'utf8'), 'a: 1\n');
    assert.equal((await stat(join(root, 'etc/ballast/ballast.yaml'))).mode & 0o7777, 0o640);
    assert.match(await readFile(join(root, 'etc/systemd/network/10-seed-eth0.network'), 'utf8'), /Address=198\.18\.0\.11\/24/);
    assert.equal(await readFile(join(root, STAMP), 'utf8'), 'i-7\n');
    assert.deepEqual(await resolveOwner(root, 'root:ballast'), { uid: 0, gid: 997 });
    assert.deepEqual(await resolveOwner(root, 'ballast'), { uid: 998, gid: 997 });
    await assert.rejects(resolveOwner(root, 'nobody'), (e: unknown) => e instanceof FirstBootError && e.code === 'IMAGE_ERR_OWNER');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
