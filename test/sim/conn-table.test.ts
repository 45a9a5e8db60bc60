/**
 * The simulator's connection table (src/sim/conn-table.ts) against a model: one plain array
 * per node with the same operations (append, swap-remove, clear). Random operations on a few
 * nodes, enough for lists to outgrow their block and for the array itself to grow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnTable, ENTRY } from '../../src/sim/conn-table.js';
import { Sfc32 } from '../../src/proto/rng.js';

const SEED = Number(process.env.SEED ?? 1);

function listOf(t: ConnTable, x: number): number[] {
  const out: number[] = [];
  const b = t.base(x);
  for (let k = 0; k < t.count(x); k++) {
    const i = b + ENTRY * k;
    out.push(t.peerAt(i), t.flags(i), t.a[i + 1]);
  }
  return out;
}

test('matches per-node arrays under random push, remove, update and clear, through overflow', () => {
  const rng = new Sfc32(SEED);
  const n = 6;
  const t = new ConnTable(n);
  const model: number[][] = Array.from({ length: n }, () => []);
  let grown = 0;
  const len0 = t.a.length;
  for (let step = 0; step < 20_000; step++) {
    const x = rng.int(n);
    const m = model[x];
    const op = rng.int(10);
    if (op < 6) {
      // Push a peer not yet in the list (lists grow up to ~60 entries: past the block).
      // Peers up to the largest id a table of 50,000,000 nodes holds (the key's top bits).
      const peer = rng.int(4) === 0 ? 49_999_999 - rng.int(1000) : rng.int(1000);
      const inModel = m.some((v, i) => i % 3 === 0 && v === peer);
      assert.equal(t.find(x, peer) >= 0, inModel, `node ${x}: model and table disagree on peer ${peer}`);
      if (inModel) continue;
      t.push(x, peer, op & 7, step + 0.5);
      m.push(peer, op & 7, step + 0.5);
    } else if (op < 8 && m.length > 0) {
      const k = 3 * rng.int(m.length / 3);
      const i = t.find(x, m[k]);
      assert.ok(i >= 0, `entry for ${m[k]} not found`);
      t.remove(x, i);
      const last = m.length - 3;
      if (k !== last) m.splice(k, 3, m[last], m[last + 1], m[last + 2]);
      m.length = last;
    } else if (op === 8 && m.length > 0) {
      const i = t.find(x, m[0]);
      if (rng.int(2) === 0) {
        t.a[i + 1] = step;
        m[2] = step;
      } else {
        // Flags change in place; the peer stays (a key is peer · 8 + flags).
        const f = rng.int(8);
        t.setFlags(i, f);
        m[1] = f;
      }
    } else if (op === 9 && rng.int(20) === 0) {
      t.clear(x);
      m.length = 0;
    }
    if (t.a.length !== len0) grown++;
    assert.deepEqual(listOf(t, x), m, `node ${x} after step ${step}`);
  }
  for (let x = 0; x < n; x++) assert.deepEqual(listOf(t, x), model[x], `node ${x} at the end`);
  assert.ok(grown > 0, 'expected the array to grow (overflow areas past the spare room)');
  assert.equal(t.find(0, -5), -1);
});

test('a node count whose keys (peer · 8 + flags) would pass 31 bits is refused', () => {
  assert.throws(() => new ConnTable(2 ** 28), /do not fit a 31-bit key/);
});
