// MapStore's observer rings (map-store.ts `buildRings`): each ring orders every present member
// by `ringPosition(key, k)`, ties by the member's string form, rebuilt after adds and removes.
// Checked against a direct reading of that definition over seeded random adds and removes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapStore, hashString, ringPosition } from '../../../src/proto/members/map-store.js';
import { Sfc32 } from '../../../src/proto/rng.js';

/** The ring k as the definition states it: present members sorted by position, then name. */
function reference(members: string[], key: (m: string) => number, k: number): string[] {
  return [...members].sort((a, b) => ringPosition(key(a), k) - ringPosition(key(b), k) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The ring k read through `ringStep`: from `first`, step +1 until back at it. */
function walk(s: MapStore<string>, k: number, first: string): string[] {
  const out = [first];
  for (let i = 1; i < s.size(); i++) out.push(s.ringStep(k, first, i)!);
  return out;
}

test('rings: every ring is the members sorted by position, ties by name, after seeded adds and removes', () => {
  const K = 4;
  // A key hash with collisions (16 values) so that ties are common and the name decides.
  for (const key of [hashString, (m: string) => hashString(m) & 15]) {
    const rng = new Sfc32(7);
    const s = new MapStore<string>(key, K);
    const present = new Set<string>();
    for (let step = 0; step < 400; step++) {
      const m = `10.0.${rng.int(4)}.${rng.int(60)}:7946`;
      if (present.has(m) && rng.int(3) === 0) {
        s.set(m, -1, step);
        present.delete(m);
      } else {
        s.set(m, 1 + rng.int(5), step);
        present.add(m);
      }
      if (step % 9 !== 0 || present.size < 2) continue;
      const members = [...present];
      for (let k = 0; k < K; k++) {
        const want = reference(members, key, k);
        assert.deepEqual(walk(s, k, want[0]), want, `step ${step}, ring ${k}`);
        // Steps backwards and past the ring's length wrap around.
        assert.equal(s.ringStep(k, want[0], -1), want[want.length - 1]);
        assert.equal(s.ringStep(k, want[1], want.length + 1), undefined);
      }
    }
  }
});

test('rings: a member not in the table, or a ring shorter than the step, gives undefined', () => {
  const s = new MapStore<string>(hashString, 2);
  s.set('a', 1, 0);
  s.set('b', 1, 0);
  assert.equal(s.ringStep(0, 'zz', 1), undefined);
  assert.equal(s.ringStep(1, 'a', 2), undefined);
  assert.notEqual(s.ringStep(1, 'a', 1), undefined);
  s.set('b', 2, 1); // a status change keeps the rings
  assert.equal(s.ringStep(1, 'a', 1), 'b');
});
