// The dead node's VIP: when a node dies without releasing its VIP (kill -9, OOM killer), its
// data-plane workers, which outlive it by a moment, take the address off the interface on their way
// out, so the dead host stops answering ARP for it long before the node is restarted.
import { execFileSync } from 'node:child_process';

/** Environment variable through which the node hands its workers "ADDRESS/PREFIX INTERFACE". */
export const ORPHAN_VIP_ENV = 'BALLAST_ORPHAN_VIP';

/** How long to wait for the kernel to re-parent us after the node's IPC channel closed. */
const REPARENT_WAIT_MS = 1000;

export function orphanVipSpec(vip: { address: string; interface: string; driver: string } | null): Record<string, string> {
  return vip !== null && vip.driver === 'linux' ? { [ORPHAN_VIP_ENV]: `${vip.address} ${vip.interface}` } : {};
}

/**
 * Arms the release in a worker; call nodeLost() when the node's own channel closes unannounced. Only an exit that follows an unannounced loss of the node's IPC
 * channel AND a change of parent (the node is gone, not merely restarting this worker) deletes the
 * address; a drained or crashed worker under a live node never touches it. Both checks must run
 * synchronously: node:cluster exits the worker from inside its own 'disconnect' handler.
 */
export function armOrphanVipRelease(spec: string | undefined, log: (line: string) => void): { nodeLost(): void } {
  let orphaned = false;
  const nodeLost = () => {
    orphaned = true;
  };
  const [cidr, iface] = (spec ?? '').split(' ');
  if (!cidr || !iface) return { nodeLost };
  const parent = process.ppid;
  process.prependOnceListener('disconnect', nodeLost);
  process.once('exit', () => {
    if (!orphaned) return;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + REPARENT_WAIT_MS;
    while (process.ppid === parent && Date.now() < deadline) Atomics.wait(nap, 0, 0, 10);
    if (process.ppid === parent) return;
    try {
      execFileSync('ip', ['addr', 'del', cidr, 'dev', iface], { stdio: 'ignore', timeout: 2000 });
      log(`node ${parent} died holding the VIP: released ${cidr} from ${iface}`);
    } catch {
      // Not on this interface (the node was not the holder, or a sibling worker was quicker).
    }
  });
  return { nodeLost };
}
