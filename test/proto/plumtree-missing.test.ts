// Plumtree's missing set (plumtree-missing.ts) — none, one entry, or a Map from the second —
// answers as one Map would: the same entries, sizes and insertion order, over random adds and
// removals (the order is what `neighborDown` walks).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingList, missingOf, missingSize, withMissing, withoutMissing, type Missing, type MissingSet } from '../../src/proto/plumtree-missing.js';
import { Sfc32 } from '../../src/proto/rng.js';

const entry = (id: string): Missing<number> => ({ id, ann: [1, 0], next: 0, deadline: 0 });

test('one entry is held as itself, two or more in a Map, none as null', () => {
  let s: MissingSet<number> = null;
  const a = entry('a');
  s = withMissing(s, a);
  assert.equal(s, a);
  assert.deepEqual([missingOf(s, 'a'), missingOf(s, 'b'), missingSize(s)], [a, undefined, 1]);
  const b = entry('b');
  s = withMissing(s, b);
  assert.ok(s instanceof Map);
  assert.deepEqual(missingList(s).map((m) => m.id), ['a', 'b']);
  s = withoutMissing(s, 'a');
  assert.deepEqual([missingSize(s), missingOf(s, 'b')], [1, b]);
  s = withoutMissing(s, 'b');
  assert.equal(s, null);
  assert.equal(withoutMissing(withMissing(null, a), 'zz'), a, 'removing an id not held changes nothing');
  assert.deepEqual(missingList(null), []);
});

test('in step with a Map over 5,000 random adds, removals and lookups', () => {
  const rng = new Sfc32(7);
  const ref = new Map<string, Missing<number>>();
  let s: MissingSet<number> = null;
  for (let step = 0; step < 5000; step++) {
    const id = `m${rng.int(6)}`;
    const op = rng.int(3);
    let fromEmpty = false;
    if (op === 0 && !ref.has(id)) {
      fromEmpty = ref.size === 0;
      const m = entry(id);
      ref.set(id, m);
      s = withMissing(s, m);
    } else if (op === 1) {
      ref.delete(id);
      s = withoutMissing(s, id);
    }
    assert.equal(missingOf(s, id), ref.get(id));
    assert.equal(missingSize(s), ref.size);
    assert.deepEqual(missingList(s), [...ref.values()]);
    if (ref.size === 0) assert.equal(s, null);
    if (fromEmpty) assert.equal(s, ref.get(id), 'a single entry from empty is held as itself');
  }
});
