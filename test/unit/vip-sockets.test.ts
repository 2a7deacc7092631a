// What a planned VIP move waits for, read from /proc/net/tcp text: the sockets, why each counts, and
// the stalled ones (peer gone) that must not hold a drain to its bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countPending, pendingSockets } from '../../cluster/vip/vip-sockets.js';

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
/** One /proc/net/tcp line (little-endian hex, as on x86: 198.18.0.100 = 640012C6, 198.18.0.31 = 1F0012C6). */
function row(o: { local: string; st: string; tx?: number; rx?: number; timer?: string; retransmits?: number; probes?: number; inode?: number }): string {
  return `   0: ${o.local} 1F0012C6:83AC ${o.st} ${hex8(o.tx ?? 0)}:${hex8(o.rx ?? 0)} ${o.timer ?? '00:00000000'} ${hex8(o.retransmits ?? 0)}     0 ${String(o.probes ?? 0).padStart(8)} ${o.inode ?? 12345} 1 0000000000000000 20 4 30 10 -1`;
}

test('a FIN the kernel could not send (address gone, zero-window probe unanswered) does not count', () => {
  // As seen in the lab: left by a kill -9'd predecessor, it held a transfer's drain to its 2 s bound.
  const orphan = row({ local: '640012C6:1F90', st: '04', tx: 1, timer: '04:000003C3', probes: 8, inode: 0 });
  assert.equal(countPending([header, orphan].join('\n'), '198.18.0.100', true), 0);
  // The same FIN waiting for an ACK from a peer that answers (no probe outstanding) still counts.
  const live = row({ local: '640012C6:1F90', st: '04', tx: 1, timer: '01:00000014', inode: 0 });
  assert.equal(countPending([header, live].join('\n'), '198.18.0.100', true), 1);
  // A zero-window probe that was answered resets the count: a slow reader owed bytes still counts.
  const slowReader = row({ local: '640012C6:1F90', st: '01', tx: 9000, timer: '04:00000032', probes: 0 });
  assert.equal(countPending([header, slowReader].join('\n'), '198.18.0.100', true), 1);
});

test('pendingSockets names each socket readably, with why it counts', () => {
  const text = [
    header,
    row({ local: '00000000:1F90', st: '0A', rx: 2 }),
    row({ local: '640012C6:1F90', st: '03' }),
    row({ local: '640012C6:1F90', st: '09', tx: 1, rx: 1, inode: 0 }),
    row({ local: '0B0012C6:1F90', st: '01', tx: 10 }),
  ].join('\n');
  const found = pendingSockets(text, '198.18.0.100', true);
  assert.deepEqual(
    found.map((s) => [s.local, s.remote, s.state, s.why, s.weight]),
    [
      ['0.0.0.0:8080', '198.18.0.31:33708', 'LISTEN', 'accept-queue', 2],
      ['198.18.0.100:8080', '198.18.0.31:33708', 'SYN_RECV', 'half-open', 1],
      ['198.18.0.100:8080', '198.18.0.31:33708', 'LAST_ACK', 'unacknowledged', 1],
    ],
  );
  assert.match(found[2]?.proc ?? '', /^00:00000000 00000000 0 0 0 /);
  assert.equal(countPending(text, '198.18.0.100', true), 4);
});
