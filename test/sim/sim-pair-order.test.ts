/**
 * The turn order of the paired simulator benchmark (bench/sim-pair.ts `baseFirst`): balanced,
 * and not in step with the scenario's periods. Plain alternation put the base first in every
 * turn after a broadcast (one broadcast per 1 s = 2 turns of 500 ms) and two identical builds
 * measured broadcasts 1.261 (docs/results.md, h28s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseFirst } from '../../bench/sim-pair.js';

test('sim-pair: the base goes first in half the turns of every aligned block and power-of-two residue class', () => {
  // The bench scenario at the default 500 ms turns: 102 turns, one broadcast every 2 turns.
  // (Other periods, such as the 20 turns of the shuffle, are not balanced within one order:
  // multiples of 5 have 36 of 52 turns base first; the mirrored second half evens those.)
  for (const period of [2, 4, 8, 16]) {
    for (let r = 0; r < period; r++) {
      let first = 0;
      let all = 0;
      for (let k = r; k < 1024; k += period) {
        all++;
        if (baseFirst(k)) first++;
      }
      assert.ok(Math.abs(first / all - 0.5) <= 0.1, `period ${period}, residue ${r}: base first in ${first} of ${all} turns`);
    }
  }
  for (let block = 0; block < 1024; block += 16) {
    let first = 0;
    for (let k = block; k < block + 16; k++) if (baseFirst(k)) first++;
    assert.equal(first, 8, `turns ${block}..${block + 15}: base first in ${first} of 16`);
  }
});

test('sim-pair: the order is fixed (the same turns every run) and not a plain alternation', () => {
  const seq = Array.from({ length: 8 }, (_, k) => (baseFirst(k) ? 'b' : 't')).join('');
  assert.equal(seq, 'bttbtbbt');
});
