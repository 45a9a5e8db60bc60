// The agent's ring relays (src/agent/members.ts MEMBERS_RING_RELAY_ALL): during a fleet's join,
// the joins an overlay neighbour's batch brought go on over the overlay only, not to the ring
// subjects that are not neighbours; what the overlay did not bring (a join heard on a ping)
// still goes over the ring link of its share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEMBERS_RING_RELAY_ALL } from '../../src/agent/members.js';
import { ALIVE, pack } from '../../src/proto/members/types.js';
import { addr, machine } from '../proto/members/harness.js';

const A = Array.from({ length: 30 }, (_, i) => addr(i + 1));

test('agent membership: joins flooded over the overlay are not copied to ring subjects; a join heard on a ping is', () => {
  // The table lists A[0..19]; A[20..29] join. Two overlay neighbours, K = 4 rings; a join
  // heard without its meta is flooded once the meta has come, as in the agent.
  const h = machine(A[0], A.slice(0, 20), { rings: 4, ringRelayAll: MEMBERS_RING_RELAY_ALL, floodWithoutMeta: false, piggybackPerMessage: 4 });
  const [n1, n2] = [A[1], A[2]];
  h.m.start(0);
  h.m.neighborUp(n1, 0);
  h.m.neighborUp(n2, 0);
  h.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  h.io.take();
  h.io.timers = [];
  const byRing = h.m.detector.subjectsByRing();
  const ringOnly = byRing.filter((p): p is string => p !== undefined && p !== n1 && p !== n2);
  assert.ok(ringOnly.length > 0, 'some ring subject is not an overlay neighbour');
  const flooded = A.slice(20, 27);
  const pinged = A.slice(27, 30);
  const meta = (m: string) => ({ name: `node-${m}`, tags: { role: 'worker' } });
  h.m.handleMessage(n1, { type: 'm-changes', ids: flooded, states: flooded.map(() => pack(1, ALIVE)), metas: flooded.map(meta), sync: false }, 10);
  h.m.handleMessage(A[19], { type: 'm-ping', seq: 1, ids: pinged, states: pinged.map(() => pack(1, ALIVE)) }, 11);
  for (const t of h.io.takeTimers('m-flush')) h.m.handleTimer(t.t, 120);
  const out = h.io.take().filter((s) => s.msg.type === 'm-changes');
  const to = (p: string): string[] => out.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : []));
  assert.deepEqual(new Set(to(n2)), new Set(flooded), 'the other overlay neighbour gets the flooded joins (the pinged ones wait for their metas)');
  assert.deepEqual(to(n1), [], 'nothing back to the sender');
  for (const p of ringOnly) {
    assert.deepEqual(to(p).filter((x) => flooded.includes(x)), [], `ring subject ${p}: none of the overlay's joins`);
  }
  // The pinged joins come with their metas (the answers to the machine's m-meta-req) and are
  // then flooded: to the overlay, and to each ring subject its share, since no overlay batch
  // brought them.
  for (const p of pinged) h.m.handleMessage(p, { type: 'm-changes', ids: [p], states: [pack(1, ALIVE)], metas: [meta(p)], sync: false }, 130);
  for (const t of h.io.takeTimers('m-flush')) h.m.handleTimer(t.t, 240);
  const out2 = h.io.take().filter((s) => s.msg.type === 'm-changes');
  const ringGot = ringOnly.flatMap((p) => out2.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : [])));
  assert.ok(ringGot.length > 0 && ringGot.every((x) => pinged.includes(x)), `the ring links carry the joins the overlay did not bring (got ${ringGot.join(', ')})`);
});
