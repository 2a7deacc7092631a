// Pieces of the SSH tooling that need no remote host: shell quoting through a real shell, host specs,
// and the drill's gap arithmetic.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { longestGap } from '../../scripts/failover-drill/client-loop.js';
import { commandLine } from '../../scripts/hosts/shell-quote.js';
import { keyFor, parseSshSpec, parseSshSpecs } from '../../scripts/hosts/ssh-target.js';

const run = promisify(execFile);

test('commandLine: a real shell splits it back into exactly the same words', async () => {
  const words = ['plain', '', 'two words', "it's", '$HOME', '`id`', 'a"b', 'back\\slash', '*', 'new\nline', '-n'];
  const { stdout } = await run('sh', ['-c', commandLine('printf', ['[%s]', ...words])]);
  assert.equal(stdout, words.map((w) => `[${w}]`).join(''));
});

test('parseSshSpec: name=user@host[:port], bracketed IPv6, defaults, and refusals', () => {
  assert.deepEqual(parseSshSpec('n1=root@10.0.0.11'), { name: 'n1', username: 'root', host: '10.0.0.11', port: 22 });
  assert.deepEqual(parseSshSpec('vagrant@127.0.0.1:2222'), { name: '127.0.0.1', username: 'vagrant', host: '127.0.0.1', port: 2222 });
  assert.deepEqual(parseSshSpec('n2=root@[::1]:2200'), { name: 'n2', username: 'root', host: '::1', port: 2200 });
  assert.equal(parseSshSpecs('n1=a@h1, n2=a@h2,').length, 2);
  assert.throws(() => parseSshSpec('n1=10.0.0.11'), /expected name=user@host/);
  assert.throws(() => parseSshSpec('n1=root@h:port'), /expected/);
});

test('longestGap: from the last success before the longest failure run to the first success after it', () => {
  const s = (t0: number, ok: boolean) => ({ t0, t1: t0 + 10, ok, error: ok ? null : 'ECONNREFUSED' });
  const samples = [s(0, true), s(100, false), s(200, true), s(300, true), s(400, false), s(500, false), s(600, false), s(700, true), s(800, true)];
  assert.deepEqual(longestGap(samples), { gapMs: 710 - 310, failed: 3, from: 310 });
  assert.deepEqual(longestGap([s(0, true), s(100, true)]), { gapMs: 0, failed: 0, from: null });
  // Failures with no recovery are not a gap that ended: nothing to measure.
  assert.equal(longestGap([s(0, true), s(100, false)]).gapMs, 0);
});

test('--key: one path for every host, or one per host by name; a host without one is named', () => {
  assert.equal(keyFor('/k/id_ed25519', 'n1'), '/k/id_ed25519');
  const keys = 'n1=.vagrant/machines/n1/libvirt/private_key, n2=/k/two';
  assert.equal(keyFor(keys, 'n1'), '.vagrant/machines/n1/libvirt/private_key');
  assert.equal(keyFor(keys, 'n2'), '/k/two');
  assert.throws(() => keyFor(keys, 'c1'), /--key names no key for host "c1"/);
});
