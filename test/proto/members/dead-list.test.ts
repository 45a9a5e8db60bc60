/** The detector's dead list (src/proto/members/dead-list.ts) against a plain array model: the
 *  same order, times and indices after seeded random pushes (the oldest dropped past the cap,
 *  as the detector does), removals anywhere and searches. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadList } from '../../../src/proto/members/dead-list.js';
import { Sfc32 } from '../../../src/proto/rng.js';

/** The model check, over members `key(0..19)`: small numbers, numbers that share the numeric
 *  presence filter's slots (multiples of 512: two slots for twenty members), and strings. */
function againstModel<P>(key: (i: number) => P): void {
  const cap = 8;
  const list = new DeadList<P>(cap);
  const ids: P[] = [];
  const at: number[] = [];
  const rng = new Sfc32(7);
  for (let step = 0; step < 5000; step++) {
    const m = key(rng.int(20));
    const op = rng.int(4);
    if (op < 2) {
      // What `changed` does for a failure: drop m if listed, append it, drop the oldest past the cap.
      const i = ids.indexOf(m);
      assert.equal(list.indexOf(m), i, `step ${step}: index of ${m}`);
      if (i >= 0) {
        ids.splice(i, 1);
        at.splice(i, 1);
        list.removeAt(i);
      }
      ids.push(m);
      at.push(step);
      list.push(m, step);
      if (ids.length > cap) {
        ids.splice(0, 1);
        at.splice(0, 1);
        list.removeAt(0);
      }
    } else if (op === 2 && ids.length > 0) {
      const i = rng.int(ids.length);
      ids.splice(i, 1);
      at.splice(i, 1);
      list.removeAt(i);
    } else {
      assert.equal(list.has(m), ids.includes(m), `step ${step}: has ${m}`);
    }
    assert.equal(list.length, ids.length, `step ${step}: length`);
    for (let i = 0; i < ids.length; i++) {
      assert.equal(list.member(i), ids[i], `step ${step}: member ${i}`);
      assert.equal(list.failedAt(i), at[i], `step ${step}: time ${i}`);
    }
  }
}

test('DeadList: behaves as an array of (member, time), oldest first, under random pushes, caps and removals', () => {
  againstModel((i) => i);
});

test('DeadList: the same with numeric members that collide in the presence filter, and with string members', () => {
  againstModel((i) => i * 512);
  againstModel((i) => `10.0.0.${i}:7946`);
});

test('DeadList: a push past one over the cap is a bug, refused', () => {
  const list = new DeadList<number>(2);
  list.push(1, 0);
  list.push(2, 0);
  list.push(3, 0);
  assert.throws(() => list.push(4, 0), /over capacity/);
});
