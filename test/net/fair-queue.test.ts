// Fair queueing of inbound gossip (src/net/fair-queue.ts; issue 13 §2): the scheduler's order
// and bounds, and on loopback that an honest message is not held behind a flooder's backlog,
// that the flooder is quarantined, and that a neighbour relaying a flood is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, type RumorNode } from '../../src/index.js';
import { FairInbound, type GossipFrame } from '../../src/net/fair-queue.js';
import { encodeEnvelope, encodeFrame, messageIdFor } from '../../src/wire/index.js';
import { fakePeer, testOptions, waitUntil, type FakePeer } from './helpers.js';

function gossip(origin: string, seq: number, channel = 'flood'): GossipFrame {
  const payload = encodeEnvelope({ origin, seq, channel, timestamp: Date.now(), data: new Uint8Array(64) });
  return { type: 'gossip', id: messageIdFor(payload), round: 0, payload };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('fair queue: runs at once while idle, then serves links and origins round robin within the turn budget', async () => {
  const order: string[] = [];
  const fq = new FairInbound({ turnBudget: 2, maxOriginFrames: 3, maxLinkFrames: 5, hotShare: 100, youngLinkDrops: 4096, catchUpBudget: 64, expressPerTurn: 0, quietMs: 10 }, (peer, m) => order.push(`${peer}:${new TextDecoder().decode((m as GossipFrame).payload.subarray(2, 3))}`));
  const f = (o: string, s: number): GossipFrame => gossip(o, s);
  // Budget 2: the first two run at once (the caller runs them), the rest queue.
  assert.equal(fq.offer('A', 'a', f('a', 0), 0), 'run');
  assert.equal(fq.offer('A', 'a', f('a', 1), 0), 'run');
  for (let i = 2; i < 5; i++) assert.equal(fq.offer('A', 'a', f('a', i), 0), 'queued');
  // Origin bound (3) reached on link A for origin a; another origin on A still fits (link bound 5).
  assert.equal(fq.offer('A', 'a', f('a', 5), 0), 'full-origin');
  assert.equal(fq.offer('A', 'x', f('x', 0), 0), 'queued');
  assert.equal(fq.offer('A', 'y', f('y', 0), 0), 'queued');
  assert.equal(fq.offer('A', 'z', f('z', 0), 0), 'full-link');
  assert.equal(fq.offer('B', 'b', f('b', 0), 0), 'queued');
  // `over` (the caller holds the link's reads instead of dropping): queued past both bounds.
  assert.equal(fq.offer('A', 'a', f('a', 6), 0, undefined, true), 'queued');
  assert.deepEqual({ ...fq.stats, dropped: { ...fq.stats.dropped } }, { queued: 7, express: 0, expressMissed: 0, dropped: { origin: 1, link: 1 }, unread: 0, held: 0, over: 1, depth: 7, maxDepth: 7, passes: 0, catchUpPasses: 0, catchUpFrames: 0 });
  // One pass per turn, two frames each: links alternate (A, B), origins inside A alternate.
  await tick();
  assert.equal(order.length, 2);
  for (let i = 0; i < 10 && fq.stats.depth > 0; i++) await tick();
  assert.equal(fq.stats.depth, 0, 'the queue drains');
  // Envelope byte 2 is the origin's first character: A's origins a, x, y take turns; B's b comes second.
  assert.deepEqual(order, ['A:a', 'B:b', 'A:x', 'A:y', 'A:a', 'A:a', 'A:a']);
  // Three passes of 2 and one of 1 (the 7 queued frames), none at the catch-up budget.
  assert.deepEqual([fq.stats.passes, fq.stats.catchUpPasses, fq.stats.catchUpFrames], [4, 0, 0]);
  fq.close();
});

test('fair queue: a pass that starts more than 4 × catchUpBudget behind serves the catch-up budget, and is counted', async () => {
  let ran = 0;
  const fq = new FairInbound({ turnBudget: 2, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 100, youngLinkDrops: 4096, catchUpBudget: 4, expressPerTurn: 0, quietMs: 10 }, () => ran++);
  for (let i = 0; i < 2; i++) assert.equal(fq.offer('A', 'a', gossip('a', i), 0), 'run');
  for (let i = 2; i < 22; i++) assert.equal(fq.offer('A', 'a', gossip('a', i), 0), 'queued');
  // 20 waiting (> 16): the first pass serves 4; then 16 (not > 16): 2 a pass.
  await tick();
  assert.equal(ran, 4);
  for (let i = 0; i < 20 && fq.stats.depth > 0; i++) await tick();
  assert.equal(ran, 20);
  assert.deepEqual([fq.stats.passes, fq.stats.catchUpPasses, fq.stats.catchUpFrames], [9, 1, 4]);
  fq.close();
});

test('fair queue: queues emptied and reused for another link or origin serve their own frames in order, at the full budget', async () => {
  const order: string[] = [];
  const fq = new FairInbound({ turnBudget: 8, maxOriginFrames: 2, maxLinkFrames: 100, hotShare: 2, youngLinkDrops: 4096, catchUpBudget: 64, expressPerTurn: 0, quietMs: 10 }, (peer, m) => {
    const p = (m as GossipFrame).payload;
    order.push(`${peer}:${new TextDecoder().decode(p.subarray(2, 3))}${p[3]}`);
  });
  // Spend the turn's budget (8 runs as read, alternating origins), so that what follows waits.
  const spend = (peer: string, n: number): void => {
    for (let i = 0; i < n; i++) assert.equal(fq.offer(peer, i % 2 ? 'd' : 'e', gossip(i % 2 ? 'd' : 'e', i), 0), 'run');
  };
  spend('D', 8);
  // Origin a on A overflows (hot) and is drained by the next pass: its queues are emptied.
  for (let i = 0; i < 2; i++) assert.equal(fq.offer('A', 'a', gossip('a', i), 0), 'queued');
  assert.equal(fq.offer('A', 'a', gossip('a', 2), 0), 'full-origin');
  await tick();
  assert.deepEqual(order, ['A:a0', 'A:a1']);
  // In the same turn: a new link B with a new origin c, and b on it; then a on A again.
  order.length = 0;
  spend('D', 6); // the pass spent 2 of this turn's 8
  for (let i = 0; i < 2; i++) assert.equal(fq.offer('B', 'c', gossip('c', 10 + i), 0), 'queued');
  assert.equal(fq.offer('B', 'b', gossip('b', 20), 0), 'queued');
  for (let i = 0; i < 2; i++) assert.equal(fq.offer('A', 'a', gossip('a', 30 + i), 0), 'queued');
  await tick();
  // One pass (budget 8) serves all five, links and origins round robin, each origin in order.
  assert.deepEqual(order, ['B:c10', 'A:a30', 'B:b20', 'A:a31', 'B:c11']);
  assert.equal(fq.stats.depth, 0);
  fq.close();
});

test('fair queue: a dropped link loses its queued frames, and is served again when it comes back', async () => {
  const order: string[] = [];
  const fq = new FairInbound({ turnBudget: 1, maxOriginFrames: 10, maxLinkFrames: 10, hotShare: 100, youngLinkDrops: 4096, catchUpBudget: 64, expressPerTurn: 0, quietMs: 10 }, (peer) => order.push(peer));
  assert.equal(fq.offer('A', 'a', gossip('a', 0), 0), 'run');
  for (let i = 1; i < 4; i++) fq.offer('A', 'a', gossip('a', i), 0);
  fq.offer('B', 'b', gossip('b', 0), 0);
  fq.dropLink('A');
  assert.equal(fq.stats.depth, 1);
  fq.offer('A', 'a', gossip('a', 9), 0);
  for (let i = 0; i < 10 && fq.stats.depth > 0; i++) await tick();
  assert.deepEqual(order, ['A', 'B'], 'only the frame offered after the drop runs, then B');
  fq.close();
});

test('fair queue: hotShare frames of one origin run as read; an origin that overflowed is served at most hotShare per turn, then the full budget once it stops', async () => {
  const order: string[] = [];
  const fq = new FairInbound({ turnBudget: 8, maxOriginFrames: 10, maxLinkFrames: 100, hotShare: 2, youngLinkDrops: 4096, catchUpBudget: 64, expressPerTurn: 0, quietMs: 10 }, (peer) => order.push(peer));
  // A burst of one origin: 2 run as read (budget 8), the rest wait for the turn's pass.
  for (let i = 0; i < 2; i++) assert.equal(fq.offer('A', 'a', gossip('a', i), 0), 'run');
  for (let i = 2; i < 12; i++) assert.equal(fq.offer('A', 'a', gossip('a', i), 0), 'queued');
  assert.equal(fq.offer('A', 'a', gossip('a', 12), 0), 'full-origin', 'origin a overflows: hot');
  for (let i = 0; i < 3; i++) assert.equal(fq.offer('B', 'b', gossip('b', i), 0), 'queued');
  await tick();
  // First pass: a is hot (overflowed in the turn before), so 2 of its frames; B's 3 all run.
  assert.deepEqual([...order].sort(), ['A', 'A', 'B', 'B', 'B']);
  await tick();
  // Second pass: no overflow in the last turn, a gets the whole budget (its last 8).
  assert.equal(order.length, 13);
  assert.deepEqual(order.slice(5), Array(8).fill('A'));
  assert.equal(fq.stats.depth, 0);
  fq.close();
});

test('fair queue: markHot serves an origin at the hot share in the next pass, then at the full budget', async () => {
  const order: string[] = [];
  const fq = new FairInbound({ turnBudget: 8, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 2, youngLinkDrops: 4096, catchUpBudget: 64, expressPerTurn: 0, quietMs: 10 }, (peer) => order.push(peer));
  // 20 frames of A's own origin: 2 run as read (the caller runs them), 18 queue; marked hot
  // (as gossip-inbound.ts marks a young link's own messages).
  const offers = Array.from({ length: 20 }, (_, i) => fq.offer('A', 'A', gossip('A', i), 0));
  assert.equal(offers.filter((r) => r === 'run').length, 2);
  order.push('A', 'A');
  fq.markHot('A', 'A');
  await tick();
  assert.equal(order.length, 4, 'hot: 2 served in the next pass');
  await tick();
  assert.equal(order.length, 12, 'not marked again: the full budget of 8');
  fq.close();
});

test('fair queue: a pass that starts with more than 4 × catchUpBudget frames waiting serves catchUpBudget, else turnBudget', async () => {
  let served = 0;
  const fq = new FairInbound({ turnBudget: 2, catchUpBudget: 8, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 100, youngLinkDrops: 4096, expressPerTurn: 0, quietMs: 10 }, () => served++);
  // Two links, so that the hot share never applies; 2 run as offered (the turn's budget).
  for (let i = 0; i < 20; i++) fq.offer('A', 'A', gossip('A', i), 0);
  for (let i = 0; i < 20; i++) fq.offer('B', 'B', gossip('B', i), 0);
  assert.equal(served, 0, 'the caller runs the frames offer returns "run" for');
  assert.equal(fq.stats.depth, 38);
  const perPass: number[] = [];
  for (let k = 0; k < 6; k++) {
    const before = served;
    await tick();
    perPass.push(served - before);
  }
  // 38 > 32 waiting: 8; then 30, 28, ... ≤ 32: 2 per pass.
  assert.deepEqual(perPass, [8, 2, 2, 2, 2, 2]);
  fq.close();
});

test('fair queue: while frames wait, a quiet origin with nothing queued on its link takes the express lane, at most expressPerTurn a turn', async () => {
  const served: string[] = [];
  const fq = new FairInbound({ turnBudget: 2, catchUpBudget: 64, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 100, youngLinkDrops: 4096, expressPerTurn: 2, quietMs: 10 }, (peer) => served.push(peer));
  // A busy origin f on link F: 2 run (the turn budget), its next 2 still fit its quiet burst
  // and take the lane, the rest wait; a pass serves 2 of them and opens a new turn.
  const first = Array.from({ length: 20 }, (_, i) => fq.offer('F', 'f', gossip('f', i), i * 0.05));
  assert.deepEqual(first.slice(0, 5), ['run', 'run', 'express', 'express', 'queued']);
  await tick();
  assert.equal(fq.stats.depth, 14);
  served.length = 0;
  // Not quiet (20 frames in 1 ms): f waits, on another link too.
  assert.equal(fq.wouldRun('G', 'f', 1), false);
  assert.equal(fq.offer('G', 'f', gossip('f', 10), 1), 'queued');
  // Quiet origins (never seen): the express lane, as wouldRun predicts, twice in this turn.
  assert.equal(fq.wouldRun('H', 'h', 1), true);
  assert.equal(fq.offer('H', 'h', gossip('h', 0), 1), 'express');
  assert.equal(fq.offer('I', 'i', gossip('i', 0), 1), 'express');
  // The lane's budget for this turn is spent: a third quiet origin waits.
  assert.equal(fq.wouldRun('J', 'j', 1), false);
  assert.equal(fq.offer('J', 'j', gossip('j', 0), 1), 'queued');
  assert.equal(fq.stats.express, 4);
  // Counted: a quiet origin's frame that missed the lane (the busy f's queued frames are not).
  assert.equal(fq.stats.expressMissed, 1);
  await tick();
  // A new turn (its pass served F and G, the first links in the ring; J's frame still waits):
  // j is quiet, but not on link J, where its older frame waits; on another link it takes
  // the lane again.
  assert.deepEqual(served, ['F', 'G']);
  assert.equal(fq.wouldRun('J', 'j', 50), false);
  assert.equal(fq.offer('J', 'j', gossip('j', 1), 50), 'queued');
  assert.equal(fq.offer('K', 'j', gossip('j', 2), 50), 'express');
  assert.equal(fq.stats.express, 5);
  assert.equal(fq.stats.expressMissed, 2);
  fq.close();
});

test('fair queue: an origin is quiet at one frame per quietMs with bursts of 4; a flood is not', () => {
  const fq = new FairInbound({ turnBudget: 1, catchUpBudget: 64, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 100, youngLinkDrops: 4096, expressPerTurn: 100, quietMs: 10 }, () => {});
  assert.equal(fq.offer('F', 'f', gossip('f', 0), 0), 'run');
  // A flood of f at 0.1 ms: its first frames (a burst of 4 at most) may take the lane, then none.
  const flood = Array.from({ length: 50 }, (_, i) => fq.offer('F', 'f', gossip('f', i + 1), 0.1 * (i + 1)));
  assert.ok(flood.filter((r) => r === 'express').length <= 4, flood.join());
  assert.deepEqual(flood.slice(4), Array(46).fill('queued'));
  // Six copies of h at once, on six links: four are quiet, then h is over its burst.
  const h = ['A', 'B', 'C', 'D', 'E', 'G'].map((l, i) => fq.offer(l, 'h', gossip('h', i), 100));
  assert.deepEqual(h, ['express', 'express', 'express', 'express', 'queued', 'queued']);
  // One more frame's room every 10 ms.
  assert.equal(fq.offer('H', 'h', gossip('h', 6), 130), 'express');
  assert.equal(fq.offer('I', 'h', gossip('h', 7), 130), 'queued');
  fq.close();
});

test('fair queue: expressPerTurn 0 closes the express lane', () => {
  const fq = new FairInbound({ turnBudget: 1, catchUpBudget: 64, maxOriginFrames: 100, maxLinkFrames: 100, hotShare: 100, youngLinkDrops: 4096, expressPerTurn: 0, quietMs: 10 }, () => {});
  assert.equal(fq.offer('F', 'f', gossip('f', 0), 0), 'run');
  assert.equal(fq.offer('F', 'f', gossip('f', 1), 0), 'queued');
  assert.equal(fq.wouldRun('H', 'h', 100), false);
  assert.equal(fq.offer('H', 'h', gossip('h', 0), 100), 'queued');
  assert.equal(fq.stats.express, 0);
  fq.close();
});

/** `count` gossip frames of `origin` written to `peer`'s socket in one write. */
function floodFrames(peer: FakePeer, origin: string, count: number): void {
  peer.socket.write(encodedFlood(origin, count));
}

/** `count` gossip frames of `origin`, encoded into one buffer. */
function encodedFlood(origin: string, count: number): Buffer {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const enc = encodeFrame(gossip(origin, i));
    if (!enc.ok) throw new Error(enc.reason);
    frames.push(enc.frame);
  }
  return Buffer.concat(frames);
}

const BUDGET = 32;

/** A node whose per-origin rate limit is `originBurst` messages (then 500/s). */
/** A node with fair queueing and limits, without the origin share (its cap would refuse the
 *  floods before they reach the queue whenever this machine's load makes the node busy; the
 *  share is tested in defences.test.ts and limits.test.ts). */
async function node(originBurst = 10_000, youngLinkDrops?: number): Promise<RumorNode> {
  const n = createNode(testOptions({ port: 0, defences: { fairQueue: { turnBudget: BUDGET, ...(youngLinkDrops === undefined ? {} : { youngLinkDrops }) }, limits: { originPerSec: 500, originBurst }, share: false } }));
  await n.start();
  return n;
}

async function welcomed(target: RumorNode, addr: string): Promise<FakePeer> {
  const p = await fakePeer(target.address, addr);
  await waitUntil(() => p.received.some((m) => m.type === 'welcome'), 5000, `welcome for ${addr}`);
  return p;
}

test('a flooder is quarantined and an honest message is not held behind its backlog', { timeout: 30_000 }, async () => {
  // 3,000 messages of its own against an origin limit of 1,000: a flood.
  const target = await node(1000);
  const peers: FakePeer[] = [];
  try {
    // Encoded before the peers connect: on a loaded machine the encoding of 3,000 frames can
    // outlast the `local` profile's 1 s idle close of the honest peer's quiet link.
    const flood3000 = encodedFlood('127.0.0.1:21', 3000);
    const flooder = await welcomed(target, '127.0.0.1:21');
    const honest = await welcomed(target, '127.0.0.1:22');
    peers.push(flooder, honest);
    let flood = 0;
    let floodBeforeHonest = -1;
    target.on('message', (d) => {
      if (d.channel === 'flood' && ++flood === 1) {
        // Inside the node's handling of the flooder's first socket read: without fair
        // queueing the honest frame would wait for the rest of that read (hundreds of frames).
        const enc = encodeFrame(gossip('127.0.0.1:22', 0, 'honest'));
        if (enc.ok) honest.socket.write(enc.frame);
      }
      if (d.channel === 'honest') floodBeforeHonest = flood;
    });
    flooder.socket.write(flood3000);
    await waitUntil(() => floodBeforeHonest >= 0, 10_000, 'the honest message delivered during the flood');
    await waitUntil(() => (target.stats().defences?.scores['127.0.0.1:21']?.quarantines ?? 0) === 1, 10_000, 'flooder quarantined');
    const d = target.stats().defences!;
    // The honest frame ran in the first pass after its read: at most a turn's budget of flood
    // frames ran in the flooder's read, plus one round robin pass (the flood link's share).
    assert.ok(floodBeforeHonest <= 3 * BUDGET, `${floodBeforeHonest} flood messages delivered before the honest one (bound ${3 * BUDGET})`);
    assert.ok(d.fairQueue !== null && d.fairQueue.dropped.origin >= 100, JSON.stringify(d.fairQueue));
    // Once its queue was full, the flooder's own frames were dropped from their header alone.
    assert.ok(d.fairQueue.unread > 0, `frames dropped unread: ${JSON.stringify(d.fairQueue)}`);
    // Its 3,000 frames came in one write, read in slices: its socket was held between turns
    // once a turn's read budget (128 decoded or 1,024 skimmed frames of its own) was spent.
    assert.ok(d.fairQueue.held > 0, `the flooder's socket was held: ${JSON.stringify(d.fairQueue)}`);
    // Its queued backlog (up to 1,024 frames) was dropped at the quarantine, not served.
    assert.ok(flood < 1024, `${flood} flood messages delivered`);
    assert.ok(flood < 3000, `the flooder's backlog was dropped (${flood} of 3000 delivered)`);
    assert.equal(d.scores['127.0.0.1:22']?.quarantines ?? 0, 0, 'the honest peer is not quarantined');
    await waitUntil(() => flooder.closed, 5000, 'flooder disconnected');
  } finally {
    for (const p of peers) p.socket.destroy();
    await target.close();
  }
});

test('relayed gossip queued undecoded: an honest frame behind a relayed flood in the same read runs early, a corrupted one is counted as bad when served', { timeout: 30_000 }, async () => {
  // A neighbour relays 600 messages of another origin and, in the same socket write, one
  // honest message; a relayed frame in the middle has a flipped payload byte (its header is
  // intact, so it is queued by its header and only fails its checksum when served).
  const target = await node();
  let relay: FakePeer | null = null;
  try {
    const before = encodedFlood('127.0.0.1:31', 300);
    const bad = encodedFlood('127.0.0.1:31', 301).subarray(before.length);
    bad[bad.length - 10] ^= 0xff; // a payload byte (the round and the checksum are the last 5)
    const flood = Buffer.concat([before, bad, encodedFlood('127.0.0.1:31', 600).subarray(before.length + bad.length)]);
    const enc = encodeFrame(gossip('127.0.0.1:32', 0, 'honest'));
    if (!enc.ok) throw new Error(enc.reason);
    relay = await welcomed(target, '127.0.0.1:30');
    let delivered = 0;
    let floodBeforeHonest = -1;
    target.on('message', (d) => {
      if (d.channel === 'flood') delivered++;
      if (d.channel === 'honest') floodBeforeHonest = delivered;
    });
    relay.socket.write(Buffer.concat([flood, enc.frame]));
    await waitUntil(() => floodBeforeHonest >= 0 && delivered === 599, 10_000, () => `honest delivered (${floodBeforeHonest} flood before it) and 599 of the 600 flood messages (${delivered})`);
    // Round robin per origin on the link: the honest origin is served in the first pass after
    // the read, not after the 600 frames ahead of it in the stream.
    assert.ok(floodBeforeHonest <= 2 * BUDGET, `${floodBeforeHonest} flood messages delivered before the honest one (bound ${2 * BUDGET})`);
    const st = target.stats();
    assert.equal(st.droppedFrames['bad-checksum'], 1, `the corrupted frame counted as bad: ${JSON.stringify(st.droppedFrames)}`);
    assert.ok((st.defences?.fairQueue?.queued ?? 0) >= 500, `the flood waited in the fair queue: ${JSON.stringify(st.defences?.fairQueue)}`);
    // The honest origin is quiet (its first frame): it ran at its read, in the express lane,
    // while the flood waited; the flood's origin (600 frames at once) never took the lane.
    assert.equal(st.defences?.fairQueue?.express, 1, `the honest frame took the express lane: ${JSON.stringify(st.defences?.fairQueue)}`);
    assert.equal(st.defences?.scores['127.0.0.1:30']?.quarantines ?? 0, 0, 'the relay is not quarantined');
  } finally {
    relay?.socket.destroy();
    await target.close();
  }
});

test('a young link whose own messages overflow by more than youngLinkDrops is quarantined before its origin burst is spent', { timeout: 30_000 }, async () => {
  // 3,000 of its own messages against an origin burst of 10,000: within the origin limit (the
  // next test shows such a burst is not scored with the default allowance, 4,096), but 256
  // drops are allowed on a link in its first second: past them each drop scores.
  const target = await node(10_000, 256);
  let flooder: FakePeer | null = null;
  try {
    const burst = encodedFlood('127.0.0.1:25', 3000);
    flooder = await welcomed(target, '127.0.0.1:25');
    let flood = 0;
    target.on('message', (d) => void (d.channel === 'flood' && flood++));
    flooder.socket.write(burst);
    await waitUntil(
      () => (target.stats().defences?.scores['127.0.0.1:25']?.quarantines ?? 0) === 1,
      10_000,
      () => `flooder quarantined on its young link (the link must still be under 1 s old when ~1,400 frames are read); ${JSON.stringify(target.stats().defences?.fairQueue)}`,
    );
    const d = target.stats().defences!;
    const dropped = d.fairQueue!.dropped.origin + d.fairQueue!.dropped.link;
    assert.ok(dropped > 256, `${dropped} dropped: more than the allowance before any score`);
    assert.ok(d.scores['127.0.0.1:25']!.counts['rate-excess'] >= 100, JSON.stringify(d.scores['127.0.0.1:25']));
    assert.equal(d.originExcess, 0, 'its origin never went over its rate limit');
    // Had the whole burst been read, at least 3,000 − 1,024 − 8 = 1,968 frames would have been
    // dropped; the quarantine cut the connection before.
    assert.ok(dropped < 1968 && flood < 3000, `the rest of the burst was never read: ${dropped} dropped, ${flood} delivered`);
    await waitUntil(() => flooder!.closed, 5000, 'flooder disconnected');
  } finally {
    flooder?.socket.destroy();
    await target.close();
  }
});

// Over a queue bound, a relay, and a peer's own message within its origin's rate on a link at
// least 1 s old, wait past the bound with the link's reads held (TCP holds the sender back):
// nothing is lost. A young link's own messages over the bound are dropped and charged (how a
// flooder is quarantined in its link's first second), here within the rate: never scored.
for (const [what, origin, ageMs, lossless] of [
  ['a neighbour relaying a flood of another origin is held back, loses nothing,', '127.0.0.1:9', 0, true],
  ['a publisher within its origin rate limit, ahead of a busy node, on a link older than 1 s, is held back, loses nothing,', '127.0.0.1:23', 1100, true],
  ['a publisher within its origin rate limit, ahead of a busy node, on a young link, loses its excess', '127.0.0.1:23', 0, false],
] as const) {
  test(`${what} and is not scored for it`, { timeout: 30_000 }, async () => {
  const target = await node();
  let relay: FakePeer | null = null;
  try {
    relay = await welcomed(target, '127.0.0.1:23');
    // The link ages; a control frame every 100 ms keeps the fake peer (which answers no
    // heartbeat) alive meanwhile.
    for (let t = 0; t < ageMs; t += 100) {
      relay.send({ type: 'prune' });
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(relay.closed, false, `still connected after ${ageMs} ms; received ${relay.received.map((m) => m.type).join(',')}`);
    let flood = 0;
    target.on('message', (d) => void (d.channel === 'flood' && flood++));
    floodFrames(relay, origin, 3000);
    // Handled when every frame was delivered or counted as dropped, not merely when the queue is
    // empty: on a loaded machine it empties while frames still wait unread in the socket (at
    // load 90: 2,569 of 3,000 accounted for at that moment).
    const accounted = (): number => {
      const q = target.stats().defences?.fairQueue;
      return q == null || q.depth !== 0 ? -1 : flood + q.dropped.origin + q.dropped.link;
    };
    await waitUntil(() => accounted() === 3000, 10_000, () => `flood handled: 3000 frames delivered or dropped, got ${accounted()} (delivered ${flood}; ${JSON.stringify(target.stats().defences?.fairQueue)})`);
    const d = target.stats().defences!;
    const fq = d.fairQueue!;
    if (lossless) {
      assert.equal(fq.dropped.origin + fq.dropped.link, 0, `nothing dropped: ${JSON.stringify(fq)}`);
      assert.equal(flood, 3000, 'every frame delivered');
      assert.ok(fq.over > 0 && fq.held > 0, `frames waited past the bound, the link's reads held: ${JSON.stringify(fq)}`);
    } else {
      assert.ok(fq.dropped.origin > 0, `excess over the origin bound dropped: ${JSON.stringify(fq)}`);
      assert.equal(fq.over, 0, `nothing waited past a bound: ${JSON.stringify(fq)}`);
    }
    assert.equal(flood + fq.dropped.origin + fq.dropped.link, 3000, 'every frame delivered or counted as dropped');
    assert.equal(d.scores['127.0.0.1:23']?.counts['rate-excess'] ?? 0, 0, 'the peer is not scored');
    assert.equal(d.quarantine.started, 0);
    assert.equal(relay.closed, false, 'the peer stays connected');
  } finally {
    relay?.socket.destroy();
    await target.close();
  }
});
}

test('on a link older than 1 s, a peer whose own messages overflow the queue past its origin rate is still scored and quarantined', { timeout: 30_000 }, async () => {
  // Burst 1,200 then 500/s: frames past the queue bound wait (the link's reads held, the
  // flooder served at the hot share) while the origin's bucket has tokens; once it is spent,
  // each one over the bound is dropped and scored.
  const target = await node(1200);
  let flooder: FakePeer | null = null;
  try {
    flooder = await welcomed(target, '127.0.0.1:26');
    for (let t = 0; t < 1100; t += 100) {
      flooder.send({ type: 'prune' });
      await new Promise((r) => setTimeout(r, 100));
    }
    floodFrames(flooder, '127.0.0.1:26', 6000);
    await waitUntil(
      () => (target.stats().defences?.scores['127.0.0.1:26']?.quarantines ?? 0) === 1,
      10_000,
      () => `flooder quarantined on its old link; ${JSON.stringify(target.stats().defences?.fairQueue)}`,
    );
    const fq = target.stats().defences!.fairQueue!;
    assert.ok(fq.over > 0, `frames waited past the bound first: ${JSON.stringify(fq)}`);
    assert.ok(fq.dropped.origin + fq.dropped.link > 0, `then were dropped over the rate: ${JSON.stringify(fq)}`);
    await waitUntil(() => flooder!.closed, 5000, 'flooder disconnected');
  } finally {
    flooder?.socket.destroy();
    await target.close();
  }
});

test('a peer publishing its own messages at a high but allowed rate is never scored or quarantined, and all are delivered', { timeout: 30_000 }, async () => {
  // Limits of node(): 500/s per origin, burst 1,000. The publisher opens with a burst of 600
  // (more than the queue of a busy turn: it waits, none dropped), then 400/s for 1.5 s, in
  // 10 ms steps of what is due (at most 200 at once if this process stalls).
  const target = await node(1000);
  let pub: FakePeer | null = null;
  try {
    pub = await welcomed(target, '127.0.0.1:24');
    let got = 0;
    target.on('message', (d) => void (d.channel === 'bulk' && got++));
    let sent = 0;
    const send = (n: number): void => {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const enc = encodeFrame(gossip('127.0.0.1:24', sent++, 'bulk'));
        if (!enc.ok) throw new Error(enc.reason);
        frames.push(enc.frame);
      }
      pub!.socket.write(Buffer.concat(frames));
    };
    send(600);
    const t0 = performance.now();
    const total = 600 + 600;
    while (sent < total) {
      await new Promise((r) => setTimeout(r, 10));
      const due = Math.min(total, 600 + Math.floor(((performance.now() - t0) * 400) / 1000));
      if (due > sent) send(Math.min(200, due - sent));
    }
    await waitUntil(() => got === total, 15_000, `all ${total} bulk messages delivered (got ${got})`);
    const d = target.stats().defences!;
    const score = d.scores['127.0.0.1:24'];
    assert.equal(score?.counts['rate-excess'] ?? 0, 0, 'no rate excess counted');
    assert.equal(score?.quarantines ?? 0, 0, 'not quarantined');
    assert.equal(d.originExcess, 0);
    assert.equal(d.fairQueue!.dropped.origin + d.fairQueue!.dropped.link, 0, 'nothing dropped');
    assert.equal(pub.closed, false, 'the publisher stays connected');
  } finally {
    pub?.socket.destroy();
    await target.close();
  }
});

test('fair queue: each origin is served in the order offered, with its time and source, across ring growth and wrap-around and after dropLink', async () => {
  const served: string[] = [];
  const fq = new FairInbound<string>({ turnBudget: 3, catchUpBudget: 3, maxOriginFrames: 1000, maxLinkFrames: 1000, hotShare: 100, youngLinkDrops: 4096, expressPerTurn: 0, quietMs: 10 }, (peer, m, at, src) => {
    served.push(`${peer}/${src}/${at}/${new TextDecoder().decode((m as GossipFrame).payload.subarray(2, 3))}`);
  });
  const want: string[] = [];
  const ORIGINS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  let seq = 0;
  // Fill (growing the rings past 4, 8, 16), drain partly (the head moves), fill again (wrap).
  for (const n of [3, 20, 5, 40, 2]) {
    for (let i = 0; i < n; i++) {
      const origin = ORIGINS[(i * 7 + seq) % ORIGINS.length];
      const at = seq++;
      const r = fq.offer('L', origin, gossip(origin, at), at, `s${at}`);
      if (r === 'run') served.push(`L/s${at}/${at}/${origin}`);
      want.push(`L/s${at}/${at}/${origin}`);
    }
    await tick(); // one pass: 3 served, the rest stay (an emptied origin queue is deleted)
  }
  while (fq.stats.depth > 0) await tick();
  // Per origin, the order offered (the link serves its origins round robin).
  for (const o of ORIGINS) assert.deepEqual(served.filter((x) => x.endsWith(`/${o}`)), want.filter((x) => x.endsWith(`/${o}`)), o);
  assert.equal(served.length, want.length);
  // A dropped link's frames are never served; the link queues again afterwards.
  const before = served.length;
  // (the first of them run as offered: the queue was empty; the caller would run them)
  for (let i = 0; i < 10; i++) fq.offer('M', 'c', gossip('c', i), 100 + i, 'm');
  assert.ok(fq.stats.depth > 0);
  fq.dropLink('M');
  assert.equal(fq.stats.depth, 0);
  await tick();
  assert.equal(served.length, before + 0);
  for (let i = 0; i < 10; i++) if (fq.offer('M', 'c', gossip('c', i), 200 + i, 'm2') === 'run') served.push(`M/m2/${200 + i}/c`);
  while (fq.stats.depth > 0) await tick();
  assert.deepEqual(served.slice(before), Array.from({ length: 10 }, (_, i) => `M/m2/${200 + i}/c`));
  fq.close();
});
