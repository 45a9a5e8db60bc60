// A flush's bookkeeping is a module-wide scratch pair (plumtree-lazy.ts): flushes in a row, of
// one announcement or of batches, send exactly what was queued; a flush started from inside
// another's send (a driver whose send flushes another machine) gets arrays of its own and
// both send the right IHAVEs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flushIHaves } from '../../src/proto/plumtree-lazy.js';
import type { BroadcastMessage, IHaveEntry } from '../../src/proto/types.js';

type Sent = [number, string[]][];

function recorder(sent: Sent, onSend?: (to: number) => void) {
  return {
    send: (to: number, msg: BroadcastMessage) => {
      if (msg.type !== 'ihave') throw new Error(`unexpected ${msg.type}`);
      sent.push([to, msg.entries.map((e) => `${e.id}@${e.round}`)]);
      onSend?.(to);
    },
  };
}

const entry = (id: string, round: number): IHaveEntry => ({ id, round });

test('flushes in a row: single announcements and batches, peers gone skipped, nothing carried over', () => {
  const e1 = entry('x', 1);
  const e2 = entry('y', 2);
  const sent: Sent = [];
  // One id to three lazy peers (one of them no longer a link): the shared one-entry IHAVE.
  flushIHaves<number>([5, e1, 6, e1, 7, e1], 6, 10, [5, 7], 1, recorder(sent));
  assert.deepEqual(sent, [[5, ['x@1']], [7, ['x@1']]]);
  // Two ids, batches of at most 1: every entry its own IHAVE, in queue order.
  sent.length = 0;
  flushIHaves<number>([8, e1, 9, e1, 8, e2], 6, 1, [8, 9], 1, recorder(sent));
  assert.deepEqual(sent, [[8, ['x@1']], [9, ['x@1']], [8, ['y@2']]]);
  // Then a smaller flush: the earlier peers (8, 9) are not in the scratch any more.
  sent.length = 0;
  flushIHaves<number>([3, e2], 2, 10, [3, 8, 9], 1, recorder(sent));
  assert.deepEqual(sent, [[3, ['y@2']]]);
  // Nothing left for a link: no send.
  sent.length = 0;
  flushIHaves<number>([4, e2], 2, 10, [3], 1, recorder(sent));
  assert.deepEqual(sent, []);
  // Links as `[peer, upAt]` pairs (Plumtree's, stride 2): an age equal to a queued peer's id
  // does not make that peer a link.
  sent.length = 0;
  flushIHaves<number>([4, e2, 3, e2, 12, e2], 6, 10, [3, 4, 12, 0.5], 2, recorder(sent));
  assert.deepEqual(sent, [[3, ['y@2']], [12, ['y@2']]]);
});

test('a flush from inside another flush\'s send gets arrays of its own; both send what they queued', () => {
  const a = entry('a', 0);
  const b = entry('b', 4);
  const c = entry('c', 5);
  const outer: Sent = [];
  const inner: Sent = [];
  let nested = false;
  flushIHaves<number>([1, a, 2, a, 3, a], 6, 10, [1, 2, 3], 1, recorder(outer, () => {
    if (nested) return;
    nested = true;
    flushIHaves<number>([2, b, 9, c, 2, c], 6, 10, [2, 9], 1, recorder(inner));
  }));
  assert.deepEqual(outer, [[1, ['a@0']], [2, ['a@0']], [3, ['a@0']]]);
  assert.deepEqual(inner, [[2, ['b@4', 'c@5']], [9, ['c@5']]]);
  // And the scratch pair is free again afterwards.
  const after: Sent = [];
  flushIHaves<number>([6, a, 7, a], 4, 10, [6, 7], 1, recorder(after));
  assert.deepEqual(after, [[6, ['a@0']], [7, ['a@0']]]);
});
