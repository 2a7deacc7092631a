// The command runners (real processes, netns wrapping) and the exact commands the linux driver issues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { hostRunner, netnsRunner } from '../../cluster/vip/command-runner.js';
import { VipError, isVipError } from '../../cluster/vip/errors.js';
import { LinuxVipDriver, findPrefix } from '../../cluster/vip/linux-driver.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../cluster/vip/types.js';

const node = process.execPath;
const silent = pino({ level: 'silent' });

test('hostRunner passes arguments verbatim, with no shell in between', async () => {
  const runner = hostRunner();
  const tricky = ['a b', '$HOME', '; echo pwned', '`id`', "it's", ''];
  const { stdout } = await runner.run(node, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...tricky]);
  assert.deepEqual(JSON.parse(stdout), tricky);
});

test('hostRunner: a failing program is VIP_ERR_COMMAND_FAILED with its exit code and stderr', async () => {
  await assert.rejects(hostRunner().run(node, ['-e', 'process.stderr.write("boom\\n"); process.exit(3)']), (err: unknown) => {
    assert.ok(isVipError(err, 'VIP_ERR_COMMAND_FAILED'));
    assert.equal(err.exitCode, 3);
    assert.equal(err.stderr, 'boom');
    assert.match(err.message, /exit 3\): boom$/);
    return true;
  });
});

test('hostRunner: missing program, timeout and cancellation each have their code', async () => {
  await assert.rejects(hostRunner().run('ballast-no-such-program', []), (err: unknown) => isVipError(err, 'VIP_ERR_COMMAND_MISSING'));

  const started = Date.now();
  await assert.rejects(
    hostRunner({ timeoutMs: 300 }).run(node, ['-e', 'setTimeout(() => {}, 20000)']),
    (err: unknown) => isVipError(err, 'VIP_ERR_COMMAND_TIMEOUT'),
  );
  assert.ok(Date.now() - started < 10_000, 'the timeout bounds the call');

  const controller = new AbortController();
  const pending = hostRunner().run(node, ['-e', 'setTimeout(() => {}, 20000)'], { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(pending, (err: unknown) => isVipError(err, 'VIP_ERR_CANCELLED'));
  assert.ok(Date.now() - started < 15_000);
});

test('hostRunner: a program that finished while the event loop stalled past its timeout keeps its own result', async () => {
  // Seen in a VM under emulation: the daemon's loop stopped for 10 s while tc ran; when it woke, the
  // timeout fired before the exit was read, and tc's "Parent Qdisc doesn't exist" (exit 2, expected)
  // came back with no stderr, so nothing recognised it and the VIP raise failed.
  const runner = hostRunner({ timeoutMs: 100 });
  const pending = runner.run(node, ['-e', 'process.stderr.write("Error: Parent Qdisc doesn\'t exists.\\n"); process.exit(2)']);
  const settled = pending.then(
    () => null,
    (err: unknown) => err,
  );
  // Block this loop well past both the program's exit and the timeout.
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    /* a stalled event loop */
  }
  const err = await settled;
  assert.ok(isVipError(err, 'VIP_ERR_COMMAND_FAILED'), `the program's own failure, not a timeout: ${String(err)}`);
  assert.equal(err.exitCode, 2);
  assert.equal(err.stderr, "Error: Parent Qdisc doesn't exists.");
});

interface Call {
  file: string;
  args: readonly string[];
  options: RunOptions | undefined;
}

/** Records what reaches the runner; answers like iproute2 for one interface so the driver's logic runs. */
function recordingRunner(): CommandRunner & { calls: Call[]; addresses: Set<string> } {
  const calls: Call[] = [];
  const addresses = new Set<string>();
  return {
    where: 'recorder',
    calls,
    addresses,
    async run(file, args, options): Promise<CommandResult> {
      calls.push({ file, args, options });
      if (file === 'arping' || args[0] === 'netns') return { stdout: '', stderr: '' };
      const [a0, a1, a2] = args;
      if (a0 === '-j') {
        const addrInfo = [...addresses].map((cidr) => {
          const [local, prefix] = cidr.split('/');
          return { family: 'inet', local, prefixlen: Number(prefix) };
        });
        return { stdout: JSON.stringify([{ ifname: 'eth0', addr_info: addrInfo }]), stderr: '' };
      }
      if (a0 === 'addr' && a1 === 'add' && a2 !== undefined) {
        if (addresses.has(a2)) throw new VipError('VIP_ERR_COMMAND_FAILED', 'exists', { stderr: 'Error: ipv4: Address already assigned.', exitCode: 2 });
        addresses.add(a2);
        return { stdout: '', stderr: '' };
      }
      if (a0 === 'addr' && a1 === 'del' && a2 !== undefined) {
        if (!addresses.delete(a2)) throw new VipError('VIP_ERR_COMMAND_FAILED', 'absent', { stderr: 'RTNETLINK answers: Cannot assign requested address', exitCode: 2 });
        return { stdout: '', stderr: '' };
      }
      // No SYN gate here: tc's answers for a clsact with no filter at our preference.
      if (file === 'tc' && a0 === 'filter' && a1 === 'del') {
        throw new VipError('VIP_ERR_COMMAND_FAILED', 'no filter', { stderr: 'Error: Cannot find specified filter chain.', exitCode: 2 });
      }
      if (file === 'tc' && a0 === 'filter' && a1 === 'show') return { stdout: '', stderr: '' };
      throw new Error(`unexpected command ${file} ${args.join(' ')}`);
    },
  };
}

test('netnsRunner prefixes ip netns exec NS and keeps the options', async () => {
  const inner = recordingRunner();
  const ns = netnsRunner('bl-n1', inner);
  assert.equal(ns.where, 'netns bl-n1');
  const signal = new AbortController().signal;
  await ns.run('arping', ['-U', '-c', '3', '-I', 'eth0', '198.18.0.100'], { timeoutMs: 1234, signal });
  assert.deepEqual(inner.calls, [
    { file: 'ip', args: ['netns', 'exec', 'bl-n1', 'arping', '-U', '-c', '3', '-I', 'eth0', '198.18.0.100'], options: { timeoutMs: 1234, signal } },
  ]);
});

test('linux driver: acquire adds the address and announces -U then -A, repeated once; release deletes it', async () => {
  const runner = recordingRunner();
  const vip = new LinuxVipDriver({ address: '198.18.0.100/24', interface: 'eth0', runner, logger: silent, garp: { repeats: 1, delayMs: 50 } });
  await vip.acquire();
  await vip.whenAnnounced();
  const commands = runner.calls.map((c) => [c.file, ...c.args].join(' '));
  assert.deepEqual(commands, [
    'ip -j -4 addr show dev eth0',
    'tc filter del dev eth0 ingress pref 47633',
    'ip addr add 198.18.0.100/24 dev eth0',
    'arping -U -c 3 -I eth0 198.18.0.100',
    'arping -A -c 3 -I eth0 198.18.0.100',
    'arping -U -c 3 -I eth0 198.18.0.100',
    'arping -A -c 3 -I eth0 198.18.0.100',
  ]);
  assert.ok(runner.calls.every((c) => typeof c.options?.timeoutMs === 'number'), 'every command is bounded');
  assert.equal(await vip.held(), true);

  runner.calls.length = 0;
  await vip.acquire();
  assert.deepEqual(
    runner.calls.map((c) => c.args.join(' ')),
    ['-j -4 addr show dev eth0', 'filter del dev eth0 ingress pref 47633'],
    'a second acquire neither re-adds nor re-announces (it does make sure no SYN gate is left)',
  );

  runner.calls.length = 0;
  await vip.release();
  await vip.release();
  assert.equal(await vip.quiesced(), false);
  assert.deepEqual(
    runner.calls.map((c) => c.args.join(' ')),
    [
      'addr del 198.18.0.100/24 dev eth0',
      'filter del dev eth0 ingress pref 47633',
      // Not there with the configured prefix: look for it with another.
      'addr del 198.18.0.100/24 dev eth0',
      '-j -4 addr show dev eth0',
      'filter del dev eth0 ingress pref 47633',
      'filter show dev eth0 ingress',
    ],
  );
  assert.equal(await vip.held(), false);
});

test('linux driver: release during the announcement delay cancels the repeat', async () => {
  const runner = recordingRunner();
  const vip = new LinuxVipDriver({ address: '198.18.0.100/24', interface: 'eth0', runner, logger: silent, garp: { repeats: 3, delayMs: 400 } });
  await vip.acquire();
  // Let the first round run (it is two immediate calls here), then release inside the delay.
  for (let i = 0; i < 50 && runner.calls.filter((c) => c.file === 'arping').length < 2; i++) await sleep(10);
  await vip.release();
  await vip.whenAnnounced();
  await sleep(600);
  assert.equal(runner.calls.filter((c) => c.file === 'arping').length, 2);
});

test('linux driver: an address that is already there (added by someone else) is adopted, not an error', async () => {
  const runner = recordingRunner();
  runner.addresses.add('198.18.0.100/16');
  const vip = new LinuxVipDriver({ address: '198.18.0.100/24', interface: 'eth0', runner, logger: silent, garp: { repeats: 0 } });
  await vip.acquire();
  await vip.whenAnnounced();
  assert.ok(!runner.calls.some((c) => c.args[1] === 'add'));
  assert.equal(runner.calls.filter((c) => c.file === 'arping').length, 2, 'a fresh driver still announces what it holds');
  await vip.release();
  assert.ok(runner.calls.some((c) => c.args.join(' ') === 'addr del 198.18.0.100/16 dev eth0'), 'deletes with the prefix it found');
});

test('findPrefix reads ip -j addr output', () => {
  const out = JSON.stringify([
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '198.18.0.11', prefixlen: 24 }, { family: 'inet', local: '198.18.0.100', prefixlen: 24 }] },
  ]);
  assert.equal(findPrefix(out, '198.18.0.100'), 24);
  assert.equal(findPrefix(out, '198.18.0.10'), null);
  assert.equal(findPrefix('', '198.18.0.100'), null);
  assert.equal(findPrefix('[{}]', '198.18.0.100'), null);
});
