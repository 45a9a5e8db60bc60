import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { aggregateMsgSize, decodeAggregate, encodeAggregate, MAX_AGGREGATE_MSG_BYTES } from '../../src/wire/aggregate.js';
import { directFrameBytes, type AggMsg } from '../../src/proto/aggregate/types.js';
import { encodedSize } from '../../src/wire/frame.js';

const SEED = Number(process.env.SEED ?? 1);

test('aggregate codec: every message type round-trips, with the size the simulator counts', () => {
  const msgs: AggMsg<string>[] = [
    { type: 'push', kind: 'avg', epoch: 3, tag: 0xfffffff0, s: 12.5, w: 0.25, hint: '127.0.0.1:7946' },
    { type: 'push', kind: 'count', epoch: 0, tag: 0, s: -1e-300, w: 0, hint: null },
    { type: 'flow', kind: 'avg', fv: -3.5, fw: 0.5, ev: 1e10, ew: 2 },
    { type: 'extreme', kind: 'max', epoch: 9, tag: 1, value: -7, hint: 'node-ü:1' },
  ];
  for (const m of msgs) {
    const e = encodeAggregate(m);
    assert.ok(e.ok);
    const idBytes = m.type !== 'flow' && m.hint !== null ? new TextEncoder().encode(m.hint).length : 0;
    assert.equal(e.value.length, aggregateMsgSize(m, idBytes));
    assert.deepEqual(decodeAggregate(e.value), { ok: true, value: m });
    const channel = '_app.agg.load';
    assert.equal(encodedSize({ type: 'direct', channel, data: e.value }), directFrameBytes(e.value.length, channel.length));
  }
  const f = encodeAggregate({ type: 'flow', kind: 'avg', fv: 1, fw: 2, ev: 3, ew: 4 });
  assert.ok(f.ok);
  assert.deepEqual([...f.value.subarray(0, 3)], [1, 2, 0]);
});

test('aggregate codec: bad input is refused with a reason, never thrown', () => {
  assert.deepEqual(encodeAggregate({ type: 'push', kind: 'avg', epoch: 0, tag: 0, s: Number.NaN, w: 1, hint: null }), { ok: false, reason: 'aggregate codec: non-finite value' });
  assert.equal(encodeAggregate({ type: 'push', kind: 'avg', epoch: -1, tag: 0, s: 1, w: 1, hint: null }).ok, false);
  assert.equal(encodeAggregate({ type: 'extreme', kind: 'min', epoch: 0, tag: 0, value: 1, hint: 'x'.repeat(65) }).ok, false);
  const good = encodeAggregate({ type: 'extreme', kind: 'min', epoch: 0, tag: 0, value: 1, hint: 'ab' });
  assert.ok(good.ok);
  const bad = (mut: (b: Uint8Array) => Uint8Array): string => {
    const r = decodeAggregate(mut(Uint8Array.from(good.value)));
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };
  assert.match(bad((b) => ((b[0] = 2), b)), /unsupported version 2/);
  assert.match(bad((b) => ((b[1] = 9), b)), /unknown type code 9/);
  assert.match(bad((b) => ((b[2] = 5), b)), /unknown kind code 5/);
  assert.match(bad((b) => b.subarray(0, b.length - 1)), /bad hint length/);
  assert.match(bad((b) => b.subarray(0, 2)), /truncated header/);
  assert.match(bad((b) => (new DataView(b.buffer).setFloat64(11, Infinity), b)), /non-finite/);
  assert.match(bad((b) => ((b[20] = 0xff), b)), /not UTF-8/);
});

test('aggregate codec: random bytes never throw and never exceed the bound', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
      const r = decodeAggregate(b);
      if (r.ok) {
        const e = encodeAggregate(r.value);
        assert.ok(e.ok && e.value.length <= MAX_AGGREGATE_MSG_BYTES);
      }
    }),
    { seed: SEED, numRuns: 2000 },
  );
});
