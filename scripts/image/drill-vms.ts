// The inner half of `npm run drill:vms` (scripts/image/drill-vms.sh sets up the namespaces and runs this
// inside the bridge's one): boots three appliance VMs from the image with per-node seeds (static address,
// ballast.yaml, root's key), starts the backends, and runs the failover drill over SSH twice: SIGKILL of
// the leader's daemon, then the leader's VM powered off through its qemu monitor. Writes report.json.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { stringify } from 'yaml';
import { waitHealthy, type MemberNode } from '../deploy/cluster-health.js';
import { readNodeAccess } from '../deploy/node-access.js';
import type { DeployTarget } from '../deploy/types.js';
import { runDrill } from '../failover-drill/drill.js';
import type { DrillReport } from '../failover-drill/drill.js';
import { NetnsHost } from '../hosts/netns-host.js';
import { SshHost } from '../hosts/ssh-host.js';
import { spawnIn } from '../lab/netns.js';
import { watchArp, type ArpWatch } from './arp-watch.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const NET = '198.18.0';
const VIP = `${NET}.100`;
const NODES = [1, 2, 3].map((i) => ({ id: `n${i}`, ip: `${NET}.1${i}`, tap: `tap${i}`, mac: `52:54:00:18:00:1${i}` }));
const BACKENDS = [
  { id: 'b1', ip: `${NET}.21` },
  { id: 'b2', ip: `${NET}.22` },
];
const CLIENT = { id: 'c1', ip: `${NET}.31` };
const log = (line: string): void => void process.stderr.write(`drill:vms: ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function nodeConfig(id: string, ip: string): unknown {
  return {
    node: { id, dataDir: '/var/lib/ballast', adminListen: '0.0.0.0:9000', clusterListen: `${ip}:7000` },
    cluster: {
      secret: 'drill-vms-secret-0123456789abcdef',
      peers: NODES.map((n) => ({ id: n.id, address: `${n.ip}:7000` })),
      vip: { address: `${VIP}/24`, interface: 'eth0', driver: 'linux' },
      // Raft's defaults (100 ms heartbeats, 1 s election timeout) assume real CPUs: a one-vCPU VM under
      // software emulation on a busy machine stalls longer than that, and the cluster flapped through
      // elections (term 24 in ten minutes, no leader after a kill). Slower timers for emulated VMs.
      heartbeat: '500ms',
      electionTimeout: '5s',
      // The Raft paper's [T, 2T] spread: a vote round over emulated guests takes most of a second, and
      // with half of that spread two followers timed out together and split the vote (Vagrant lab, term 3).
      electionJitter: '5s',
    },
    admin: { user: 'admin', password: 'drill-vms-password' },
    bootstrap: {
      listeners: [{ name: 'web', mode: 'http', bind: '0.0.0.0:8080', routes: [{ pathPrefix: '/', pool: 'web' }] }],
      pools: [
        {
          name: 'web',
          healthCheck: { type: 'http', path: '/health', interval: '1s', timeout: '500ms', rise: 2, fall: 2 },
          backends: BACKENDS.map((b) => ({ name: b.id, address: `${b.ip}:8000` })),
        },
      ],
    },
  };
}

const BACKEND = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ backend: process.argv[1], via: q.socket.remoteAddress })); }).listen(8000, () => console.log('up'));`;

interface Vm {
  id: string;
  ip: string;
  mac: string;
  qemu: ChildProcess;
  monitor: string;
  serial: string;
  startedAt: number;
}

async function bootVm(n: (typeof NODES)[number], image: string, work: string, pub: string, smp: number, memMb: number): Promise<Vm> {
  const dir = join(work, n.id);
  await run('mkdir', ['-p', dir]);
  const userData = `#cloud-config\n${stringify({ ssh_authorized_keys: [pub], write_files: [{ path: '/etc/ballast/ballast.yaml', owner: 'root:ballast', permissions: '0640', content: stringify(nodeConfig(n.id, n.ip)) }] })}`;
  await writeFile(join(dir, 'user-data'), userData);
  await writeFile(join(dir, 'meta-data'), `instance-id: drill-${n.id}-${Date.now()}\nlocal-hostname: ${n.id}\n`);
  await writeFile(join(dir, 'network-config'), stringify({ version: 2, ethernets: { eth0: { match: { macaddress: n.mac }, addresses: [`${n.ip}/24`] } } }));
  await run('bash', [join(root, 'scripts/image/seed.sh'), join(dir, 'seed.iso'), join(dir, 'user-data'), join(dir, 'meta-data'), join(dir, 'network-config')]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image, join(dir, 'disk.qcow2')]);
  const monitor = join(work, `${n.id}.mon`);
  const serial = join(work, `${n.id}-serial.log`);
  const qemu = spawn('qemu-system-x86_64', [
    '-machine', 'pc', '-accel', 'tcg,thread=multi', '-smp', String(smp), '-m', String(memMb),
    '-drive', `file=${join(dir, 'disk.qcow2')},if=virtio,format=qcow2`,
    '-drive', `file=${join(dir, 'seed.iso')},media=cdrom,readonly=on`,
    '-netdev', `tap,id=n0,ifname=${n.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=n0,mac=${n.mac}`,
    '-display', 'none', '-serial', `file:${serial}`, '-monitor', `unix:${monitor},server,nowait`,
    '-pidfile', join(work, `${n.id}.pid`),
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { id: n.id, ip: n.ip, mac: n.mac, qemu, monitor, serial, startedAt: Date.now() };
}

async function sshWhenUp(vm: Vm, key: string, deadline: number): Promise<SshHost> {
  let last = '';
  while (Date.now() < deadline) {
    if (vm.qemu.exitCode !== null || vm.qemu.signalCode !== null) throw new Error(`${vm.id}: qemu exited`);
    try {
      return await SshHost.connect({ name: vm.id, host: vm.ip, username: 'root', privateKeyPath: key, connectTimeoutMs: 20_000 });
    } catch (err) {
      last = (err as Error).message;
      await sleep(2000);
    }
  }
  throw new Error(`${vm.id}: no SSH by the deadline (${last})`);
}

/** Hard power-off: qemu's `quit`, as pulling the plug (no shutdown inside the guest). */
async function powerOff(vm: Vm): Promise<void> {
  const sock = connect(vm.monitor);
  await once(sock, 'connect');
  sock.write('quit\n');
  await Promise.race([once(vm.qemu, 'exit'), sleep(10_000)]);
  sock.destroy();
}

interface Scenario {
  name: string;
  drill: DrillReport;
  /** Kill -> the VIP first answered from a VM other than the old leader's (ARP, seen on the bridge). */
  arpTakeoverMs: number | null;
  /** ARP probes of the VIP that two VMs answered. */
  dualAnswers: number;
  /** Probes that ran (arping worked), and those that did not. */
  arpProbes: number;
  arpFailed: number;
}

async function scenario(name: string, nodes: DeployTarget[], client: NetnsHost, vms: Vm[], arp: ArpWatch, fail: ((h: SshHost) => Promise<void>) | null): Promise<Scenario> {
  const mark = arp.samples.length;
  const drill = await runDrill({
    nodes,
    client,
    url: `http://${VIP}:8080/`,
    electionTimeoutMs: 180_000,
    settleMs: 10_000,
    log: (l) => log(`${name}: ${l}`),
    ...(fail ? { fail: (h) => fail(h as SshHost) } : {}),
  });
  const old = vms.find((v) => v.id === drill.oldLeader)!;
  const after = arp.samples.slice(mark).filter((s) => s.ok);
  const takeover = after.find((s) => s.at >= drill.killedAt && s.macs.some((m) => m !== old.mac));
  const result = {
    name,
    drill,
    arpTakeoverMs: takeover ? takeover.at - drill.killedAt : null,
    dualAnswers: after.filter((s) => s.macs.length > 1).length,
    arpProbes: after.length,
    arpFailed: arp.samples.slice(mark).length - after.length,
  };
  // Said at once: a later failure must not lose what this scenario measured.
  log(`${name}: ${JSON.stringify(result)}`);
  return result;
}

/** What each VM says of itself: the daemons' journal, the kernel's, and where its CPU goes. */
const EVIDENCE: Record<string, [string, string[]]> = {
  journal: ['journalctl', ['-u', 'ballast', '-o', 'short-precise', '--no-pager']],
  kernel: ['journalctl', ['-k', '-o', 'short-precise', '--no-pager']],
  // Which clock the guest reads, and the busiest processes: a slow clocksource under emulation makes every timer costly.
  cpu: ['sh', ['-c', 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource /proc/loadavg; ps -eo pid,pcpu,rss,etime,args --sort=-pcpu | head -n 12']],
};

/** Each reachable VM's evidence into the work dir: what the daemons saw is the drill's real record. */
async function saveEvidence(hosts: readonly SshHost[], work: string, kinds: readonly string[], suffix = ''): Promise<void> {
  await Promise.all(
    hosts.flatMap((h) =>
      kinds.map(async (kind) => {
        const [cmd, args] = EVIDENCE[kind]!;
        const r = await h.exec(cmd, args, { allowFailure: true, timeoutMs: 60_000 }).catch((err: Error) => ({ stdout: `(unreachable: ${err.message})\n` }));
        await writeFile(join(work, `${h.name}-${kind}${suffix}.log`), r.stdout);
      }),
    ),
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { image: { type: 'string' }, work: { type: 'string' }, prefix: { type: 'string', default: 'bvm' }, smp: { type: 'string', default: '1' }, mem: { type: 'string', default: '1024' } } });
  const image = resolve(values.image!);
  const work = resolve(values.work!);
  const t0 = Date.now();
  const key = join(work, 'key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'drill-vms', '-f', key]);
  const pub = (await readFile(`${key}.pub`, 'utf8')).trim();
  const vms: Vm[] = [];
  const backends: ChildProcess[] = [];
  const hosts: SshHost[] = [];
  let arp: ArpWatch | null = null;
  const report: Record<string, unknown> = { image, loadavgAtStart: (await readFile('/proc/loadavg', 'utf8')).trim() };
  try {
    for (const n of NODES) vms.push(await bootVm(n, image, work, pub, Number(values.smp), Number(values.mem)));
    log(`3 VMs started (TCG, -smp ${values.smp}, ${values.mem} MiB); serial logs in ${work}`);
    for (const b of BACKENDS) {
      const child = spawnIn(`${values.prefix}-${b.id}`, process.execPath, ['-e', BACKEND, b.id], { stdio: ['ignore', 'pipe', 'inherit'] });
      backends.push(child);
      await once(child.stdout!, 'data');
    }
    const deadline = Date.now() + 25 * 60_000;
    const sshMs: Record<string, number> = {};
    for (const vm of vms) {
      hosts.push(await sshWhenUp(vm, key, deadline));
      sshMs[vm.id] = Date.now() - vm.startedAt;
      log(`${vm.id}: SSH after ${Math.round(sshMs[vm.id]! / 1000)} s`);
    }
    report['sshMs'] = sshMs;
    const targets: DeployTarget[] = hosts.map((host) => ({ host, installDir: '/opt/ballast', configPath: '/etc/ballast/ballast.yaml', restart: [] }));
    const members: MemberNode[] = [];
    for (const t of targets) members.push({ target: t, access: await readNodeAccess(t) });
    const unhealthy = await waitHealthy(members, 0, Math.max(60_000, deadline - Date.now()));
    if (unhealthy !== null) throw new Error(`cluster not healthy: ${unhealthy}`);
    report['clusterHealthyMs'] = Date.now() - t0;
    log(`cluster healthy ${Math.round((Date.now() - t0) / 1000)} s after the first qemu start`);
    await saveEvidence(hosts, work, ['cpu'], '-healthy');
    arp = watchArp(VIP, 'br0');
    const client = new NetnsHost(CLIENT.id, `${values.prefix}-${CLIENT.id}`, CLIENT.ip);
    const scenarios: Scenario[] = [];
    scenarios.push(await scenario('kill -9 ballast on the leader', targets, client, vms, arp, null));
    // The killed daemon comes back (Restart=on-failure) as a follower: wait for three healthy nodes again.
    const again = await waitHealthy(members, 0, 10 * 60_000);
    if (again !== null) throw new Error(`cluster not healthy after the first drill: ${again}`);
    scenarios.push(
      await scenario('leader VM powered off (qemu quit)', targets, client, vms, arp, async (h) => {
        const vm = vms.find((v) => v.ip === h.address)!;
        await powerOff(vm);
      }),
    );
    report['scenarios'] = scenarios;
    report['totalMs'] = Date.now() - t0;
    report['loadavgAtEnd'] = (await readFile('/proc/loadavg', 'utf8')).trim();
    const ok = scenarios.every((s) => s.drill.newLeader !== null && s.drill.recovered && s.dualAnswers === 0);
    report['ok'] = ok;
    return ok ? 0 : 1;
  } catch (err) {
    report['error'] = (err as Error).message;
    for (const vm of vms) {
      const tail = await readFile(vm.serial, 'utf8').then((s) => s.split('\n').slice(-12).join('\n')).catch(() => '');
      log(`${vm.id} serial (last lines):\n${tail}`);
    }
    throw err;
  } finally {
    await arp?.stop();
    await saveEvidence(hosts, work, ['journal', 'kernel', 'cpu']);
    log(`journals and CPU figures of the reachable VMs saved in ${work}`);
    await writeFile(join(work, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    await Promise.all(hosts.map((h) => h.close().catch(() => undefined)));
    for (const vm of vms) vm.qemu.kill('SIGKILL');
    for (const b of backends) b.kill('SIGKILL');
  }
}

// Exit outright: a handle left by a powered-off VM's SSH session must not keep the drill (and the
// namespaces its wrapper removes afterwards) alive.
process.exit(await main());
