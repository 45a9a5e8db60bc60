import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_HYPARVIEW_CONFIG,
  HyParView,
  validateHyParViewConfig,
  type HyParViewConfig,
} from '../../src/proto/hyparview.js';
import { NONE } from '../../src/proto/hyparview-state.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { HyParViewMessage } from '../../src/proto/types.js';

import { Rec, TapRng, withActive, withPassive, type Out } from './membership-rec.js';
import { MiniNet } from './hyparview-mininet.js';


const HIGH: HyParViewMessage<number> = { type: 'neighbor', priority: 'high' };
const LOW: HyParViewMessage<number> = { type: 'neighbor', priority: 'low' };
const ACCEPT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: true };
const REJECT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: false };
const DISC_ALIVE: HyParViewMessage<number> = { type: 'disconnect', alive: true };
const DISC_DEAD: HyParViewMessage<number> = { type: 'disconnect', alive: false };
const timeout = (peer: number, seq: number): Out => ['timer', 1000, { type: 'hv-neighbor-timeout', peer, seq }];

function mk(self = 0, over: Partial<HyParViewConfig> = {}, seed = 1) {
  const io = new Rec();
  const rng = new TapRng(seed);
  const hv = new HyParView<number>(self, { ...DEFAULT_HYPARVIEW_CONFIG, ...over }, rng, io);
  return { hv, io, rng };
}

function sorted(a: readonly number[]): number[] {
  return [...a].sort((x, y) => x - y);
}

test('joiner: connect + JOIN to the first contact, adds it on the accept reply', () => {
  const { hv, io, rng } = mk(9);
  hv.join([0, 5], 0);
  assert.deepEqual(io.take(), [
    ['timer', Math.floor(10000 * (0.5 + rng.nexts[0])), { type: 'hv-shuffle' }],
    ['connect', 0],
    ['send', 0, { type: 'join' }],
    timeout(0, 1),
    ['timer', Math.floor(400 * (0.5 + rng.nexts[1])), { type: 'hv-join-retry', seq: 1 }],
  ]);
  hv.handleMessage(0, ACCEPT, 1);
  assert.deepEqual(io.take(), [['connect', 0], ['up', 0]]);
  assert.deepEqual(hv.activeView(), [0]);
  // The late timeout of the answered request is stale.
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: 0, seq: 1 }, 1000);
  assert.deepEqual(io.take(), []);
});

test('joinTimeoutMs: a JOIN waits that long (a NEIGHBOR waits neighborTimeoutMs), then goes to the next contact', () => {
  const { hv, io, rng } = mk(9, { joinTimeoutMs: 5000 });
  hv.join([0, 5], 0);
  assert.deepEqual(io.take(), [
    ['timer', Math.floor(10000 * (0.5 + rng.nexts[0])), { type: 'hv-shuffle' }],
    ['connect', 0],
    ['send', 0, { type: 'join' }],
    ['timer', 5000, { type: 'hv-neighbor-timeout', peer: 0, seq: 1 }],
    ['timer', Math.floor(400 * (0.5 + rng.nexts[1])), { type: 'hv-join-retry', seq: 1 }],
  ]);
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: 0, seq: 1 }, 5000);
  assert.deepEqual(io.take(), [['disconnect', 0], ['connect', 5], ['send', 5, { type: 'join' }], ['timer', 5000, { type: 'hv-neighbor-timeout', peer: 5, seq: 2 }]]);
  // A NEIGHBOR request keeps its own timeout.
  hv.handleMessage(5, ACCEPT, 5001);
  withPassive(hv, io, 7, [4]);
  io.take();
  hv.handleLinkDown(5, 5002);
  const out = io.take();
  assert.ok(out.some((o) => o[0] === 'timer' && o[1] === 1000 && (o[2] as { type: string }).type === 'hv-neighbor-timeout'), `a NEIGHBOR with a 1000 ms timeout: ${JSON.stringify(out)}`);
});

test('contact with room: accepts the joiner and sends FORWARDJOIN(ttl=ARWL) to the others', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  hv.handleMessage(9, { type: 'join' }, 0);
  const out = io.take();
  const intro = (out[out.length - 1][2] as { peers: number[] }).peers;
  assert.deepEqual(out, [
    ['connect', 9],
    ['up', 9],
    ['send', 9, ACCEPT],
    ['send', 1, { type: 'forward-join', peer: 9, ttl: 6 }],
    ['send', 2, { type: 'forward-join', peer: 9, ttl: 6 }],
    // The introduction: a one-hop SHUFFLE telling the joiner our other neighbours.
    ['send', 9, { type: 'shuffle', origin: 0, peers: intro, ttl: 1 }],
  ]);
  assert.deepEqual(sorted(intro), [1, 2]);
  assert.deepEqual(hv.activeView(), [1, 2, 9]);
});

test('contact with a full view: evicts a random member with DISCONNECT first', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2, 3, 4, 5]);
  const before = [1, 2, 3, 4, 5];
  hv.handleMessage(9, { type: 'join' }, 0);
  const out = io.take();
  const victim = out[0][1] as number;
  const i = before.indexOf(victim);
  const rest = before.slice();
  rest[i] = rest[4];
  rest.pop();
  const intro = (out[out.length - 1][2] as { peers: number[] }).peers;
  assert.equal(intro.length, 4, 'the introduction: 3 of the 4 other neighbours and the passive victim');
  assert.ok(intro.includes(victim) && intro.every((p) => before.includes(p)));
  assert.deepEqual(out, [
    ['send', victim, DISC_ALIVE],
    ['down', victim, 'evicted'],
    ['disconnect', victim],
    ['connect', 9],
    ['up', 9],
    ['send', 9, ACCEPT],
    ...rest.map((p) => ['send', p, { type: 'forward-join', peer: 9, ttl: 6 }]),
    ['send', 9, { type: 'shuffle', origin: 0, peers: intro, ttl: 1 }],
  ]);
  assert.deepEqual(hv.activeView(), [...rest, 9]);
  assert.deepEqual(hv.passiveView(), [victim]);
});

test('FORWARDJOIN at ttl 0, and with a single active member: add the joiner, NEIGHBOR high', () => {
  const a = mk(0);
  withActive(a.hv, a.io, [1, 2, 3]);
  a.hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 0 }, 0);
  assert.deepEqual(a.io.take(), [['connect', 9], ['up', 9], ['send', 9, HIGH]]);
  // The joiner's accept of our NEIGHBOR is expected and ignored.
  a.hv.handleMessage(9, ACCEPT, 0);
  assert.deepEqual(a.io.take(), []);

  const b = mk(0);
  withActive(b.hv, b.io, [1]);
  b.hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 4 }, 0);
  assert.deepEqual(b.io.take(), [['connect', 9], ['up', 9], ['send', 9, HIGH]]);
  assert.deepEqual(b.hv.activeView(), [1, 9]);
});

test('FORWARDJOIN at ttl = PRWL: joiner to passive, walk continues with ttl-1', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2, 50]);
  hv.handleMessage(1, { type: 'forward-join', peer: 50, ttl: 3 }, 0);
  // Only 2 is neither the sender (1) nor the joiner (50); 50 is already active: not passive.
  assert.deepEqual(io.take(), [['send', 2, { type: 'forward-join', peer: 50, ttl: 2 }]]);
  assert.deepEqual(hv.passiveView(), []);
  hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 3 }, 0);
  const out = io.take();
  assert.equal(out.length, 1);
  const to = out[0][1] as number;
  assert.ok(to === 2 || to === 50);
  assert.deepEqual(out, [['send', to, { type: 'forward-join', peer: 9, ttl: 2 }]]);
  assert.deepEqual(hv.passiveView(), [9]);
});

test('FORWARDJOIN above PRWL: forwarded only, ttl clamped to ARWL', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 99 }, 0);
  assert.deepEqual(io.take(), [['send', 2, { type: 'forward-join', peer: 9, ttl: 5 }]]);
  assert.deepEqual(hv.passiveView(), []);
});

test('NEIGHBOR: high evicts when full, low accepted with room, low rejected when full', () => {
  const { hv, io, rng } = mk(0);
  withActive(hv, io, [1, 2, 3, 4]);
  hv.handleMessage(8, LOW, 0);
  assert.deepEqual(io.take(), [['connect', 8], ['up', 8], ['send', 8, ACCEPT]]);
  hv.handleMessage(9, LOW, 0);
  assert.deepEqual(io.take(), [['send', 9, REJECT]]);
  hv.handleMessage(2, LOW, 0); // already a neighbour: plain accept
  assert.deepEqual(io.take(), [['send', 2, ACCEPT]]);
  hv.handleMessage(9, HIGH, 0);
  const victim = [1, 2, 3, 4, 8][rng.ints[rng.ints.length - 1]];
  assert.deepEqual(io.take(), [
    ['send', victim, DISC_ALIVE],
    ['down', victim, 'evicted'],
    ['disconnect', victim],
    ['connect', 9],
    ['up', 9],
    ['send', 9, ACCEPT],
  ]);
  assert.equal(hv.activeView().length, 5);
  assert.deepEqual(hv.passiveView(), [victim]);
});

test('DISCONNECT alive=false: removed, not kept in passive; nothing to refill', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  hv.handleMessage(2, DISC_DEAD, 0);
  assert.deepEqual(io.take(), [['down', 2, 'disconnected'], ['disconnect', 2]]);
  assert.deepEqual(hv.activeView(), [1]);
  assert.deepEqual(hv.passiveView(), []);
});

test('DISCONNECT alive=true: sender to passive, refill asks another peer; a reject waits for the next period', () => {
  const { hv, io } = mk(0, { activeViewSize: 2 });
  withActive(hv, io, [1, 2]);
  withPassive(hv, io, 7, [8]);
  hv.handleTimer({ type: 'hv-shuffle' }, 0); // grants this period's promotion budget
  io.take();
  hv.handleMessage(2, DISC_ALIVE, 0);
  const out = io.take();
  const a = out[2][1] as number;
  const b = a === 7 ? 8 : 7;
  assert.ok(a === 7 || a === 8);
  assert.deepEqual(out, [['down', 2, 'disconnected'], ['disconnect', 2], ['connect', a], ['send', a, LOW], timeout(a, 1)]);
  assert.deepEqual(sorted(hv.passiveView()), [2, b]);
  // a rejects: it stays in passive; the active view is not empty, so nobody else is asked now.
  hv.handleMessage(a, REJECT, 0);
  assert.deepEqual(io.take(), [['disconnect', a]]);
  assert.deepEqual(sorted(hv.passiveView()), sorted([2, a, b]));
  // The last neighbour evicts us too: an empty view retries at once, high priority, to the one
  // peer that has not turned us down (b).
  hv.handleMessage(1, DISC_ALIVE, 10);
  assert.deepEqual(io.take(), [['down', 1, 'disconnected'], ['disconnect', 1], ['connect', b], ['send', b, HIGH], timeout(b, 2)]);
  // A stale timeout is ignored; b accepts.
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: a, seq: 1 }, 1000);
  assert.deepEqual(io.take(), []);
  hv.handleMessage(b, ACCEPT, 20);
  assert.deepEqual(io.take(), [['connect', b], ['up', b]]);
  assert.deepEqual(hv.activeView(), [b]);
  // Unsolicited reject: ignored.
  hv.handleMessage(77, REJECT, 1100);
  assert.deepEqual(io.take(), []);
});

test('link down: reactive repair from passive; a dead passive peer is dropped and another tried', () => {
  const { hv, io } = mk(0, { activeViewSize: 2 });
  withActive(hv, io, [1, 2]);
  withPassive(hv, io, 7, [8]);
  hv.handleLinkDown(2, 5);
  const out = io.take();
  const a = out[2][1] as number;
  const b = a === 7 ? 8 : 7;
  assert.deepEqual(out, [['down', 2, 'link-failed'], ['disconnect', 2], ['connect', a], ['send', a, LOW], timeout(a, 1)]);
  hv.handleLinkDown(a, 6); // the connect to a failed
  assert.deepEqual(io.take(), [['disconnect', a], ['connect', b], ['send', b, LOW], timeout(b, 2)]);
  assert.deepEqual(hv.passiveView(), []);
  hv.handleMessage(b, ACCEPT, 7);
  assert.deepEqual(io.take(), [['connect', b], ['up', b]]);
  assert.deepEqual(hv.activeView(), [1, b]);
  // A link-down for an unknown peer changes nothing.
  hv.handleLinkDown(42, 8);
  assert.deepEqual(io.take(), []);
});

test('active view emptied: one high-priority NEIGHBOR, the rest low', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1]);
  withPassive(hv, io, 7, [8]);
  hv.handleLinkDown(1, 0);
  const out = io.take();
  const a = out[2][1] as number;
  const b = a === 7 ? 8 : 7;
  assert.deepEqual(out, [
    ['down', 1, 'link-failed'],
    ['disconnect', 1],
    ['connect', a],
    ['send', a, HIGH],
    timeout(a, 1),
    ['connect', b],
    ['send', b, LOW],
    timeout(b, 2),
  ]);
});

test('both views empty: hv-repair retries the contacts with jittered exponential backoff', () => {
  const { hv, io, rng } = mk(9);
  hv.join([0, 5], 0);
  io.take();
  hv.handleLinkDown(0, 1);
  assert.deepEqual(io.take(), [['disconnect', 0], ['connect', 5], ['send', 5, { type: 'join' }], timeout(5, 2)]);
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: 5, seq: 2 }, 1000);
  const u0 = (): number => rng.nexts[rng.nexts.length - 1];
  assert.deepEqual(io.take(), [
    ['disconnect', 5],
    ['timer', Math.floor(1000 * (0.5 + 0.5 * u0())), { type: 'hv-repair', attempt: 0 }],
  ]);
  hv.handleTimer({ type: 'hv-repair', attempt: 0 }, 2000);
  assert.deepEqual(io.take(), [
    ['connect', 0],
    ['send', 0, { type: 'join' }],
    timeout(0, 3),
    ['timer', Math.floor(2000 * (0.5 + 0.5 * u0())), { type: 'hv-repair', attempt: 1 }],
  ]);
  hv.handleTimer({ type: 'hv-repair', attempt: 0 }, 2100); // stale
  assert.deepEqual(io.take(), []);
  hv.handleLinkDown(0, 2200);
  assert.deepEqual(io.take(), [['disconnect', 0], ['connect', 5], ['send', 5, { type: 'join' }], timeout(5, 4)]);
  hv.handleLinkDown(5, 2300); // all contacts failed again; the backoff timer is already armed
  assert.deepEqual(io.take(), [['disconnect', 5]]);
  hv.handleTimer({ type: 'hv-repair', attempt: 1 }, 4000);
  assert.deepEqual(io.take(), [
    ['connect', 0],
    ['send', 0, { type: 'join' }],
    timeout(0, 5),
    ['timer', Math.floor(4000 * (0.5 + 0.5 * u0())), { type: 'hv-repair', attempt: 2 }],
  ]);
  hv.handleMessage(0, ACCEPT, 4100);
  assert.deepEqual(io.take(), [['connect', 0], ['up', 0]]);
  hv.handleTimer({ type: 'hv-repair', attempt: 2 }, 9000); // healed: the loop stops
  assert.deepEqual(io.take(), []);
});

test('backoff is capped at repairMaxMs', () => {
  const { hv, io, rng } = mk(9, { repairBaseMs: 100, repairMaxMs: 300 });
  hv.join([0], 0);
  io.take();
  hv.handleLinkDown(0, 1);
  let out = io.take();
  for (let attempt = 0; attempt < 5; attempt++) {
    const u = rng.nexts[rng.nexts.length - 1];
    const delay = Math.floor(Math.min(300, 100 * 2 ** attempt) * (0.5 + 0.5 * u));
    assert.deepEqual(out[out.length - 1], ['timer', delay, { type: 'hv-repair', attempt }]);
    hv.handleTimer({ type: 'hv-repair', attempt }, 1000 * (attempt + 1));
    out = io.take();
    assert.deepEqual(out.slice(0, 2), [['connect', 0], ['send', 0, { type: 'join' }]]);
    hv.handleLinkDown(0, 1000 * (attempt + 1) + 1);
    assert.deepEqual(io.take(), [['disconnect', 0]]);
  }
});

test('shuffle timer: ka active + kp passive ids to a random active member, walk length 6', () => {
  const { hv, io, rng } = mk(0);
  withActive(hv, io, [1, 2, 3, 4, 5]);
  withPassive(hv, io, 7, [8, 9, 10, 11]);
  const n0 = rng.nexts.length;
  hv.handleTimer({ type: 'hv-shuffle' }, 10000);
  const out = io.take();
  assert.deepEqual(out[0], ['timer', Math.floor(10000 * (0.5 + rng.nexts[n0])), { type: 'hv-shuffle' }]);
  assert.equal(out.length, 2);
  const [kind, target, msg] = out[1] as [string, number, HyParViewMessage<number> & { type: 'shuffle' }];
  assert.equal(kind, 'send');
  assert.equal(target, [1, 2, 3, 4, 5][rng.ints[rng.ints.length - 8]]);
  assert.equal(msg.type, 'shuffle');
  assert.equal(msg.origin, 0);
  assert.equal(msg.ttl, 6);
  assert.equal(msg.peers.length, 7);
  const act = msg.peers.slice(0, 3);
  const pas = msg.peers.slice(3);
  assert.equal(new Set(act).size, 3);
  assert.ok(act.every((p) => p !== target && [1, 2, 3, 4, 5].includes(p)));
  assert.equal(new Set(pas).size, 4);
  assert.ok(pas.every((p) => [7, 8, 9, 10, 11].includes(p)));
});

test('shuffle timer with a short active view promotes a passive peer first', () => {
  const { hv, io } = mk(0, { activeViewSize: 2, shuffleActive: 0, shufflePassive: 0 });
  withActive(hv, io, [1]);
  withPassive(hv, io, 7, []);
  hv.handleTimer({ type: 'hv-shuffle' }, 10000);
  const out = io.take();
  assert.deepEqual(out.slice(1), [
    ['connect', 7],
    ['send', 7, LOW],
    timeout(7, 1),
    ['send', 1, { type: 'shuffle', origin: 0, peers: [], ttl: 6 }],
  ]);
});

test('shuffle receiver: forwards while ttl-1 > 0 (not to sender or origin); accepts otherwise', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2, 50]);
  hv.handleMessage(1, { type: 'shuffle', origin: 50, peers: [51, 52], ttl: 6 }, 0);
  assert.deepEqual(io.take(), [['send', 2, { type: 'shuffle', origin: 50, peers: [51, 52], ttl: 5 }]]);
  // ttl 1 → accept: reply with |peers|+1 passive ids (here all 3 it has), merge origin + peers.
  const b = mk(0);
  withActive(b.hv, b.io, [1, 2]);
  withPassive(b.hv, b.io, 7, [8, 9]);
  b.hv.handleMessage(1, { type: 'shuffle', origin: 60, peers: [61, 0, 1, 7], ttl: 1 }, 0);
  const out = b.io.take();
  assert.equal(out.length, 1);
  const reply = out[0] as [string, number, { type: string; peers: number[] }];
  assert.equal(reply[0], 'send');
  assert.equal(reply[1], 60);
  assert.equal(reply[2].type, 'shuffle-reply');
  assert.deepEqual(sorted(reply[2].peers), [7, 8, 9]);
  // Self (0), an active member (1) and a known passive id (7) are skipped.
  assert.deepEqual(sorted(b.hv.passiveView()), [7, 8, 9, 60, 61]);
  // A single active member: the walk stops here whatever its ttl.
  const c = mk(0);
  withActive(c.hv, c.io, [1]);
  c.hv.handleMessage(1, { type: 'shuffle', origin: 60, peers: [], ttl: 5 }, 0);
  assert.deepEqual(c.io.take(), [['send', 60, { type: 'shuffle-reply', peers: [] }]]);
  assert.deepEqual(c.hv.passiveView(), [60]);
});

test('shuffle merge at the receiver evicts first the ids it sent back', () => {
  const { hv, io } = mk(0, { passiveViewSize: 3 });
  withActive(hv, io, [1]);
  withPassive(hv, io, 7, [8, 9]);
  hv.handleMessage(1, { type: 'shuffle', origin: 50, peers: [51], ttl: 1 }, 0);
  const out = io.take();
  const sent = (out[0][2] as { peers: number[] }).peers;
  assert.equal(sent.length, 2);
  const kept = [7, 8, 9].filter((p) => !sent.includes(p));
  assert.deepEqual(sorted(hv.passiveView()), sorted([...kept, 50, 51]));
});

test('shuffle reply at the origin: merged, evicting first the ids we sent; unsolicited reply ignored', () => {
  const { hv, io } = mk(0, { activeViewSize: 1, passiveViewSize: 3 });
  withActive(hv, io, [1]);
  withPassive(hv, io, 7, [8, 9]);
  hv.handleTimer({ type: 'hv-shuffle' }, 0);
  const out = io.take();
  const msg = out[1][2] as { type: string; peers: number[] };
  assert.deepEqual(out[1].slice(0, 2), ['send', 1]);
  assert.deepEqual(sorted(msg.peers), [7, 8, 9]);
  hv.handleMessage(60, { type: 'shuffle-reply', peers: [60, 61, 0] }, 1);
  assert.deepEqual(io.take(), []);
  assert.deepEqual(sorted(hv.passiveView()), sorted([msg.peers[2], 60, 61]));
  hv.handleMessage(60, { type: 'shuffle-reply', peers: [70, 71] }, 2);
  assert.deepEqual(sorted(hv.passiveView()), sorted([msg.peers[2], 60, 61]));
});

test('leave: DISCONNECT alive=false to every neighbour, then inert', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  withPassive(hv, io, 7, []);
  hv.leave(0);
  assert.deepEqual(io.take(), [
    ['send', 1, DISC_DEAD],
    ['down', 1, 'leaving'],
    ['disconnect', 1],
    ['send', 2, DISC_DEAD],
    ['down', 2, 'leaving'],
    ['disconnect', 2],
  ]);
  assert.deepEqual(hv.activeView(), []);
  assert.deepEqual(hv.passiveView(), []);
  hv.handleMessage(3, { type: 'join' }, 1);
  hv.handleMessage(3, HIGH, 1);
  hv.handleTimer({ type: 'hv-shuffle' }, 1);
  hv.handleLinkDown(1, 1);
  hv.join([5], 1);
  hv.leave(2);
  assert.deepEqual(io.take(), []);
});

test('self and nonsense are ignored', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  hv.handleMessage(0, { type: 'join' }, 0);
  hv.handleMessage(0, HIGH, 0);
  hv.handleMessage(1, { type: 'forward-join', peer: 0, ttl: 0 }, 0);
  hv.handleMessage(1, { type: 'shuffle', origin: 0, peers: [5], ttl: 1 }, 0);
  hv.handleMessage(1, { type: 'shuffle-reply', peers: [5] }, 0);
  hv.handleMessage(5, DISC_ALIVE, 0);
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: 3, seq: 99 }, 0);
  hv.handleTimer({ type: 'hv-repair', attempt: 0 }, 0);
  hv.handleLinkDown(0, 0);
  assert.deepEqual(io.take(), []);
  assert.deepEqual(hv.activeView(), [1, 2]);
  assert.deepEqual(hv.passiveView(), []);
});

test('config validation', () => {
  assert.deepEqual(validateHyParViewConfig(DEFAULT_HYPARVIEW_CONFIG), { ok: true, config: DEFAULT_HYPARVIEW_CONFIG });
  const bad = (over: Record<string, unknown>): string => {
    const r = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, ...over } as HyParViewConfig);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.reason;
  };
  assert.equal(bad({ activeViewSize: 0 }), 'activeViewSize: expected an integer >= 1, got 0');
  assert.equal(bad({ passiveViewSize: 2.5 }), 'passiveViewSize: expected an integer >= 1, got 2.5');
  assert.equal(bad({ arwl: 'six' }), 'arwl: expected an integer >= 0, got "six"');
  assert.equal(bad({ prwl: 7 }), 'prwl: expected an integer <= arwl (6), got 7');
  assert.equal(bad({ shuffleTtl: 0 }), 'shuffleTtl: expected an integer >= 1, got 0');
  assert.equal(bad({ shufflePassive: -1 }), 'shufflePassive: expected an integer >= 0, got -1');
  assert.equal(bad({ shuffleIntervalMs: 0 }), 'shuffleIntervalMs: expected a finite number of milliseconds > 0, got 0');
  assert.equal(bad({ neighborTimeoutMs: Infinity }), 'neighborTimeoutMs: expected a finite number of milliseconds > 0, got Infinity');
  assert.equal(bad({ repairMaxMs: 10 }), 'repairMaxMs: expected a number >= repairBaseMs (1000), got 10');
});

test('mini network: 50 nodes join, views symmetric; 50% killed, survivors refill and stay symmetric', () => {
  const seed = Number(process.env.SEED ?? 7);
  const net = new MiniNet(50, seed);
  const pick = new Sfc32(seed ^ 0x5eed);
  net.nodes[0].join([], 0);
  for (let i = 1; i < 50; i++) {
    net.nodes[i].join([pick.int(i)], net.now);
    net.drain();
  }
  net.runUntil(60_000);
  const before = net.check(5);
  assert.ok(before >= 4, `mean active view after joins ${before}`);

  const order = Array.from({ length: 50 }, (_, i) => i);
  for (let i = 49; i > 0; i--) {
    const j = pick.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const x of order.slice(0, 25)) net.kill(x);
  net.drain(); // reactive repair alone, before any timer fires
  const repaired = net.check(5);
  assert.ok(repaired >= 4, `mean active view right after the failures: ${repaired}`);
  net.runUntil(120_000);
  const after = net.check(5);
  if (process.env.RUMOR_VERBOSE) console.log(`seed ${seed}: mean active ${before.toFixed(2)} -> ${repaired.toFixed(2)} -> ${after.toFixed(2)}`);
  assert.ok(after >= 4, `mean active view after killing half: ${after}`);
});

test('the shared empty list (NONE) is never written: a fleet joining at once through one list, then half killed', () => {
  // Every request, rejection and held joiner list of every machine starts as, and returns to,
  // the one shared empty array: a push into it would give every machine a phantom entry.
  const net = new MiniNet(40, 3);
  const fleet = Array.from({ length: 40 }, (_, i) => i);
  for (let i = 0; i < 40; i++) net.nodes[i].join(fleet.slice(0, 5), 0); // held joiners: contacts joining each other
  net.runUntil(30_000);
  assert.ok(net.check(5) >= 3, 'the fleet formed an overlay');
  for (let x = 0; x < 40; x += 2) net.kill(x);
  net.runUntil(90_000);
  assert.ok(net.check(5) >= 3, 'the survivors refilled their views');
  for (let i = 1; i < 40; i += 2) net.nodes[i].leave(90_000);
  assert.equal(NONE.length, 0, `NONE was written: ${JSON.stringify(NONE)}`);
});

test('parallel requests keep their own sequence number, kind and priority (one info array per machine)', () => {
  // An isolated node with five passive peers asks all five at once: one high-priority NEIGHBOR
  // (only one high request is outstanding at a time), then low ones. Each request's timeout
  // carries its own sequence number, and a timeout with another request's number does nothing.
  const { hv, io } = mk(0);
  withPassive(hv, io, 1, [2, 3, 4, 5]);
  // The shuffle tick refills an empty active view: five requests, the first high.
  hv.handleTimer({ type: 'hv-shuffle' }, 0);
  const out = io.take();
  const sends = out.filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'neighbor');
  assert.equal(sends.length, 5);
  assert.deepEqual(sends.map((o) => (o[2] as { priority: string }).priority), ['high', 'low', 'low', 'low', 'low']);
  const timers = out.filter((o) => o[0] === 'timer' && (o[2] as { type: string }).type === 'hv-neighbor-timeout') as ['timer', number, { peer: number; seq: number }][];
  assert.deepEqual(timers.map((t) => t[2].seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(timers.map((t) => t[2].peer), sends.map((s) => s[1]));
  // A timeout naming peer p with another request's sequence number is stale.
  const [p1, p2] = [timers[0][2].peer, timers[1][2].peer];
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: p1, seq: 2 }, 1000);
  assert.deepEqual(io.take(), []);
  // The second (low) request answers first; then the high one times out: dropped as failed,
  // and with no passive peer left nothing more is asked.
  hv.handleMessage(p2, ACCEPT, 10);
  assert.deepEqual(io.take(), [['connect', p2], ['up', p2]]);
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: p1, seq: 1 }, 1000);
  assert.deepEqual(io.take(), [['disconnect', p1]]);
  assert.deepEqual(hv.activeView(), [p2]);
  // The three low requests are still outstanding: their accepts are taken.
  for (const t of timers.slice(2)) hv.handleMessage(t[2].peer, ACCEPT, 20);
  assert.deepEqual(sorted(hv.activeView()), sorted([p2, ...timers.slice(2).map((t) => t[2].peer)]));
});

test("the shared empty list (NONE) is never written in 'cut-off' mode (walk ends remembered) nor by a node with no contacts", () => {
  const cfg = { ...DEFAULT_HYPARVIEW_CONFIG, bootstrapRejoin: 'cut-off' as const };
  const net = new MiniNet(30, 7, cfg);
  net.nodes[0].join([], 0); // the first node: no contact, its list stays the shared empty one
  for (let i = 1; i < 30; i++) net.nodes[i].join([0, i - 1], i * 5);
  net.runUntil(30_000);
  assert.ok(net.check(5) >= 3, 'the fleet formed an overlay');
  for (let x = 1; x < 30; x += 3) net.kill(x);
  net.runUntil(60_000);
  assert.equal(NONE.length, 0, `NONE was written: ${JSON.stringify(NONE)}`);
});
