// The noop VIP driver, the driver factory and the VIP address/interface checks that need no privileges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createVipDriver } from '../../cluster/vip/driver.js';
import { isVipError } from '../../cluster/vip/errors.js';
import { assertInterfaceExists, systemInterfaces } from '../../cluster/vip/interfaces.js';
import { LinuxVipDriver } from '../../cluster/vip/linux-driver.js';
import { NoopVipDriver } from '../../cluster/vip/noop-driver.js';
import { parseVipAddress } from '../../cluster/vip/vip-address.js';

function capturingLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (chunk: string) => void raw.push(chunk) });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test('noop driver: holds in memory, idempotent both ways, logs each transition once', async () => {
  const { logger, lines } = capturingLogger();
  const vip = new NoopVipDriver({ address: '198.18.0.100/24', interface: 'eth0', logger });
  await vip.check();
  assert.equal(vip.address, '198.18.0.100/24');
  assert.equal(await vip.held(), false);
  await vip.acquire();
  await vip.acquire();
  assert.equal(await vip.held(), true);
  await vip.release();
  await vip.release();
  assert.equal(await vip.held(), false);
  const messages = lines().map((l) => l['msg']);
  assert.deepEqual(messages, ['VIP acquired (noop driver: no address was added)', 'VIP released (noop driver)']);
  assert.equal(lines()[0]?.['vip'], '198.18.0.100/24');
});

test('factory picks the driver the config names', () => {
  const logger = pino({ level: 'silent' });
  const noop = createVipDriver({ address: '198.18.0.100/24', interface: 'eth0', driver: 'noop' }, { logger });
  const linux = createVipDriver({ address: '198.18.0.100/24', interface: 'eth0', driver: 'linux' }, { logger });
  assert.ok(noop instanceof NoopVipDriver);
  assert.ok(linux instanceof LinuxVipDriver);
});

test('VIP addresses: IPv4 with a prefix length, anything else is VIP_ERR_BAD_ADDRESS', () => {
  assert.deepEqual(parseVipAddress('198.18.0.100/24'), { ip: '198.18.0.100', prefix: 24, cidr: '198.18.0.100/24' });
  assert.deepEqual(parseVipAddress('198.18.0.100/32').prefix, 32);
  for (const bad of ['198.18.0.100', '198.18.0.300/24', '198.18.0.100/33', '198.18.0.100/0', 'fd00::1/64', '198.18.0.100/2x', '']) {
    assert.throws(() => parseVipAddress(bad), (err: unknown) => isVipError(err, 'VIP_ERR_BAD_ADDRESS'), bad);
  }
  assert.throws(
    () => new NoopVipDriver({ address: 'nope', interface: 'eth0', logger: pino({ level: 'silent' }) }),
    /VIP_ERR_BAD_ADDRESS: "nope" is not an IPv4 address/,
  );
});

test('systeminformation lists this host\'s interfaces, including lo', async () => {
  const names = await systemInterfaces();
  assert.ok(names.includes('lo'), `got ${names.join(', ')}`);
  await assertInterfaceExists('lo', systemInterfaces, 'host');
});

test('check() on a missing interface names it and lists the ones that exist', async () => {
  const vip = new LinuxVipDriver({ address: '198.18.0.100/24', interface: 'blnosuch9', logger: pino({ level: 'silent' }) });
  const names = await systemInterfaces();
  await assert.rejects(vip.check(), (err: unknown) => {
    assert.ok(isVipError(err, 'VIP_ERR_NO_INTERFACE'));
    assert.equal(err.message, `VIP_ERR_NO_INTERFACE: interface "blnosuch9" does not exist on this host; interfaces: ${names.join(', ')}`);
    return true;
  });
});
