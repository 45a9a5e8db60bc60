// Concurrent bootstrap of the HyParView machine (issue 18), exact inputs and outputs: the
// bootstrap retry timer (`hv-join-retry`), contacts kept and sampled, JOINs accepted while
// joining, walks for neighbours, the contact link kept during the bootstrap window, the
// periodic address exchange with a contact, and contacts spared by evictions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView, validateHyParViewConfig, type HyParViewConfig } from '../../src/proto/hyparview.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { HyParViewMessage } from '../../src/proto/types.js';
import { Rec, TapRng, withActive, withPassive, type Out } from './membership-rec.js';

const JOIN: HyParViewMessage<number> = { type: 'join' };
const HIGH: HyParViewMessage<number> = { type: 'neighbor', priority: 'high' };
const ACCEPT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: true };
const REJECT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: false };
const DISC_ALIVE: HyParViewMessage<number> = { type: 'disconnect', alive: true };
const timeout = (peer: number, seq: number): Out => ['timer', 1000, { type: 'hv-neighbor-timeout', peer, seq }];
const retry = (delay: number, seq: number): Out => ['timer', delay, { type: 'hv-join-retry', seq }];

function mk(over: Partial<HyParViewConfig> = {}, self = 0) {
  const io = new Rec();
  const rng = new TapRng(7);
  const hv = new HyParView<number>(self, { ...DEFAULT_HYPARVIEW_CONFIG, ...over }, rng, io);
  return { hv, io, rng };
}

/** Delay of the retry timer armed by the last draw: `base · (0.5 + u)`. */
const jitter = (rng: TapRng, base = 400): number => Math.floor(base * (0.5 + rng.last()));

test('join arms the bootstrap retry; a tick under half full JOINs the next configured contact again', () => {
  const { hv, io, rng } = mk();
  hv.join([5, 6], 0);
  const out = io.take();
  assert.deepEqual(out.slice(1), [['connect', 5], ['send', 5, JOIN], timeout(5, 1), retry(jitter(rng), 1)]);
  hv.handleLinkDown(5, 10); // 5 is not listening yet: on to 6
  assert.deepEqual(io.take(), [['disconnect', 5], ['connect', 6], ['send', 6, JOIN], timeout(6, 2)]);
  hv.handleMessage(6, REJECT, 20); // 6 is not up either: no contact left, healing armed
  const healed = io.take();
  assert.deepEqual(healed.slice(0, 1), [['disconnect', 6]]);
  assert.equal((healed[1][2] as { type: string }).type, 'hv-repair');
  hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 600);
  assert.deepEqual(io.take(), [['connect', 5], ['send', 5, JOIN], timeout(5, 3), retry(jitter(rng), 2)]);
  // The firing of a timer that was re-armed since is stale.
  hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 700);
  assert.deepEqual(io.take(), []);
});

test('a node whose JOIN is pending (no neighbour yet) rejects JOINs from strangers; once in, it forwards them', () => {
  const { hv, io } = mk();
  hv.join([5], 0);
  io.take();
  hv.handleMessage(9, JOIN, 1);
  assert.deepEqual(io.take(), [['send', 9, REJECT]]);
  hv.handleMessage(5, ACCEPT, 2);
  assert.deepEqual(io.take(), [['connect', 5], ['up', 5]]);
  hv.handleMessage(9, JOIN, 3);
  assert.deepEqual(io.take(), [
    ['connect', 9],
    ['up', 9],
    ['send', 9, ACCEPT],
    ['send', 5, { type: 'forward-join', peer: 9, ttl: 6 }],
    ['send', 9, { type: 'shuffle', origin: 0, peers: [5], ttl: 1 }],
  ]);
});

test('while joining alone, a JOIN from one of our own contacts is accepted and held; our first neighbour gets its walk', () => {
  const { hv, io } = mk();
  hv.join([5, 6, 7], 0); // a fleet given one list: 6 and 7 were given ours too
  io.take();
  hv.handleMessage(6, JOIN, 1);
  // Accepted, nothing forwarded (nobody to forward to) and nothing to introduce.
  assert.deepEqual(io.take(), [['connect', 6], ['up', 6], ['send', 6, ACCEPT]]);
  // Still alone but for held joiners: the next contact's JOIN is held too, a stranger's refused.
  hv.handleMessage(7, JOIN, 2);
  assert.deepEqual(io.take(), [['connect', 7], ['up', 7], ['send', 7, ACCEPT]]);
  hv.handleMessage(9, JOIN, 3);
  assert.deepEqual(io.take(), [['send', 9, REJECT]]);
  // Our own JOIN is accepted: the walks the held JOINs would have started go to 5, and each
  // held joiner is told whom we know.
  hv.handleMessage(5, ACCEPT, 4);
  const out = io.take();
  assert.deepEqual(out.slice(0, 4), [
    ['connect', 5],
    ['up', 5],
    ['send', 5, { type: 'forward-join', peer: 6, ttl: 6 }],
    ['send', 6, { type: 'shuffle', origin: 0, peers: (out[3][2] as { peers: number[] }).peers, ttl: 1 }],
  ]);
  assert.deepEqual([...(out[3][2] as { peers: number[] }).peers].sort(), [5, 7]);
  assert.deepEqual(out[4], ['send', 5, { type: 'forward-join', peer: 7, ttl: 6 }]);
  assert.deepEqual(out[5], ['send', 7, { type: 'shuffle', origin: 0, peers: (out[5][2] as { peers: number[] }).peers, ttl: 1 }]);
  assert.deepEqual([...(out[5][2] as { peers: number[] }).peers].sort(), [5, 6]);
  assert.equal(out.length, 6);
  // Released once: a later neighbour starts no walk for them.
  hv.handleMessage(8, HIGH, 5);
  assert.deepEqual(io.take(), [['connect', 8], ['up', 8], ['send', 8, ACCEPT]]);
  // In the overlay now: a stranger's JOIN is accepted and forwarded.
  hv.handleMessage(9, JOIN, 6);
  assert.deepEqual(io.take().slice(0, 3), [['connect', 9], ['up', 9], ['send', 9, ACCEPT]]);
});

test('held joiners are bounded by the active view size', () => {
  const { hv, io } = mk({ activeViewSize: 2 });
  hv.join([5, 6, 7, 8], 0);
  io.take();
  hv.handleMessage(6, JOIN, 1);
  hv.handleMessage(7, JOIN, 2);
  io.take();
  hv.handleMessage(8, JOIN, 3);
  assert.deepEqual(io.take(), [['send', 8, REJECT]]);
  assert.deepEqual(hv.activeView(), [6, 7]);
});

test('under half full with every contact a neighbour: JOIN through a passive peer, then walks', () => {
  const { hv, io, rng } = mk();
  hv.join([1], 0);
  hv.handleMessage(1, ACCEPT, 1);
  withPassive(hv, io, 7, []);
  io.take();
  hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500);
  // Turn 0: contacts first (1 is active), then the addresses learned since (passive 7).
  assert.deepEqual(io.take(), [['connect', 7], ['send', 7, JOIN], timeout(7, 2), retry(jitter(rng), 2)]);
  hv.handleMessage(7, REJECT, 510); // (a JOIN is refused only by a node shutting down)
  io.take();
  hv.handleTimer({ type: 'hv-join-retry', seq: 2 }, 1000);
  // Turn 1: walks first: FORWARDJOIN(self, ARWL) through active members, one per free slot.
  const walk = { type: 'forward-join', peer: 0, ttl: 6 };
  assert.deepEqual(io.take(), [['send', 1, walk], ['send', 1, walk], ['send', 1, walk], ['send', 1, walk], retry(jitter(rng), 3)]);
});

test('nobody to ask: the retry backs off (doubling, capped at repairMaxMs)', () => {
  const { hv, io, rng } = mk();
  hv.join([], 0); // first node of a cluster: nothing to ask
  io.take();
  const delays: number[] = [];
  for (let seq = 1; seq <= 6; seq++) {
    hv.handleTimer({ type: 'hv-join-retry', seq }, seq * 1000);
    const out = io.take();
    assert.equal(out.length, 1, JSON.stringify(out));
    delays.push(out[0][1] as number);
    const base = Math.min(400 * 2 ** seq, 10_000);
    assert.deepEqual(out[0], retry(Math.floor(base * (0.5 + rng.last())), seq + 1));
  }
  assert.ok(delays[5] < 15_000, `capped: ${delays.join(', ')}`);
});

test('progress is a neighbour gained: a busy node whose members are replaced keeps the short retry; a still one backs off', () => {
  const ticks = (churn: boolean): number[] => {
    const { hv, io, rng } = mk();
    hv.join([1], 0);
    hv.handleMessage(1, ACCEPT, 1);
    withActive(hv, io, [2]);
    const bases: number[] = [];
    let member = 2;
    for (let seq = 1; seq <= 12; seq++) {
      if (churn) {
        // One member leaves, another arrives: the view size never grows between ticks.
        hv.handleMessage(member, DISC_ALIVE, seq * 1000 - 10);
        member = 100 + seq;
        hv.handleMessage(member, HIGH, seq * 1000 - 5);
      }
      io.take();
      hv.handleTimer({ type: 'hv-join-retry', seq }, seq * 1000);
      const out = io.take();
      const last = out[out.length - 1];
      assert.equal((last[2] as { type: string }).type, 'hv-join-retry', JSON.stringify(out));
      bases.push(Math.round((last[1] as number) / (0.5 + rng.last())));
    }
    return bases;
  };
  const busy = ticks(true);
  assert.ok(busy.every((b) => b <= 400), `busy: ${busy.join(', ')}`);
  const still = ticks(false);
  assert.ok(still.slice(0, 8).every((b) => b <= 400), `still: ${still.join(', ')}`);
  assert.ok(still[still.length - 1] >= 1600, `still node backs off: ${still.join(', ')}`);
});

test('settled (full, joined): the long period; its tick SHUFFLEs straight to a contact in neither view', () => {
  const { hv, io, rng } = mk();
  hv.join([1, 60], 0);
  hv.handleMessage(1, ACCEPT, 1);
  withActive(hv, io, [2, 3, 4, 5]);
  hv.handleMessage(60, REJECT, 2); // 60: not pending, in neither view
  io.take();
  hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500);
  assert.deepEqual(io.take(), [retry(jitter(rng, 60_000), 2)]);
  hv.handleTimer({ type: 'hv-join-retry', seq: 2 }, 60_000);
  const out = io.take();
  assert.equal(out.length, 2, JSON.stringify(out));
  const [send, timer] = out;
  assert.equal(send[0], 'send');
  assert.equal(send[1], 60);
  const msg = send[2] as { type: string; origin: number; peers: number[]; ttl: number };
  assert.equal(msg.type, 'shuffle');
  assert.equal(msg.origin, 0);
  assert.equal(msg.ttl, 1);
  assert.equal(msg.peers.length, 3); // ka active ids (the passive view holds 60 only: it is the target)
  assert.deepEqual(timer, retry(jitter(rng, 60_000), 3));
  // The reply is merged like a shuffle reply.
  hv.handleMessage(60, { type: 'shuffle-reply', peers: [70, 71] }, 60_010);
  assert.ok(hv.passiveView().includes(70) && hv.passiveView().includes(71));
});

test('bootstrap window: losing the last contact link makes the node JOIN through it again; later it does not', () => {
  const early = mk();
  early.hv.join([1], 0);
  early.hv.handleMessage(1, ACCEPT, 1);
  withActive(early.hv, early.io, [2, 3, 4, 5]);
  early.hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500); // settled: long period
  early.io.take();
  early.hv.handleMessage(1, DISC_ALIVE, 1000); // evicted by our contact inside the window
  const out = early.io.take();
  // The retry is re-armed short; its tick JOINs contact 1 again.
  assert.deepEqual(out, [['down', 1, 'disconnected'], ['disconnect', 1], retry(jitter(early.rng), 3)]);
  early.hv.handleTimer({ type: 'hv-join-retry', seq: 3 }, 1500);
  const again = early.io.take();
  assert.deepEqual(again.slice(0, 3), [['connect', 1], ['send', 1, JOIN], timeout(1, 2)]);

  const late = mk();
  late.hv.join([1], 0);
  late.hv.handleMessage(1, ACCEPT, 1);
  withActive(late.hv, late.io, [2, 3, 4, 5]);
  late.hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500);
  late.io.take();
  late.hv.handleMessage(1, DISC_ALIVE, 8 * 500 + 1); // after the window: an ordinary eviction
  assert.deepEqual(late.io.take(), [['down', 1, 'disconnected'], ['disconnect', 1]]);
});

test('evictions spare configured contacts while another member can go', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const io = new Rec();
    const hv = new HyParView<number>(0, DEFAULT_HYPARVIEW_CONFIG, new Sfc32(seed), io);
    hv.join([1, 2], 0);
    hv.handleMessage(1, ACCEPT, 1);
    withActive(hv, io, [2, 3, 4, 5]);
    hv.handleMessage(9, JOIN, 2); // full: someone must go
    const down = io.take().filter((o) => o[0] === 'down');
    assert.equal(down.length, 1);
    assert.ok([3, 4, 5].includes(down[0][1] as number), `seed ${seed}: evicted ${String(down[0][1])}`);
  }
});

test('contacts: self and duplicates skipped, merged across calls, a long list sampled to maxContacts', () => {
  const { hv, io } = mk({ maxContacts: 4 });
  hv.join([0, 1, 1, 2], 0);
  hv.join([2, 3], 1); // merged (a JOIN is already pending: none started)
  const out = io.take().filter((o) => o[0] === 'send');
  assert.deepEqual(out, [['send', 1, JOIN]]);
  hv.handleLinkDown(1, 2);
  hv.handleLinkDown(2, 3);
  hv.handleLinkDown(3, 4);
  const tried = io.take().filter((o) => o[0] === 'send').map((o) => o[1]);
  assert.deepEqual(tried, [2, 3]);
  // A fleet-sized list: at most maxContacts kept, all distinct members of the list.
  const fleet = Array.from({ length: 10_000 }, (_, i) => i);
  const sends = new Set<number>();
  const b2 = mk({ maxContacts: 16 });
  b2.hv.join(fleet, 0);
  let next = b2.io.take().find((o) => o[0] === 'send')?.[1] as number | undefined;
  while (next !== undefined) {
    assert.ok(!sends.has(next) && next !== 0 && next < 10_000);
    sends.add(next);
    b2.hv.handleLinkDown(next, sends.size);
    next = b2.io.take().find((o) => o[0] === 'send')?.[1] as number | undefined;
  }
  assert.equal(sends.size, 16);
});

test('a high-priority NEIGHBOR after a rejection when two or more short', () => {
  const { hv, io } = mk();
  hv.join([1], 0);
  hv.handleMessage(1, ACCEPT, 1);
  withActive(hv, io, [2, 3]);
  withPassive(hv, io, 7, [8]);
  io.take();
  hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500); // 3 of 5: one low-priority request
  const first = io.take();
  const asked = first[0][1] as number;
  assert.deepEqual(first.slice(0, 2), [['connect', asked], ['send', asked, { type: 'neighbor', priority: 'low' }]]);
  hv.handleMessage(asked, REJECT, 510);
  io.take();
  hv.handleTimer({ type: 'hv-join-retry', seq: 2 }, 1000);
  const second = io.take();
  assert.equal(second[1][0], 'send');
  assert.deepEqual(second[1][2], HIGH);
});

test('config: the bootstrap fields are validated with a one-line reason', () => {
  const bad = (over: Partial<HyParViewConfig>): string => {
    const r = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, ...over });
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(bad({ joinRetryMs: 0 }), 'joinRetryMs: expected a finite number of milliseconds > 0, got 0');
  assert.equal(bad({ rejoinIntervalMs: -1 }), 'rejoinIntervalMs: expected a finite number of milliseconds > 0, got -1');
  assert.equal(bad({ maxContacts: 0 }), 'maxContacts: expected an integer >= 1, got 0');
  assert.equal(bad({}), 'ok');
});

test('seeds that stay down: the retry JOINs them at the short period, then backs off after 8 ticks without a neighbour', () => {
  const { hv, io, rng } = mk();
  hv.join([5], 0);
  hv.handleLinkDown(5, 1); // refused
  io.take();
  const bases: number[] = [];
  for (let seq = 1; seq <= 11; seq++) {
    hv.handleTimer({ type: 'hv-join-retry', seq }, seq * 1000);
    const out = io.take();
    const timer = out.find((o) => o[0] === 'timer' && (o[2] as { type: string }).type === 'hv-join-retry')!;
    assert.ok(out.some((o) => o[0] === 'send' && o[1] === 5), `tick ${seq} JOINs the seed again`);
    const base = [400, 800, 1600, 3200, 6400, 10_000].find((b) => timer[1] === Math.floor(b * (0.5 + rng.last())));
    assert.ok(base !== undefined, `tick ${seq}: delay ${String(timer[1])}`);
    bases.push(base);
    hv.handleLinkDown(5, seq * 1000 + 1);
    io.take();
  }
  assert.deepEqual(bases, [400, 400, 400, 400, 400, 400, 400, 800, 1600, 3200, 6400]);
});

test("bootstrapRejoin 'cut-off': a node evicted by its contact does not JOIN it again while a walk's end from the contact's side is a neighbour", () => {
  // The sequence: three neighbours before the contact accepts (not from its walks), the JOIN
  // accepted, then node 2 adds us as the end of a FORWARDJOIN walk; the contact evicts us.
  const run = (rule: HyParViewConfig['bootstrapRejoin'], dropWalked: boolean) => {
    const { hv, io } = mk({ bootstrapRejoin: rule });
    hv.join([1], 0);
    withActive(hv, io, [3, 4, 5]);
    hv.handleMessage(1, ACCEPT, 1);
    hv.handleMessage(2, HIGH, 2); // the end of a walk from the contact's side
    hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 500);
    if (dropWalked) hv.handleLinkDown(2, 600);
    io.take();
    hv.handleMessage(1, DISC_ALIVE, 1000); // evicted by our contact inside the window
    const evicted = io.take();
    // Let every retry tick that was armed fire: does any of them JOIN the contact again?
    let joins = 0;
    for (let t = 1500, k = 0; k < 6; k++, t += 1000) {
      for (let seq = 1; seq <= 12; seq++) hv.handleTimer({ type: 'hv-join-retry', seq }, t);
      joins += io.take().filter((o) => o[0] === 'send' && o[1] === 1 && (o[2] as HyParViewMessage<number>).type === 'join').length;
    }
    return { evicted, joins, active: [...hv.activeView()] };
  };
  const kept = run('cut-off', false);
  assert.deepEqual(kept.evicted, [['down', 1, 'disconnected'], ['disconnect', 1]]);
  assert.equal(kept.joins, 0, 'JOINed the contact again with a walked-in neighbour');
  assert.ok(kept.active.includes(2));
  // Under the simulator's rule the same node JOINs its contact again.
  assert.ok(run('contact-lost', false).joins > 0, "'contact-lost' did not JOIN the contact again");
  // Without the walked-in neighbour (its link failed) 'cut-off' JOINs again, as 'contact-lost'.
  const cut = run('cut-off', true);
  assert.ok(cut.joins > 0, "'cut-off' without a walked-in neighbour did not JOIN the contact again");
  assert.deepEqual(cut, run('contact-lost', true));
});

test("config: bootstrapRejoin and bootstrapWindow are validated with a one-line reason", () => {
  const bad = (over: Record<string, unknown>): string => {
    const r = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, ...over } as HyParViewConfig);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(bad({ bootstrapRejoin: 'sometimes' }), 'bootstrapRejoin: expected "contact-lost" or "cut-off", got "sometimes"');
  assert.equal(bad({ bootstrapWindow: -1 }), 'bootstrapWindow: expected an integer >= 0, got -1');
  assert.equal(bad({ bootstrapWindow: 0, bootstrapRejoin: 'cut-off' }), 'ok');
});

test("bootstrapRejoin 'cut-off': the walks of a JOIN the contact accepted are awaited for two retry periods, and count after the contact evicted us", () => {
  // Two neighbours from before the JOIN (not from the contact's walks), the JOIN accepted at
  // t = 10, the contact evicts us at t = 50 (a seed taking a fleet's JOINs at once), and the end
  // of one of our walks (node 2) arrives at t = 400, after the eviction, or never.
  const run = (rule: HyParViewConfig['bootstrapRejoin'], walkAt: number | null) => {
    const { hv, io } = mk({ bootstrapRejoin: rule });
    hv.join([1], 0);
    withActive(hv, io, [3, 4]);
    hv.handleMessage(1, ACCEPT, 10);
    hv.handleMessage(1, DISC_ALIVE, 50);
    // The retry tick armed last (its seq), fired every 400 ms: when is the contact JOINed again?
    const armed = (out: Out[], seq: number): number =>
      out.reduce((s, o) => (o[0] === 'timer' && (o[2] as { type: string }).type === 'hv-join-retry' ? (o[2] as { seq: number }).seq : s), seq);
    let seq = armed(io.take(), 1);
    const joinsAt: number[] = [];
    for (let t = 300; t <= 2300; t += 400) {
      if (walkAt !== null && walkAt < t && walkAt >= t - 400) hv.handleMessage(2, HIGH, walkAt);
      hv.handleTimer({ type: 'hv-join-retry', seq }, t);
      const out = io.take();
      seq = armed(out, seq);
      if (out.some((o) => o[0] === 'send' && o[1] === 1 && (o[2] as HyParViewMessage<number>).type === 'join')) joinsAt.push(t);
    }
    return { joinsAt, active: [...hv.activeView()] };
  };
  // The walk came after the eviction: it counts, and no tick JOINs the contact again.
  const walked = run('cut-off', 400);
  assert.deepEqual(walked.joinsAt, [], 'JOINed the contact again although a walk of its JOIN arrived');
  assert.deepEqual(walked.active.sort(), [2, 3, 4]);
  // No walk at all: the first tick after the grace (10 + 2 × 400 ms) JOINs the contact again.
  assert.equal(run('cut-off', null).joinsAt[0], 1100);
  // The simulator's rule is unchanged: the first tick after the eviction JOINs, walk or not.
  assert.equal(run('contact-lost', 400).joinsAt[0], 300);
  assert.equal(run('contact-lost', null).joinsAt[0], 300);
});

test("bootstrapRejoin 'cut-off': a joined node one short of full that was never full counts as settled: its retry tick sends no NEIGHBOR and arms the long period", () => {
  const run = (rule: HyParViewConfig['bootstrapRejoin']) => {
    const { hv, io, rng } = mk({ bootstrapRejoin: rule });
    hv.join([1], 0);
    hv.handleMessage(1, ACCEPT, 1); // the contact accepted our JOIN: joined
    withActive(hv, io, [2, 3, 4]); // 4 of 5, never full
    withPassive(hv, io, 9, [10, 11]);
    io.take();
    hv.handleTimer({ type: 'hv-join-retry', seq: 1 }, 1000);
    return { out: io.take(), rng };
  };
  const cut = run('cut-off');
  assert.deepEqual(
    cut.out.filter((o) => o[0] === 'send' || o[0] === 'connect'),
    [],
    'a request went out',
  );
  assert.deepEqual(cut.out, [retry(jitter(cut.rng, DEFAULT_HYPARVIEW_CONFIG.rejoinIntervalMs), 2)]);
  // The simulator's rule is unchanged: a low-priority NEIGHBOR to a passive peer.
  const sim = run('contact-lost');
  const sent = sim.out.filter((o) => o[0] === 'send');
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0][2], { type: 'neighbor', priority: 'low' });
  assert.ok([9, 10, 11].includes(sent[0][1] as number));
});
