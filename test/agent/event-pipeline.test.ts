// The agent's event pipeline to handlers: the Lamport buffer (src/agent/user-event.ts) never
// lets a duplicate or stale user event through, and the coalescers (src/agent/coalesce.ts)
// follow Serf's semantics: latest per member / per event name, flushed after the coalesce
// period or a quiescent gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventBuffer } from '../../src/agent/user-event.js';
import { EventPipeline, MemberCoalescer, UserCoalescer } from '../../src/agent/coalesce.js';
import type { AgentEvent } from '../../src/agent/handlers.js';
import type { Member } from '../../src/agent/members.js';
import { waitFor } from '../support/wait.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('event buffer: same (ltime, name, payload) is a duplicate however late; older than the buffer is stale', () => {
  const b = new EventBuffer(8);
  assert.equal(b.admit('deploy', enc('v1'), 5), 'new');
  assert.equal(b.admit('deploy', enc('v1'), 5), 'duplicate');
  assert.equal(b.admit('deploy', enc('v2'), 5), 'new', 'another payload at the same time is another event');
  assert.equal(b.admit('other', enc('v1'), 5), 'new');
  assert.equal(b.admit('deploy', enc('v1'), 6), 'new');
  // Any number of other events later (a broadcast layer's duplicate window long past), within
  // the buffer's span the copy is still recognised.
  for (let t = 7; t <= 12; t++) assert.equal(b.admit('e', enc(String(t)), t), 'new');
  assert.equal(b.admit('deploy', enc('v1'), 5), 'duplicate');
  assert.equal(b.time, 12);
  // Beyond the span (clock 20 - 8 = 12 > 5): stale, never delivered again.
  assert.equal(b.admit('e', enc('x'), 20), 'new');
  assert.equal(b.admit('deploy', enc('v1'), 5), 'stale');
  assert.equal(b.admit('deploy', enc('new'), 11), 'stale', 'a genuinely new event that late is refused too (as Serf)');
  // A slot reused by a later time forgets the old time's events, but those are stale by then.
  assert.equal(b.admit('e', enc('y'), 13), 'new');
  assert.equal(b.admit('e', enc('y'), 13), 'duplicate');
});

const member = (addr: string, status: Member['status'] = 'alive'): Member => ({ name: addr, addr, status, incarnation: 1, tags: {}, updatedAt: 0 } as Member);

test('member coalescer: the latest event per member, one dispatch per type, after the quiescent gap', async () => {
  const out: AgentEvent[] = [];
  const c = new MemberCoalescer(5000, (e) => out.push(e));
  try {
    c.push({ type: 'member-join', members: [member('a')] });
    c.push({ type: 'member-join', members: [member('b')] });
    c.push({ type: 'member-failed', members: [member('a', 'failed')] });
    c.push({ type: 'member-join', members: [member('c')] });
    assert.equal(out.length, 0, 'held');
    await waitFor(() => out.length > 0, 5000, 'the flush after the 1 s quiescent period');
    const byType = Object.fromEntries(out.map((e) => [e.type, (e as { members: Member[] }).members.map((m) => m.addr).sort()]));
    assert.deepEqual(byType, { 'member-join': ['b', 'c'], 'member-failed': ['a'] });
    assert.equal(c.coalesced, 1);
    // Again the same type for a member already flushed with it: not dispatched again.
    out.length = 0;
    c.push({ type: 'member-join', members: [member('b')] });
    c.push({ type: 'member-update', members: [member('c')] });
    await waitFor(() => out.length > 0, 5000, 'the second flush');
    assert.deepEqual(out.map((e) => [e.type, (e as { members: Member[] }).members.map((m) => m.addr)]), [['member-update', ['c']]]);
  } finally {
    c.close();
  }
});

test('user coalescer: per name only the events of the highest Lamport time; names apart', async () => {
  const out: AgentEvent[] = [];
  const c = new UserCoalescer(300, (e) => out.push(e));
  const ev = (name: string, ltime: number, p: string): Extract<AgentEvent, { type: 'user' }> => ({ type: 'user', id: `${name}${ltime}${p}`, name, payload: enc(p), origin: 'o', ltime });
  try {
    c.push(ev('deploy', 3, 'a'));
    c.push(ev('deploy', 5, 'b'));
    c.push(ev('deploy', 4, 'late'));
    c.push(ev('restart', 1, 'r'));
    c.push(ev('deploy', 5, 'b2'));
    await waitFor(() => out.length > 0, 5000, 'the flush after the 300 ms period');
    assert.deepEqual(out.map((e) => (e as { id: string }).id).sort(), ['deploy5b', 'deploy5b2', 'restart1r']);
    assert.equal(c.coalesced, 2);
  } finally {
    c.close();
  }
});

test('event pipeline: off by default dispatches at once; admit drops duplicates and counts them', () => {
  const out: AgentEvent[] = [];
  const p = new EventPipeline({ memberCoalesceMs: 0, userCoalesceMs: 0, dispatch: (e) => out.push(e) });
  assert.equal(p.admit('x', enc('1'), 1), true);
  assert.equal(p.admit('x', enc('1'), 1), false);
  p.push({ type: 'member-join', members: [member('a')] });
  p.push({ type: 'user', id: 'i', name: 'x', payload: enc('1'), origin: 'o', ltime: 1 });
  assert.equal(out.length, 2);
  assert.deepEqual(p.stats(), { duplicate: 1, stale: 0, coalescedMember: 0, coalescedUser: 0 });
  p.close();
});
