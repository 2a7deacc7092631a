// CRC-32C against published check values (RFC 3720 appendix B.4) and split-input continuation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../cluster/storage/crc32c.js';

test('crc32c matches the standard check values', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(crc32c(ascending), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c continues across slices and ranges at every split point', () => {
  const data = Uint8Array.from({ length: 103 }, (_, i) => (i * 37 + 11) & 0xff);
  const whole = crc32c(data);
  for (let split = 0; split <= data.length; split++) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, split), split), whole, `split at ${split}`);
    assert.equal(crc32c(data.subarray(split), crc32c(data.subarray(0, split))), whole);
  }
  const flipped = new Uint8Array(data);
  flipped[50] = (flipped[50] as number) ^ 1;
  assert.notEqual(crc32c(flipped), whole);
});
