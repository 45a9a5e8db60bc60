// CRC-32C (src/wire/crc.ts): the JS slicing-by-8 path, the byte-wise `crcAppend` and the native
// `@node-rs/crc32` agree on every length and offset, and chaining holds; the native module is
// loaded only once `JS_LONG_BUDGET` bytes of regions longer than `JS_CRC_MAX` were checksummed
// in JS (an agent that only joins never pays its load, docs/results.md "Start-up and join of a
// fleet (h22s)" and "The join's CPU: one table per joiner").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JS_CRC_MAX, JS_LONG_BUDGET, crcAppend, crcRange, crcView, nativeCrcLoaded } from '../../src/wire/crc.js';
import { encodeFrame, decodeFrame } from '../../src/wire/index.js';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('short frames are checksummed without loading the native module', () => {
  // Runs first in this process: nothing above has asked for a long region.
  const f = encodeFrame({ type: 'ping', seq: 3 });
  assert.ok(f.ok);
  const r = decodeFrame(f.frame.slice());
  assert.ok(r.ok && r.msg.type === 'ping');
  assert.equal(crcView(bytes(JS_CRC_MAX, 7)), crcAppend(0, bytes(JS_CRC_MAX, 7), 0, JS_CRC_MAX));
  assert.equal(nativeCrcLoaded(), false, 'a region of at most JS_CRC_MAX bytes loaded the native CRC');
  // Long regions: in JS (the same answer as the byte-wise loop) until the budget is spent.
  const long = bytes(16 * 1024, 9);
  const want = crcAppend(0, long, 0, long.length);
  let spent = 0;
  while (spent + long.length <= JS_LONG_BUDGET) {
    assert.equal(crcView(long), want, `the JS CRC of a long region is wrong after ${spent} bytes`);
    assert.equal(crcRange(0, long, 0, long.length), want);
    spent += 2 * long.length;
  }
  assert.equal(nativeCrcLoaded(), false, `the native CRC was loaded after ${spent} bytes of long regions, within the budget of ${JS_LONG_BUDGET}`);
  for (let i = 0; i < 3; i++) assert.equal(crcView(long), want);
  assert.equal(nativeCrcLoaded(), true, 'the native CRC was not loaded once the budget of long regions was spent');
});

test('JS, byte-wise and native CRC-32C agree on every length, offset and chaining', async () => {
  const { crc32c } = await import('@node-rs/crc32');
  // Known answer (RFC 3720, B.4): CRC-32C of 32 zero bytes.
  assert.equal(crcRange(0, new Uint8Array(32), 0, 32), 0x8a9136aa);
  const data = bytes(4096 + 64, 12345);
  for (let n = 0; n <= 2 * JS_CRC_MAX + 9; n += n < 40 ? 1 : 13) {
    for (const from of [0, 1, 3, 7, 64]) {
      const view = data.subarray(from, from + n);
      const want = crc32c(view);
      assert.equal(crcRange(0, data, from, from + n), want, `crcRange n=${n} from=${from}`);
      assert.equal(crcAppend(0, data, from, from + n), want, `crcAppend n=${n} from=${from}`);
      assert.equal(crcView(view), want, `crcView n=${n} from=${from}`);
      const cut = n >> 1;
      assert.equal(crcRange(crcRange(0, data, from, from + cut), data, from + cut, from + n), want, `chained n=${n}`);
      assert.equal(crcView(view.subarray(cut), crcView(view.subarray(0, cut))), want, `crcView chained n=${n}`);
    }
  }
  assert.equal(crcView(data), crc32c(data));
});
