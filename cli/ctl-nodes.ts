// The node table of `ballast ctl status`: each node's own report (role, term, commit, host) as the
// answering node received it, with its age, so a follower's answer shows the whole cluster.
import type { NodesResponseT } from '../web/schemas.js';
import { formatTable } from './ctl-table.js';

const GIB = 1024 ** 3;

function age(ms: number | null): string {
  if (ms === null) return 'never';
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s ago` : `${Math.round(ms / 1000)}s ago`;
}

export function nodesText(r: NodesResponseT): string {
  const rows = r.nodes.map((n) => {
    const rep = n.report;
    const s = rep?.stats ?? null;
    const status = n.status === 'self' ? 'this node' : `${n.status} (${age(n.ageMs)})`;
    return [
      n.id,
      status,
      rep?.raft.role ?? '-',
      rep ? String(rep.raft.term) : '-',
      rep ? String(rep.raft.commitIndex) : '-',
      s ? `${s.cpu.percent.toFixed(0)}% of ${s.cpu.cores}` : '-',
      s ? `${(s.memory.used / GIB).toFixed(1)}/${(s.memory.total / GIB).toFixed(1)} GiB` : '-',
      s ? s.load.map((l) => l.toFixed(2)).join(' ') : '-',
      s ? s.interfaces.filter((i) => i.up && i.ip4).map((i) => `${i.name} ${i.ip4}`).join(', ') || '-' : '-',
    ];
  });
  const head = `as reported by each node to ${r.node} (every ${r.reportEveryMs / 1000}s; unreachable after ${r.unreachableAfterMs / 1000}s of silence):\n`;
  return head + formatTable(['NODE', 'REPORT', 'ROLE', 'TERM', 'COMMIT', 'CPU', 'MEMORY', 'LOAD', 'INTERFACES'], rows);
}
