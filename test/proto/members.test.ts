import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MembersMachine,
  decodeMembersMessage,
  encodeMembersMessage,
  supersedes,
  tableHash,
  type MemberState,
  type MembersEvent,
  type MembersIo,
  type MembersMessage,
  type MembersTimer,
} from '../../src/proto/members.js';
import { Sfc32 } from '../../src/proto/rng.js';

class Rec implements MembersIo {
  log: unknown[] = [];
  sendTo(peer: string, msg: MembersMessage): void {
    this.log.push(['sendTo', peer, msg]);
  }
  probe(peer: string): void {
    this.log.push(['probe', peer]);
  }
  timer(delayMs: number, t: MembersTimer): void {
    this.log.push(['timer', delayMs, t]);
  }
  event(e: MembersEvent): void {
    this.log.push(['event', e.type, e.member.addr, e.member.status, e.member.incarnation]);
  }
  take(): unknown[] {
    const l = this.log;
    this.log = [];
    return l;
  }
}

const A = 'a:1';
const B = 'b:1';
const C = 'c:1';
const cfg = { syncIntervalMs: 1000, reapAfterMs: 5000 };

function st(addr: string, status: MemberState['status'], incarnation: number, tags: Record<string, string> = {}): MemberState {
  return { name: addr[0], addr, status, incarnation, tags };
}

function make(inc = 0): { m: MembersMachine; io: Rec } {
  const io = new Rec();
  const m = new MembersMachine({ name: 'a', addr: A, tags: { role: 'web' }, incarnation: inc }, cfg, new Sfc32(7), io);
  m.start(0);
  io.take();
  return { m, io };
}

test('start arms the sync timer; each new neighbour gets the push, which carries our own entry', () => {
  const io = new Rec();
  const m = new MembersMachine({ name: 'a', addr: A, tags: { role: 'web' }, incarnation: 3 }, cfg, new Sfc32(1), io);
  m.start(10);
  assert.deepEqual(io.take(), [['timer', 1000, { type: 'members-sync' }]], 'no neighbour yet: nobody to tell');
  assert.deepEqual(m.members(), [{ ...st(A, 'alive', 3, { role: 'web' }), updatedAt: 10 }]);
  const me = { ...st(A, 'alive', 3, { role: 'web' }), name: 'a' };
  const push = { type: 'members-push', members: [me] };
  m.handleNeighborUp(B, 11);
  assert.deepEqual(io.take(), [['sendTo', B, push]], 'first neighbour: the push alone (no separate delta)');
  m.handleNeighborUp(C, 12);
  assert.deepEqual(io.take(), [['sendTo', C, push]], 'second neighbour: push only');
  m.handleNeighborDown(B, 'disconnected', 13);
  m.handleNeighborDown(C, 'disconnected', 14);
  m.handleNeighborUp(B, 15);
  assert.deepEqual(io.take(), [['sendTo', B, push]], 'regaining a first neighbour after none: the push again');
});

test('the push to a first neighbour announces the newcomer to the whole cluster: the neighbour floods it on', () => {
  // B knows C; A (new) gets B as its first neighbour and pushes its table to B.
  const io = new Rec();
  const b = new MembersMachine({ name: 'b', addr: B, tags: {}, incarnation: 0 }, cfg, new Sfc32(2), io);
  b.start(0);
  b.handleNeighborUp(C, 1);
  b.handleMessage(C, { type: 'members-delta', members: [st(C, 'alive', 0)] }, 1);
  io.take();
  const a = { ...st(A, 'alive', 0, { role: 'web' }), name: 'a' };
  b.handleMessage(A, { type: 'members-push', members: [a] }, 2);
  const out = io.take();
  assert.deepEqual(out.filter((x) => (x as unknown[])[0] === 'sendTo' && (x as unknown[])[1] === C), [['sendTo', C, { type: 'members-delta', members: [a] }]], 'flooded on to C');
  assert.ok(out.some((x) => JSON.stringify(x) === JSON.stringify(['event', 'member-join', A, 'alive', 0])));
});

test('start with a neighbour already up announces at once; a node that left never announces', () => {
  const io = new Rec();
  const m = new MembersMachine({ name: 'a', addr: A, tags: {}, incarnation: 0 }, cfg, new Sfc32(1), io);
  m.handleNeighborUp(B, 1);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-push', members: [{ ...st(A, 'alive', 0), name: 'a' }] }]]);
  m.start(2);
  assert.deepEqual(io.take(), [
    ['sendTo', B, { type: 'members-delta', members: [{ ...st(A, 'alive', 0), name: 'a' }] }],
    ['timer', 1000, { type: 'members-sync' }],
  ]);
  m.leave(3);
  m.handleNeighborDown(B, 'disconnected', 4);
  io.take();
  m.handleNeighborUp(C, 5);
  assert.deepEqual(io.take(), [['sendTo', C, { type: 'members-push', members: [{ ...st(A, 'left', 0), name: 'a' }] }]]);
});

test('precedence: higher incarnation wins; equal incarnation left > failed > suspect > alive', () => {
  assert.equal(supersedes({ incarnation: 2, status: 'alive' }, { incarnation: 1, status: 'left' }), true);
  assert.equal(supersedes({ incarnation: 1, status: 'left' }, { incarnation: 1, status: 'failed' }), true);
  assert.equal(supersedes({ incarnation: 1, status: 'failed' }, { incarnation: 1, status: 'suspect' }), true);
  assert.equal(supersedes({ incarnation: 1, status: 'suspect' }, { incarnation: 1, status: 'alive' }), true);
  assert.equal(supersedes({ incarnation: 1, status: 'alive' }, { incarnation: 1, status: 'alive' }), false);
  assert.equal(supersedes({ incarnation: 1, status: 'left' }, { incarnation: 2, status: 'alive' }), false);
});

test('merge of deltas: join, stale ignored, update on tags, failed, rejoin, leave', () => {
  const { m, io } = make();
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 1)] }, 5);
  assert.deepEqual(io.take(), [['event', 'member-join', B, 'alive', 1]]);
  m.handleMessage(C, { type: 'members-delta', members: [st(B, 'alive', 0, { x: 'y' })] }, 6);
  assert.deepEqual(io.take(), []);
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 2, { x: 'y' })] }, 7);
  assert.deepEqual(io.take(), [['event', 'member-update', B, 'alive', 2]]);
  m.handleMessage(C, { type: 'members-delta', members: [st(B, 'suspect', 2, { x: 'y' })] }, 8);
  assert.deepEqual(io.take(), []);
  m.handleMessage(C, { type: 'members-delta', members: [st(B, 'failed', 2, { x: 'y' })] }, 9);
  assert.deepEqual(io.take(), [['event', 'member-failed', B, 'failed', 2]]);
  m.handleMessage(C, { type: 'members-delta', members: [st(B, 'alive', 2, { x: 'y' })] }, 10);
  assert.deepEqual(io.take(), [], 'alive at equal incarnation does not beat failed');
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 3, { x: 'y' })] }, 11);
  assert.deepEqual(io.take(), [['event', 'member-join', B, 'alive', 3]]);
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'left', 3, { x: 'y' })] }, 12);
  assert.deepEqual(io.take(), [['event', 'member-leave', B, 'left', 3]]);
  assert.deepEqual(m.get(B), { ...st(B, 'left', 3, { x: 'y' }), updatedAt: 12 });
});

test('a delta is forwarded to every neighbour but its sender, with only the entries that changed the table', () => {
  const { m, io } = withNeighbors(0, B, C, 'd:1');
  m.handleMessage(B, { type: 'members-delta', members: [st(C, 'alive', 2), st('e:1', 'alive', 0)] }, 1);
  io.take();
  // C's stale version and e's repeat change nothing; f is new; C failed supersedes.
  m.handleMessage(B, { type: 'members-delta', members: [st(C, 'alive', 1), st('e:1', 'alive', 0), st('f:1', 'alive', 0), st(C, 'failed', 2)] }, 2);
  const fwd = { type: 'members-delta', members: [st('f:1', 'alive', 0), st(C, 'failed', 2)] };
  assert.deepEqual(io.take(), [
    ['event', 'member-join', 'f:1', 'alive', 0],
    ['event', 'member-failed', C, 'failed', 2],
    ['sendTo', C, fwd],
    ['sendTo', 'd:1', fwd],
  ]);
  m.handleMessage('d:1', { type: 'members-delta', members: [st('f:1', 'alive', 0)] }, 3);
  assert.deepEqual(io.take(), [], 'the same news again: applied once, forwarded once');
  // News brought by anti-entropy travels on too (a pull from d, a push from C).
  m.handleMessage('d:1', { type: 'members-pull', members: [st('g:1', 'alive', 0), st('f:1', 'alive', 0)] }, 4);
  const g = { type: 'members-delta', members: [st('g:1', 'alive', 0)] };
  assert.deepEqual(io.take(), [['event', 'member-join', 'g:1', 'alive', 0], ['sendTo', B, g], ['sendTo', C, g]]);
  m.handleMessage(C, { type: 'members-push', members: [st('h:1', 'alive', 1)] }, 5);
  const h = { type: 'members-delta', members: [st('h:1', 'alive', 1)] };
  const taken = io.take();
  assert.deepEqual(taken.slice(0, 3), [['event', 'member-join', 'h:1', 'alive', 1], ['sendTo', B, h], ['sendTo', 'd:1', h]]);
  assert.equal((taken[3] as [string, string, MembersMessage])[2].type, 'members-pull', 'and the push is answered');
});

test('flood over a connected graph: every node learns a change, each forwards it once', () => {
  // Ring of 12 plus chords (degree 3-4), messages delivered in FIFO order.
  const n = 12;
  const addr = (i: number): string => `n${i}:1`;
  const edges = new Set<string>();
  for (let i = 0; i < n; i++) {
    edges.add(`${i}-${(i + 1) % n}`);
    if (i % 3 === 0) edges.add(`${i}-${(i + 5) % n}`);
  }
  const queue: [from: string, to: string, msg: MembersMessage][] = [];
  let sent = 0;
  const nodes = new Map<string, MembersMachine>();
  for (let i = 0; i < n; i++) {
    const io: MembersIo = {
      sendTo: (peer, msg) => {
        if (msg.type === 'members-delta') sent++;
        queue.push([addr(i), peer, msg]);
      },
      probe: () => {},
      timer: () => {},
      event: () => {},
    };
    const m = new MembersMachine({ name: `n${i}`, addr: addr(i), tags: {}, incarnation: 0 }, cfg, new Sfc32(i), io);
    m.start(0);
    nodes.set(addr(i), m);
  }
  const degree = new Map<string, number>();
  for (const e of edges) {
    const [x, y] = e.split('-').map((k) => addr(Number(k)));
    nodes.get(x)!.handleNeighborUp(y, 0);
    nodes.get(y)!.handleNeighborUp(x, 0);
    degree.set(x, (degree.get(x) ?? 0) + 1);
    degree.set(y, (degree.get(y) ?? 0) + 1);
  }
  const drain = (): void => {
    for (let k = 0; k < 10_000 && queue.length > 0; k++) {
      const [from, to, msg] = queue.shift()!;
      nodes.get(to)!.handleMessage(from, msg, 1);
    }
    assert.equal(queue.length, 0, 'the flood stops by itself');
  };
  drain();
  for (const m of nodes.values()) assert.equal(m.members().length, n, 'announcements (flooded from each first neighbour) reached everyone');
  sent = 0;
  nodes.get(addr(0))!.setTags({ role: 'db' }, 2);
  drain();
  for (const [a, m] of nodes) assert.deepEqual(m.get(addr(0))?.tags, { role: 'db' }, `${a} learned the change`);
  // The origin sends to all its neighbours; every other node forwards once to all but one.
  let expected = degree.get(addr(0))!;
  for (const [a, d] of degree) if (a !== addr(0)) expected += d - 1;
  assert.equal(sent, expected);
});

test('unknown members learned failed or left are not inserted', () => {
  const { m, io } = make();
  m.handleMessage(C, { type: 'members-delta', members: [st(B, 'failed', 4), st(C, 'left', 1)] }, 5);
  assert.deepEqual(io.take(), []);
  assert.equal(m.members().length, 1);
});

/** `make()` plus neighbours `peers` (their pushes discarded). */
function withNeighbors(inc: number, ...peers: string[]): { m: MembersMachine; io: Rec } {
  const r = make(inc);
  for (const p of peers) r.m.handleNeighborUp(p, 0);
  r.io.take();
  return r;
}

test('refutation: suspected or failed self re-announces alive with incarnation + 1, to every neighbour', () => {
  const { m, io } = withNeighbors(2, B, C);
  m.handleMessage(C, { type: 'members-delta', members: [st(A, 'suspect', 2)] }, 5);
  const me3 = { type: 'members-delta', members: [{ ...st(A, 'alive', 3, { role: 'web' }), name: 'a' }] };
  assert.deepEqual(io.take(), [['sendTo', B, me3], ['sendTo', C, me3]], 'the rumour\'s sender gets the refutation too');
  m.handleMessage(C, { type: 'members-delta', members: [st(A, 'failed', 1)] }, 6);
  assert.deepEqual(io.take(), [], 'an old rumour is ignored');
  m.handleMessage(C, { type: 'members-delta', members: [st(A, 'failed', 7)] }, 7);
  const me8 = { type: 'members-delta', members: [{ ...st(A, 'alive', 8, { role: 'web' }), name: 'a' }] };
  assert.deepEqual(io.take(), [['sendTo', B, me8], ['sendTo', C, me8]]);
  assert.equal(m.self().incarnation, 8);
  m.handleMessage(C, { type: 'members-delta', members: [st(A, 'alive', 8)] }, 8);
  assert.deepEqual(io.take(), []);
});

test('leave floods left once and stops refuting', () => {
  const { m, io } = withNeighbors(1, B);
  m.leave(5);
  m.leave(6);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-delta', members: [{ ...st(A, 'left', 1, { role: 'web' }), name: 'a' }] }]]);
  m.handleMessage(C, { type: 'members-delta', members: [st(A, 'failed', 4)] }, 7);
  assert.deepEqual(io.take(), []);
});

test('push on neighbour-up; a digest is answered with the full entries the receiver knows better or the sender lacks', () => {
  const { m, io } = make();
  m.handleMessage(C, { type: 'members-delta', members: [st(C, 'alive', 0)] }, 1);
  io.take();
  m.handleNeighborUp(B, 2);
  assert.deepEqual(io.take(), [
    ['sendTo', B, { type: 'members-push', members: [{ ...st(A, 'alive', 0, { role: 'web' }), name: 'a' }, st(C, 'alive', 0)] }],
  ]);
  // B's pull: it knows C failed (newer) and itself alive.
  m.handleMessage(B, { type: 'members-pull', members: [st(B, 'alive', 0), st(C, 'failed', 0)] }, 3);
  assert.deepEqual(io.take(), [
    ['event', 'member-join', B, 'alive', 0],
    ['event', 'member-failed', C, 'failed', 0],
  ]);
  // B's digest lists itself, our A, and a stale C: answered with the newer C only.
  m.handleMessage(B, { type: 'members-digest', answer: false, digest: [[A, 0, 0], [B, 0, 0], [C, 0, 0]] }, 4);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-pull', members: [st(C, 'failed', 0)] }]], 'only the newer C');
  // A digest lacking B and C: B (alive) is sent, C (failed) is not (receivers never insert an unknown failed member).
  m.handleMessage(C, { type: 'members-digest', answer: false, digest: [[A, 0, 0]] }, 5);
  assert.deepEqual(io.take(), [['sendTo', C, { type: 'members-pull', members: [st(B, 'alive', 0)] }]]);
  // Nothing to give: no message.
  m.handleMessage(B, { type: 'members-digest', answer: false, digest: [[A, 0, 0], [B, 0, 0], [C, 0, 2]] }, 6);
  assert.deepEqual(io.take(), []);
  // `answer: true` also sends our digest back.
  m.handleMessage(B, { type: 'members-digest', answer: true, digest: [[A, 0, 0], [B, 0, 0], [C, 0, 2]] }, 7);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-digest', answer: false, digest: [[A, 0, 0], [C, 0, 2], [B, 0, 0]] }]]);
});

test('a digest that says we failed is refuted: incarnation + 1, flooded, and sent back', () => {
  const { m, io } = make(2);
  m.handleNeighborUp(B, 1);
  io.take();
  m.handleMessage(B, { type: 'members-digest', answer: false, digest: [[A, 2, 2], [B, 0, 0]] }, 2);
  const me3 = { ...st(A, 'alive', 3, { role: 'web' }), name: 'a' };
  assert.deepEqual(io.take(), [
    ['sendTo', B, { type: 'members-delta', members: [me3] }],
    ['sendTo', B, { type: 'members-pull', members: [me3] }],
  ]);
  m.handleMessage(B, { type: 'members-digest', answer: false, digest: [[A, 1, 0]] }, 3);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-pull', members: [me3] }]], 'an older view of us gets our entry, no refutation');
});

test('members-push is merged and answered with what the pusher lacks or holds stale', () => {
  const { m, io } = make();
  m.handleMessage(C, { type: 'members-delta', members: [st(C, 'failed', 1)] }, 1);
  m.handleMessage(C, { type: 'members-delta', members: [st(C, 'alive', 2)] }, 1);
  io.take();
  m.handleMessage(B, { type: 'members-push', members: [st(B, 'alive', 0), st(C, 'alive', 1)] }, 2);
  assert.deepEqual(io.take(), [
    ['event', 'member-join', B, 'alive', 0],
    ['sendTo', B, { type: 'members-pull', members: [{ ...st(A, 'alive', 0, { role: 'web' }), name: 'a' }, st(C, 'alive', 2)] }],
  ]);
});

test('periodic sync sends the table hash to a random neighbour; a differing hash starts a two-way digest exchange', () => {
  const { m, io } = make();
  m.handleTimer({ type: 'members-sync' }, 1000);
  assert.deepEqual(io.take(), [['timer', 1000, { type: 'members-sync' }]], 'no neighbour: only re-arm');
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 0), st(C, 'alive', 4)] }, 1000);
  m.handleNeighborUp(B, 1001);
  m.handleNeighborUp(C, 1002);
  io.take();
  const hash = tableHash([st(A, 'alive', 0), st(B, 'alive', 0), st(C, 'alive', 4)]);
  assert.equal(hash, '478733c5c7372b59', 'pinned: nodes of different versions compare hashes');
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    m.handleTimer({ type: 'members-sync' }, 2000 + i);
    const out = io.take() as [string, ...unknown[]][];
    assert.equal(out.length, 2);
    assert.deepEqual(out[0], ['timer', 1000, { type: 'members-sync' }]);
    assert.deepEqual(out[1].slice(2), [{ type: 'members-sync', hash }]);
    seen.add(out[1][1] as string);
  }
  assert.deepEqual([...seen].sort(), [B, C]);
  m.handleMessage(B, { type: 'members-sync', hash }, 3000);
  assert.deepEqual(io.take(), [], 'same hash: nothing more');
  m.handleMessage(B, { type: 'members-sync', hash: tableHash([st(A, 'alive', 0), st(B, 'alive', 0)]) }, 3001);
  assert.deepEqual(io.take(), [['sendTo', B, { type: 'members-digest', answer: true, digest: [[A, 0, 0], [B, 0, 0], [C, 4, 0]] }]]);
});

test('tableHash: order-independent, covers incarnation and up status, ignores failed/left entries', () => {
  const a = st(A, 'alive', 1);
  const b = st(B, 'suspect', 2 ** 40 + 3);
  const h = tableHash([a, b]);
  assert.match(h, /^[0-9a-f]{16}$/);
  assert.equal(tableHash([b, a]), h);
  assert.equal(tableHash([a, b, st(C, 'failed', 9), st('d:1', 'left', 0)]), h);
  assert.notEqual(tableHash([a, { ...b, status: 'alive' }]), h);
  assert.notEqual(tableHash([a, { ...b, incarnation: 3 }]), h);
  assert.notEqual(tableHash([a, { ...b, incarnation: 2 ** 41 + 3 }]), h);
  assert.notEqual(tableHash([a]), h);
  assert.equal(tableHash([]), '0000000000000000');
});

test('probe-then-fail: link failure probes; a failed probe marks failed and floods it', () => {
  const { m, io } = withNeighbors(0, C);
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 4)] }, 1);
  m.handleNeighborUp(B, 2);
  io.take();
  m.handleNeighborDown(B, 'disconnected', 3);
  assert.deepEqual(io.take(), [], 'a DISCONNECT is not a failure');
  m.handleNeighborDown(B, 'link-failed', 4);
  m.handleNeighborDown(B, 'link-failed', 4);
  assert.deepEqual(io.take(), [['probe', B]], 'one probe at a time');
  m.handleProbeResult(B, true, 5);
  assert.deepEqual(io.take(), [], 'a successful probe changes nothing');
  m.handleNeighborDown(B, 'link-failed', 6);
  assert.deepEqual(io.take(), [['probe', B]]);
  m.handleProbeResult(B, false, 7);
  assert.deepEqual(io.take(), [
    ['event', 'member-failed', B, 'failed', 4],
    ['sendTo', C, { type: 'members-delta', members: [st(B, 'failed', 4)] }],
  ]);
  m.handleProbeResult(B, false, 8);
  assert.deepEqual(io.take(), [], 'unsolicited probe results are ignored');
  m.handleNeighborDown(C, 'link-failed', 9);
  assert.deepEqual(io.take(), [], 'unknown peers are not probed');
});

test('reap removes failed and left entries after reapAfterMs, never self', () => {
  const { m, io } = make();
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'alive', 0), st(C, 'alive', 0)] }, 0);
  m.handleMessage(B, { type: 'members-delta', members: [st(B, 'left', 0)] }, 100);
  m.handleMessage(B, { type: 'members-delta', members: [st(C, 'failed', 0)] }, 2000);
  m.leave(0);
  io.take();
  m.reap(5099);
  assert.deepEqual(m.members().map((x) => x.addr), [A, B, C]);
  m.reap(5100);
  assert.deepEqual(m.members().map((x) => x.addr), [A, C]);
  m.handleTimer({ type: 'members-sync' }, 7000);
  assert.deepEqual(m.members().map((x) => x.addr), [A]);
});

test('codec: round trip, and bad input is a reason, never an exception', () => {
  const msgs: MembersMessage[] = [
    { type: 'members-push', members: [st(B, 'suspect', 9, { k: 'v' })] },
    { type: 'members-pull', members: [st(B, 'left', 0)] },
    { type: 'members-sync', hash: '0123456789abcdef' },
    { type: 'members-digest', answer: true, digest: [[B, 9, 1], ['[::1]:7946', 0, 3]] },
  ];
  for (const msg of msgs) assert.deepEqual(decodeMembersMessage(encodeMembersMessage(msg)), { ok: true, msg });
  assert.equal(new TextDecoder().decode(encodeMembersMessage(msgs[3])), '{"type":"members-digest","answer":true,"digest":[["b:1",9,1],["[::1]:7946",0,3]]}');
  const bad = (s: string): string => {
    const r = decodeMembersMessage(new TextEncoder().encode(s));
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.equal(bad('{'), 'not UTF-8 JSON');
  assert.equal(bad('3'), 'expected an object');
  assert.equal(bad('{"type":"x","members":[]}'), 'type: unknown "x"');
  assert.equal(bad('{"type":"members-delta"}'), 'members: expected an array');
  assert.equal(bad('{"type":"members-delta","members":[{"name":"b","addr":"nope","status":"alive","incarnation":0,"tags":{}}]}'), 'members[0].addr: expected "host:port"');
  assert.equal(bad('{"type":"members-delta","members":[{"name":"b","addr":"b:1","status":"dead","incarnation":0,"tags":{}}]}'), 'members[0].status: expected alive|suspect|failed|left');
  assert.equal(bad('{"type":"members-delta","members":[{"name":"b","addr":"b:1","status":"alive","incarnation":-1,"tags":{}}]}'), 'members[0].incarnation: expected a non-negative integer');
  assert.equal(bad('{"type":"members-delta","members":[{"name":"b","addr":"b:1","status":"alive","incarnation":1,"tags":{"r":1}}]}'), 'members[0].tags.r: expected a string of at most 1024 chars');
  assert.equal(bad('{"type":"members-sync","hash":"xyz"}'), 'hash: expected 16 hex digits');
  assert.equal(bad('{"type":"members-digest","digest":[]}'), 'answer: expected true or false');
  assert.equal(bad('{"type":"members-digest","answer":false}'), 'digest: expected an array');
  assert.equal(bad('{"type":"members-digest","answer":false,"digest":[["b:1",0]]}'), 'digest[0]: expected [addr, incarnation, status]');
  assert.equal(bad('{"type":"members-digest","answer":false,"digest":[["b",0,0]]}'), 'digest[0][0]: expected "host:port"');
  assert.equal(bad('{"type":"members-digest","answer":false,"digest":[["b:1",1.5,0]]}'), 'digest[0][1]: expected a non-negative integer');
  assert.equal(bad('{"type":"members-digest","answer":false,"digest":[["b:1",1,4]]}'), 'digest[0][2]: expected a status 0..3');
  assert.equal(decodeMembersMessage(new Uint8Array([0xff, 0xfe])).ok, false);
});
