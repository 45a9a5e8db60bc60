/** The piggyback ring (piggyback.ts): a run added at once (`addRun`, machine.ts `mergeBatch`)
 *  leaves the ring as its changes added one by one would — shorter and longer runs than the
 *  ring, from an empty, a partly filled and a wrapped ring, with takes between them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PiggybackRing } from '../../../src/proto/members/piggyback.js';
import { Sfc32 } from '../../../src/proto/rng.js';

test('piggyback ring: addRun equals add of each change in order', () => {
  const rng = new Sfc32(5);
  const one = new PiggybackRing<number>();
  const runs = new PiggybackRing<number>();
  let long = 0;
  for (let step = 0; step < 5000; step++) {
    const k = rng.int(4) === 0 ? rng.int(300) : rng.int(20);
    if (k > 64) long++;
    const ids = Array.from({ length: k }, () => rng.int(1000));
    const states = ids.map(() => rng.int(8));
    for (let i = 0; i < k; i++) one.add(ids[i], states[i]);
    runs.addRun(ids, states, k);
    // Takes of varying sizes and limits drop entries (the ring then refills by `push`).
    const per = rng.int(12);
    const limit = 1 + rng.int(4);
    assert.deepEqual(runs.take(per, limit), one.take(per, limit), `step ${step}: the same changes ride next`);
    assert.equal(runs.empty(), one.empty());
  }
  assert.ok(long > 500, `only ${long} runs longer than the ring`);
});
