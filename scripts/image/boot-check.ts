// The image's boot check: boots the built image with a seed naming this VM as node n1, then proves over
// SSH that first boot configured it from the seed and that the service runs as the image promises.
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { hostHttp } from '../hosts/host-http.js';
import type { SshHost } from '../hosts/ssh-host.js';
import { bootVm } from './vm.js';
import type { Vm } from './vm.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BootCheckReport {
  /** qemu start -> SSH login, ms. */
  sshMs: number;
  /** qemu start -> ballast active and /readyz 200, ms. */
  readyMs: number | null;
  checks: CheckResult[];
  ok: boolean;
}

// The guest side of qemu's user network is 10.0.2.15/24: the VIP lives there, inside the guest only.
export const CHECK_CONFIG = {
  node: { id: 'n1', dataDir: '/var/lib/ballast', adminListen: '0.0.0.0:9000', clusterListen: '10.0.2.15:7000' },
  cluster: {
    secret: 'boot-check-secret-0123456789abcdef',
    peers: [{ id: 'n1', address: '10.0.2.15:7000' }],
    vip: { address: '10.0.2.100/24', interface: 'eth0', driver: 'linux' },
  },
  admin: { user: 'admin', password: 'boot-check-password' },
  bootstrap: {
    listeners: [{ name: 'web', mode: 'http', bind: '0.0.0.0:8080', routes: [{ pathPrefix: '/', pool: 'web' }] }],
    pools: [{ name: 'web', backends: [{ name: 'b1', address: '127.0.0.1:8000' }] }],
  },
};

export function checkUserData(publicKey: string, config: unknown = CHECK_CONFIG): string {
  const userData = {
    disable_root: false,
    ssh_authorized_keys: [publicKey],
    write_files: [{ path: '/etc/ballast/ballast.yaml', owner: 'root:ballast', permissions: '0640', content: stringify(config) }],
  };
  return `#cloud-config\n${stringify(userData)}`;
}

async function sh(host: SshHost, script: string): Promise<string> {
  const r = await host.exec('sh', ['-c', script], { allowFailure: true, timeoutMs: 60_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

/** Waits for the unit to be active and /readyz to answer 200 (from inside the VM). */
async function waitReady(host: SshHost, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const active = await sh(host, 'systemctl is-active ballast');
    if (active === 'active') {
      const r = await hostHttp(host, { url: 'http://127.0.0.1:9000/readyz', timeoutMs: 5000 }).catch(() => null);
      if (r?.status === 200) return true;
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
  return false;
}

/** Checks a booted VM; exported for the deploy check, which runs on the same VM afterwards. */
export async function checkBooted(vm: Vm, host: SshHost, startedAt: number, readyTimeoutMs: number): Promise<Omit<BootCheckReport, 'sshMs'>> {
  const checks: CheckResult[] = [];
  const add = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
  };
  const ready = await waitReady(host, readyTimeoutMs);
  const readyMs = ready ? Date.now() - startedAt : null;
  add('ballast.service active', (await sh(host, 'systemctl is-active ballast')) === 'active', await sh(host, 'systemctl status --no-pager -n 5 ballast | head -n 12'));
  const seeded = stringify(CHECK_CONFIG);
  const onDisk = await sh(host, 'cat /etc/ballast/ballast.yaml');
  add('config written from the seed', onDisk === seeded.trim(), onDisk.split('\n').slice(0, 3).join(' | '));
  const readyz = await hostHttp(host, { url: 'http://127.0.0.1:9000/readyz', timeoutMs: 5000 }).catch((e: Error) => ({ status: 0, body: e.message, error: null }));
  add('/readyz 200 inside the VM, as node n1', readyz.status === 200 && readyz.body.includes('"n1"'), readyz.body.slice(0, 200));
  const fwd = vm.ports.get(9000);
  if (fwd !== undefined) {
    const r = await fetch(`http://127.0.0.1:${fwd}/readyz`, { signal: AbortSignal.timeout(10_000) }).then((x) => x.status).catch(() => 0);
    add('/readyz 200 through the 127.0.0.1 forward', r === 200, `127.0.0.1:${fwd} -> ${r}`);
  }
  const user = await sh(host, 'ps -o user= -p "$(systemctl show -p MainPID --value ballast)"');
  add('runs as the ballast user', user === 'ballast', user);
  // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: effective set 0x3000 and nothing else.
  const caps = await sh(host, 'grep -E "^Cap(Eff|Bnd|Amb)" "/proc/$(systemctl show -p MainPID --value ballast)/status"');
  add('capabilities: NET_ADMIN + NET_RAW only', /CapEff:\s+0*3000\b/.test(caps) && /CapBnd:\s+0*3000\b/.test(caps), caps.replace(/\n/g, ' '));
  // A one-node cluster holds its VIP from start to stop: the daemon itself, as `ballast` with the unit's
  // two capabilities and no others, has added the address and sent its gratuitous ARP (a failed arping
  // fails the raise, which the journal would say).
  const vip = await sh(
    host,
    'for i in $(seq 1 30); do ip -o -4 addr show dev eth0 | grep -q " 10.0.2.100/24 " && break; sleep 1; done; ' +
      'ip -o -4 addr show dev eth0 | grep -c " 10.0.2.100/24 "; j=$(journalctl -u ballast -o cat --no-pager); ' +
      `echo "$j" | grep -c "VIP raised"; echo "$j" | grep -c "could not raise the VIP"; echo "$j" | grep -m 1 "could not raise" | grep -o '"message":"[^"]*'`,
  );
  const [onEth0, raisedLines, failedLines, ...why] = vip.split('\n');
  add(
    'the daemon (ballast, NET_ADMIN + NET_RAW only) raised the VIP with its gratuitous ARP',
    onEth0 === '1' && raisedLines !== '0' && failedLines === '0',
    `on eth0 ${onEth0}, "VIP raised" ${raisedLines}, "could not raise" ${failedLines} ${why.join(' | ')}`.trim(),
  );
  const noCaps = await sh(host, 'setpriv --reuid=ballast --regid=ballast --init-groups --inh-caps=-all --bounding-set=-all ip addr add 10.0.2.101/24 dev eth0; echo "exit $?"');
  add('without the capabilities, ballast cannot touch addresses', !noCaps.endsWith('exit 0'), noCaps.replace(/\n/g, ' | '));
  const sysctl = await sh(host, 'sysctl -n net.ipv4.ip_nonlocal_bind net.ipv4.conf.all.arp_ignore');
  add('sysctls applied', sysctl.replace(/\s+/g, ' ') === '1 1', sysctl.replace(/\n/g, ' '));
  const tools = await sh(host, 'for t in arping sshd node ballast; do command -v "$t" || echo "no $t"; done | tr "\\n" " "; node --version');
  add('arping, sshd, node, ballast installed', !tools.includes('no ') && tools.split(' ').filter((w) => w.startsWith('/')).length === 4, tools);
  const version = await sh(host, 'cat /opt/ballast/VERSION');
  add('release under /opt/ballast', version.startsWith('ballast '), version);
  const hostKeys = await sh(host, 'ls /etc/ssh/ssh_host_*_key.pub | wc -l');
  add('SSH host keys made at first boot', Number(hostKeys) > 0, hostKeys);
  return { readyMs, checks, ok: checks.every((c) => c.ok) };
}

export interface BootCheckOptions {
  image: string;
  accelerator?: 'tcg' | 'kvm';
  /** Bound on the SSH login after qemu starts. Default 12 min (TCG on a loaded machine). */
  sshTimeoutMs?: number;
  readyTimeoutMs?: number;
  /** Runs after the checks, on the same VM, while it is still up (the deploy check). */
  then?: (vm: Vm, host: SshHost) => Promise<CheckResult[]>;
  log?: (line: string) => void;
}

export async function bootCheck(options: BootCheckOptions): Promise<BootCheckReport> {
  const log = options.log ?? (() => undefined);
  await readFile(options.image).catch(() => {
    throw new Error(`no image at ${options.image}: run npm run image`);
  });
  const t0 = Date.now();
  const vm = await bootVm({
    image: options.image,
    userData: (pub) => checkUserData(pub),
    instanceId: `ballast-check-${t0}`,
    hostname: 'n1',
    forward: [9000],
    ...(options.accelerator ? { accelerator: options.accelerator } : {}),
  });
  let host: SshHost | null = null;
  try {
    log(`qemu started (ssh on 127.0.0.1:${vm.sshPort}, serial log ${vm.serialLog}); waiting for SSH`);
    host = await vm.connect(options.sshTimeoutMs ?? 12 * 60_000);
    const sshMs = Date.now() - t0;
    log(`SSH up after ${Math.round(sshMs / 1000)} s; checking`);
    const r = await checkBooted(vm, host, t0, options.readyTimeoutMs ?? 15 * 60_000);
    log(`ready after ${r.readyMs === null ? 'never' : `${Math.round(r.readyMs / 1000)} s`}`);
    if (options.then) r.checks.push(...(await options.then(vm, host)));
    return { sshMs, readyMs: r.readyMs, checks: r.checks, ok: r.checks.every((c) => c.ok) };
  } catch (err) {
    const tail = await readFile(vm.serialLog, 'utf8').then((s) => s.split('\n').slice(-15).join('\n')).catch(() => '');
    throw new Error(`${(err as Error).message}\n--- serial console (last lines) ---\n${tail}`, { cause: err });
  } finally {
    await host?.close();
    await vm.destroy();
  }
}
