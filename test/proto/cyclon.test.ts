// Cyclon: exact outputs of shuffle initiation, reply, merge and join; config validation;
// and a 200-node synchronous network whose views fill with bounded in-degree spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cyclon, DEFAULT_CYCLON_CONFIG, validateCyclonConfig, type CyclonConfig } from '../../src/proto/cyclon.js';
import type { MembershipIo } from '../../src/proto/machine.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { CyclonEntry, DownReason, Message, Timer } from '../../src/proto/types.js';

type Out =
  | { k: 'send'; to: number; msg: Message<number> }
  | { k: 'timer'; delay: number; t: Timer<number> }
  | { k: 'connect' | 'disconnect'; peer: number }
  | { k: 'up'; peer: number }
  | { k: 'down'; peer: number; reason: DownReason };

function recorder(): { io: MembershipIo<number>; out: Out[]; take(): Out[] } {
  const out: Out[] = [];
  const io: MembershipIo<number> = {
    send: (to, msg) => out.push({ k: 'send', to, msg }),
    timer: (delay, t) => out.push({ k: 'timer', delay, t }),
    connect: (peer) => out.push({ k: 'connect', peer }),
    disconnect: (peer) => out.push({ k: 'disconnect', peer }),
    neighborUp: (peer) => out.push({ k: 'up', peer }),
    neighborDown: (peer, reason) => out.push({ k: 'down', peer, reason }),
  };
  return { io, out, take: () => out.splice(0, out.length) };
}

/** View 5, shuffle length 4, period 1000 ms without jitter: timer delays are exact. */
const SMALL: CyclonConfig = { viewSize: 5, shuffleLength: 4, shuffleIntervalMs: 1000, shuffleJitter: 0, emitNeighborEvents: true };
const SHUFFLE_TIMER: Timer<number> = { type: 'cyclon-shuffle' };

const byPeer = (a: CyclonEntry<number>, b: CyclonEntry<number>): number => a.peer - b.peer;

/** Node 0 joined through contact 100, whose answer filled the view to
 *  [100:0, 1:3, 2:7, 3:1, 4:2]. Outputs are cleared. */
function fullNode(cfg: CyclonConfig = SMALL, seed = 1) {
  const r = recorder();
  const n = new Cyclon<number>(0, cfg, new Sfc32(seed), r.io);
  n.join([100], 0);
  n.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 3 }, { peer: 2, age: 7 }, { peer: 3, age: 1 }, { peer: 4, age: 2 }] }, 10);
  r.take();
  return { n, ...r };
}

function sentEntries(o: Out): CyclonEntry<number>[] {
  assert.equal(o.k, 'send');
  const msg = (o as { msg: Message<number> }).msg;
  assert.ok(msg.type === 'cyclon-shuffle' || msg.type === 'cyclon-reply');
  return msg.entries;
}

test('join: sends a shuffle holding only self to the first contact and arms the timer', () => {
  const r = recorder();
  const n = new Cyclon<number>(0, SMALL, new Sfc32(1), r.io);
  n.join([0, 100, 101], 0); // self in the contact list is ignored
  assert.deepEqual(r.take(), [
    { k: 'send', to: 100, msg: { type: 'cyclon-shuffle', entries: [{ peer: 0, age: 0 }] } },
    { k: 'timer', delay: 1000, t: SHUFFLE_TIMER },
  ]);
  // The answer is merged with the contact itself first (age 0).
  n.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 3 }, { peer: 0, age: 1 }, { peer: 2, age: 7 }] }, 5);
  assert.deepEqual(n.viewEntries(), [{ peer: 100, age: 0 }, { peer: 1, age: 3 }, { peer: 2, age: 7 }]);
  assert.deepEqual(r.take(), [{ k: 'up', peer: 100 }, { k: 'up', peer: 1 }, { k: 'up', peer: 2 }]);
  assert.deepEqual(n.activeView(), [100, 1, 2]);
  assert.deepEqual(n.passiveView(), []);
});

test('join is retried through the next contact while the view is empty', () => {
  const r = recorder();
  const n = new Cyclon<number>(0, SMALL, new Sfc32(1), r.io);
  n.join([100, 101], 0);
  r.take();
  n.handleTimer(SHUFFLE_TIMER, 500); // stale: before the deadline, no output at all
  assert.deepEqual(r.take(), []);
  n.handleTimer(SHUFFLE_TIMER, 1000);
  assert.deepEqual(r.take(), [
    { k: 'timer', delay: 1000, t: SHUFFLE_TIMER },
    { k: 'send', to: 101, msg: { type: 'cyclon-shuffle', entries: [{ peer: 0, age: 0 }] } },
  ]);
  n.handleTimer(SHUFFLE_TIMER, 2000); // round-robin back to the first contact
  assert.deepEqual(r.take()[1], { k: 'send', to: 100, msg: { type: 'cyclon-shuffle', entries: [{ peer: 0, age: 0 }] } });
});

test('contact: answers a join with l entries of its view and inserts the joiner in place of one', () => {
  const { n, take } = fullNode();
  n.handleMessage(9, { type: 'cyclon-shuffle', entries: [{ peer: 9, age: 0 }] }, 20);
  const out = take();
  assert.equal(out.length, 3); // send, down, up (no timer: already armed)
  const reply = sentEntries(out[0]);
  assert.equal((out[0] as { to: number }).to, 9);
  assert.equal(reply.length, 4);
  const before = [{ peer: 1, age: 3 }, { peer: 2, age: 7 }, { peer: 3, age: 1 }, { peer: 4, age: 2 }, { peer: 100, age: 0 }];
  for (const e of reply) assert.ok(before.some((b) => b.peer === e.peer && b.age === e.age));
  assert.equal(new Set(reply.map((e) => e.peer)).size, 4);
  // The first entry handed over is the one the joiner replaces.
  const replaced = reply[0].peer;
  assert.deepEqual(out.slice(1), [{ k: 'down', peer: replaced, reason: 'evicted' }, { k: 'up', peer: 9 }]);
  const expected = before.filter((e) => e.peer !== replaced).concat([{ peer: 9, age: 0 }]).sort(byPeer);
  assert.deepEqual(n.viewEntries().sort(byPeer), expected);
});

test('contact with an empty view answers [] and inserts the joiner', () => {
  const r = recorder();
  const n = new Cyclon<number>(100, SMALL, new Sfc32(1), r.io);
  n.join([], 0);
  assert.deepEqual(r.take(), [{ k: 'timer', delay: 1000, t: SHUFFLE_TIMER }]);
  n.handleMessage(0, { type: 'cyclon-shuffle', entries: [{ peer: 0, age: 0 }] }, 1);
  assert.deepEqual(r.take(), [{ k: 'send', to: 0, msg: { type: 'cyclon-reply', entries: [] } }, { k: 'up', peer: 0 }]);
  assert.deepEqual(n.viewEntries(), [{ peer: 0, age: 0 }]);
});

test('shuffle initiation: ages +1, oldest removed and contacted, l−1 others plus self at age 0', () => {
  const { n, take } = fullNode();
  n.handleTimer(SHUFFLE_TIMER, 1000);
  const out = take();
  // Ages after the increment: 100:1, 1:4, 2:8, 3:2, 4:3 → the oldest is 2.
  assert.deepEqual(out[0], { k: 'timer', delay: 1000, t: SHUFFLE_TIMER });
  assert.deepEqual(out[1], { k: 'down', peer: 2, reason: 'evicted' });
  assert.equal(out.length, 3);
  assert.equal((out[2] as { to: number }).to, 2);
  const entries = sentEntries(out[2]);
  assert.equal(entries.length, 4);
  assert.deepEqual(entries[0], { peer: 0, age: 0 });
  const remaining = [{ peer: 1, age: 4 }, { peer: 3, age: 2 }, { peer: 4, age: 3 }, { peer: 100, age: 1 }];
  assert.deepEqual(n.viewEntries().sort(byPeer), remaining);
  const others = entries.slice(1);
  assert.equal(new Set(others.map((e) => e.peer)).size, 3);
  for (const e of others) assert.ok(remaining.some((x) => x.peer === e.peer && x.age === e.age), `${JSON.stringify(e)}`);
});

test('merge of the reply: self and duplicates dropped, empty slot filled, then sent entries replaced', () => {
  const { n, take } = fullNode();
  n.handleTimer(SHUFFLE_TIMER, 1000);
  const sent = sentEntries(take()[2]).slice(1).map((e) => e.peer);
  // Only the first l = 4 entries are considered: 0 (self) and 1 (known) are dropped, 7
  // fills the slot freed by 2, 8 replaces the first entry we sent; 9 is beyond l.
  n.handleMessage(2, { type: 'cyclon-reply', entries: [{ peer: 0, age: 5 }, { peer: 1, age: 9 }, { peer: 7, age: 2 }, { peer: 8, age: 6 }, { peer: 9, age: 1 }] }, 1001);
  assert.deepEqual(take(), [{ k: 'up', peer: 7 }, { k: 'down', peer: sent[0], reason: 'evicted' }, { k: 'up', peer: 8 }]);
  const expect = [{ peer: 1, age: 4 }, { peer: 3, age: 2 }, { peer: 4, age: 3 }, { peer: 100, age: 1 }]
    .filter((e) => e.peer !== sent[0])
    .concat([{ peer: 7, age: 2 }, { peer: 8, age: 6 }])
    .sort(byPeer);
  assert.deepEqual(n.viewEntries().sort(byPeer), expect);
});

test('replacement walks the sent list in order and stops when it is exhausted', () => {
  const cfg: CyclonConfig = { ...SMALL, viewSize: 3, shuffleLength: 3 };
  const r = recorder();
  const n = new Cyclon<number>(0, cfg, new Sfc32(4), r.io);
  n.join([100], 0);
  n.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 3 }, { peer: 2, age: 9 }] }, 1);
  assert.deepEqual(n.activeView(), [100, 1, 2]);
  r.take();
  n.handleTimer(SHUFFLE_TIMER, 1000); // oldest is 2; the other two (100, 1) are sent
  const sent = sentEntries(r.take()[2]).slice(1).map((e) => e.peer);
  assert.deepEqual(sent.slice().sort((x, y) => x - y), [1, 100]);
  // A joiner takes the free slot (no replacement needed): the view is full again.
  n.handleMessage(9, { type: 'cyclon-shuffle', entries: [{ peer: 9, age: 0 }] }, 1001);
  r.take();
  // Three new entries, two sent entries to replace: 11 → sent[0], 12 → sent[1], 13 dropped.
  n.handleMessage(2, { type: 'cyclon-reply', entries: [{ peer: 11, age: 1 }, { peer: 12, age: 2 }, { peer: 13, age: 3 }] }, 1002);
  assert.deepEqual(r.take(), [
    { k: 'down', peer: sent[0], reason: 'evicted' },
    { k: 'up', peer: 11 },
    { k: 'down', peer: sent[1], reason: 'evicted' },
    { k: 'up', peer: 12 },
  ]);
  assert.deepEqual(n.viewEntries().sort(byPeer), [{ peer: 9, age: 0 }, { peer: 11, age: 1 }, { peer: 12, age: 2 }]);
});

test('receiver: replies with l entries other than the initiator, then replaces them in order', () => {
  const { n, take } = fullNode();
  // The initiator 1 is in our view: it is never sent back to itself.
  n.handleMessage(1, { type: 'cyclon-shuffle', entries: [{ peer: 1, age: 0 }, { peer: 60, age: 4 }, { peer: 3, age: 2 }, { peer: 70, age: 1 }] }, 20);
  const out = take();
  const reply = sentEntries(out[0]);
  assert.deepEqual(reply.slice().sort(byPeer), [{ peer: 2, age: 7 }, { peer: 3, age: 1 }, { peer: 4, age: 2 }, { peer: 100, age: 0 }]);
  // 1 and 3 are known; 60 and 70 replace reply[0] and reply[1].
  assert.deepEqual(out.slice(1), [
    { k: 'down', peer: reply[0].peer, reason: 'evicted' },
    { k: 'up', peer: 60 },
    { k: 'down', peer: reply[1].peer, reason: 'evicted' },
    { k: 'up', peer: 70 },
  ]);
  const expect = [{ peer: 1, age: 3 }, { peer: 2, age: 7 }, { peer: 3, age: 1 }, { peer: 4, age: 2 }, { peer: 100, age: 0 }]
    .filter((e) => e.peer !== reply[0].peer && e.peer !== reply[1].peer)
    .concat([{ peer: 60, age: 4 }, { peer: 70, age: 1 }])
    .sort(byPeer);
  assert.deepEqual(n.viewEntries().sort(byPeer), expect);
});

test('a reply from a peer we did not shuffle with only fills empty slots', () => {
  const { n, take } = fullNode();
  n.handleMessage(77, { type: 'cyclon-reply', entries: [{ peer: 8, age: 1 }] }, 20);
  assert.deepEqual(take(), []);
  assert.deepEqual(n.activeView(), [100, 1, 2, 3, 4]);
});

test('no failure detector, no links: linkDown removes nothing; connect/disconnect never called', () => {
  const { n, take } = fullNode();
  n.handleLinkDown(2, 50);
  n.handleLinkDown(100, 50);
  assert.deepEqual(take(), []);
  assert.deepEqual(n.activeView(), [100, 1, 2, 3, 4]);
});

test('leave reports every entry as leaving and makes the machine inert', () => {
  const { n, take } = fullNode();
  n.leave(50);
  assert.deepEqual(take(), [100, 1, 2, 3, 4].map((peer) => ({ k: 'down', peer, reason: 'leaving' })));
  assert.deepEqual(n.activeView(), []);
  n.handleMessage(9, { type: 'cyclon-shuffle', entries: [{ peer: 9, age: 0 }] }, 60);
  n.handleTimer(SHUFFLE_TIMER, 5000);
  n.join([100], 6000);
  assert.deepEqual(take(), []);
});

test('emitNeighborEvents=false suppresses neighbour events only', () => {
  const { n, take } = fullNode({ ...SMALL, emitNeighborEvents: false });
  n.handleTimer(SHUFFLE_TIMER, 1000);
  assert.deepEqual(take().map((o) => o.k), ['timer', 'send']);
});

test('timer jitter: delays drawn in interval·[1−j, 1+j), deterministic per seed', () => {
  const cfg: CyclonConfig = { ...SMALL, shuffleJitter: 0.5 };
  const delays = (seed: number): number[] => {
    const r = recorder();
    const n = new Cyclon<number>(0, cfg, new Sfc32(seed), r.io);
    n.join([], 0);
    let now = 0;
    const ds: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = r.take().find((o) => o.k === 'timer') as { delay: number };
      ds.push(t.delay);
      now += t.delay;
      n.handleTimer(SHUFFLE_TIMER, now);
    }
    return ds;
  };
  const a = delays(8);
  assert.deepEqual(a, delays(8));
  for (const d of a) assert.ok(d >= 500 && d < 1500);
  assert.ok(Math.min(...a) < 600 && Math.max(...a) > 1400, 'jitter should span the range');
});

test('config validation: defaults pass; each bad field yields a one-line reason', () => {
  assert.deepEqual(validateCyclonConfig(DEFAULT_CYCLON_CONFIG), { ok: true, config: DEFAULT_CYCLON_CONFIG });
  const bad = (patch: Partial<Record<keyof CyclonConfig, unknown>>): string => {
    const r = validateCyclonConfig({ ...DEFAULT_CYCLON_CONFIG, ...patch } as CyclonConfig);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };
  assert.equal(bad({ viewSize: 0 }), 'viewSize: expected an integer >= 1, got 0');
  assert.equal(bad({ viewSize: 2.5 }), 'viewSize: expected an integer >= 1, got 2.5');
  assert.equal(bad({ viewSize: '35' }), 'viewSize: expected an integer >= 1, got "35"');
  assert.equal(bad({ shuffleLength: 36 }), 'shuffleLength: expected an integer in [1, viewSize=35], got 36');
  assert.equal(bad({ shuffleLength: 0 }), 'shuffleLength: expected an integer in [1, viewSize=35], got 0');
  assert.equal(bad({ shuffleIntervalMs: 0 }), 'shuffleIntervalMs: expected a finite number > 0, got 0');
  assert.equal(bad({ shuffleIntervalMs: Infinity }), 'shuffleIntervalMs: expected a finite number > 0, got Infinity');
  assert.equal(bad({ shuffleJitter: 1 }), 'shuffleJitter: expected a number in [0, 1), got 1');
  assert.equal(bad({ shuffleJitter: NaN }), 'shuffleJitter: expected a number in [0, 1), got NaN');
  assert.equal(bad({ emitNeighborEvents: 'yes' }), 'emitNeighborEvents: expected true or false, got "yes"');
});

/** A synchronous network: messages are delivered instantly in FIFO order after each
 *  timer; timers fire in time order. Returns the nodes after `periods` mean periods. */
function runNetwork(n: number, periods: number, seed: number): Cyclon<number>[] {
  const cfg = DEFAULT_CYCLON_CONFIG;
  const root = new Sfc32(seed);
  const queue: { from: number; to: number; msg: Message<number> }[] = [];
  const timers: { at: number; node: number }[] = [];
  let now = 0;
  const nodes: Cyclon<number>[] = [];
  for (let i = 0; i < n; i++) {
    const io: MembershipIo<number> = {
      send: (to, msg) => queue.push({ from: i, to, msg }),
      timer: (delay) => timers.push({ at: now + delay, node: i }),
      connect: () => assert.fail('Cyclon must not connect'),
      disconnect: () => assert.fail('Cyclon must not disconnect'),
      neighborUp: () => {},
      neighborDown: () => {},
    };
    nodes.push(new Cyclon<number>(i, cfg, root.fork(), io));
  }
  const drain = (): void => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
      nodes[m.to].handleMessage(m.from, m.msg as Parameters<Cyclon<number>['handleMessage']>[1], now);
    }
  };
  // Everyone joins during the first period, each through a random earlier node.
  for (let i = 0; i < n; i++) {
    now = i * (cfg.shuffleIntervalMs / n);
    nodes[i].join(i === 0 ? [] : [root.int(i)], now);
    drain();
  }
  const end = periods * cfg.shuffleIntervalMs;
  while (timers.length > 0) {
    let k = 0;
    for (let j = 1; j < timers.length; j++) if (timers[j].at < timers[k].at) k = j;
    const t = timers[k];
    if (t.at > end) break;
    timers.splice(k, 1);
    now = t.at;
    nodes[t.node].handleTimer({ type: 'cyclon-shuffle' }, now);
    drain();
  }
  return nodes;
}

test('200 nodes, 30 periods: every view full, no duplicates, in-degree bounded and never 0', () => {
  const n = 200;
  const nodes = runNetwork(n, 30, 2024);
  const c = DEFAULT_CYCLON_CONFIG.viewSize;
  const inDeg = new Array<number>(n).fill(0);
  nodes.forEach((node, i) => {
    const v = node.activeView();
    assert.equal(v.length, c, `node ${i} view size ${v.length}`);
    assert.equal(new Set(v).size, c, `node ${i} has duplicate entries`);
    assert.ok(!v.includes(i), `node ${i} has itself in view`);
    for (const p of v) inDeg[p]++;
  });
  const max = Math.max(...inDeg);
  const min = Math.min(...inDeg);
  assert.ok(max < 3 * c, `max in-degree ${max}`);
  assert.ok(min > 0, `min in-degree ${min}`);
  // Cyclon's enhanced shuffle keeps in-degrees close to c (paper §5): standard deviation
  // under c/4 (measured: sd 5.9 at seed 2024, 5.3–5.5 on seeds 1–3; at n = 200 a view covers
  // 17% of the network, so duplicate entries — discarded by the merge — widen the spread;
  // at n = 2000 after 100 periods we measured sd 3.9).
  const mean = inDeg.reduce((s, d) => s + d, 0) / n;
  const sd = Math.sqrt(inDeg.reduce((s, d) => s + (d - mean) ** 2, 0) / n);
  assert.equal(mean, c);
  assert.ok(sd < c / 4, `in-degree sd ${sd}`);
});

test('the same seed gives the same overlay', () => {
  const a = runNetwork(60, 5, 7).map((x) => x.viewEntries());
  const b = runNetwork(60, 5, 7).map((x) => x.viewEntries());
  assert.deepEqual(a, b);
});
