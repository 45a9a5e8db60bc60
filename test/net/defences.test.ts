// Loopback integration (issue 13 §2/§5): a peer sending garbage, forged ids, rejected
// messages or a flood is scored, disconnected and quarantined while honest broadcasts go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, type DefenceOptions, type RumorNode } from '../../src/index.js';
import { encodeEnvelope, messageIdFor } from '../../src/wire/index.js';
import { broadcastReachesAll, closeAll, connected, fakePeer, startCluster, waitUntil, type FakePeer } from './helpers.js';

async function attach(target: RumorNode, addr: string): Promise<FakePeer> {
  const fake = await fakePeer(target.address, addr);
  await waitUntil(() => fake.received.some((m) => m.type === 'welcome') || fake.closed, 5000, `welcome for ${addr}`);
  return fake;
}

function gossipOf(text: string, seq: number, origin = '127.0.0.1:9') {
  const payload = encodeEnvelope({ origin, seq, channel: 'default', timestamp: Date.now(), data: new TextEncoder().encode(text) });
  return { type: 'gossip' as const, id: messageIdFor(payload), round: 0, payload };
}

const OPTS = {
  defences: { scoring: { threshold: -50 }, limits: { framesPerSec: 200, frameBurst: 200 } },
  validate: (m: { data: Uint8Array }) => (new TextDecoder().decode(m.data).startsWith('evil') ? ('reject' as const) : ('accept' as const)),
};

test('forged ids, rejected messages and floods get a peer quarantined; honest broadcasts continue', { timeout: 60_000 }, async () => {
  const nodes = await startCluster(4, OPTS, 1300);
  try {
    await waitUntil(() => connected(nodes), 15_000, 'connected overlay');
    const target = nodes[0];

    // 1. Forged ids: the decoder drops each (bad-id) and scores the peer (5 each, −50 → quarantine).
    const forger = await attach(target, '127.0.0.1:11');
    for (let i = 0; i < 12 && !forger.closed; i++) forger.send({ ...gossipOf(`x${i}`, i), id: 'ab'.repeat(16) });
    await waitUntil(() => forger.closed, 5000, 'forger disconnected');
    await waitUntil(() => (target.stats().defences?.scores['127.0.0.1:11']?.quarantines ?? 0) === 1, 5000, 'forger quarantined');
    // Its reconnection is refused while quarantined.
    const again = await attach(target, '127.0.0.1:11');
    again.send({ type: 'ping', seq: 1 });
    await waitUntil(() => again.closed, 5000, 'quarantined forger cut off on reconnect');
    await broadcastReachesAll(nodes, nodes[1], 'after-forger');

    // 2. Messages the validator rejects: never delivered, scored 10 each.
    const liar = await attach(target, '127.0.0.1:12');
    const delivered: string[] = [];
    const onMsg = (d: { data: Uint8Array }): void => void delivered.push(new TextDecoder().decode(d.data));
    for (const n of nodes) n.on('message', onMsg);
    for (let i = 0; i < 8 && !liar.closed; i++) liar.send(gossipOf(`evil${i}`, i, '127.0.0.1:12'));
    await waitUntil(() => (target.stats().defences?.scores['127.0.0.1:12']?.quarantines ?? 0) === 1, 5000, 'liar quarantined');
    await broadcastReachesAll(nodes, nodes[2], 'after-liar');
    for (const n of nodes) n.off('message', onMsg);
    assert.deepEqual(delivered.filter((t) => t.startsWith('evil')), [], 'rejected messages are neither delivered nor forwarded');
    assert.ok(target.stats().defences!.validation.reject >= 5);

    // 3. A flood (pings far above 200 frames/s): frames over the bucket are dropped, scored 1 each.
    const flooder = await attach(target, '127.0.0.1:13');
    for (let i = 0; i < 2000 && !flooder.closed; i++) {
      flooder.send({ type: 'ping', seq: i });
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => (target.stats().defences?.scores['127.0.0.1:13']?.quarantines ?? 0) === 1, 5000, 'flooder quarantined');
    const st = target.stats().defences!;
    assert.ok(st.rateExcess.frames >= 50, JSON.stringify(st.rateExcess));
    assert.deepEqual([...st.quarantine.active].sort(), ['127.0.0.1:11', '127.0.0.1:12', '127.0.0.1:13']);
    await broadcastReachesAll(nodes, target, 'after-flood');
    for (const f of [forger, again, liar, flooder]) f.socket.destroy();
  } finally {
    await closeAll(nodes);
  }
});

test('bad defences options fail start() with a one-line reason naming the field', { timeout: 10_000 }, async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ limits: { framesPerSec: -1 } }, /defences\.limits\.framesPerSec must be a positive number \(got -1\)/],
    [{ limits: { framesPerSecond: 10 } }, /defences\.limits: unknown key "framesPerSecond"/],
    [{ fairQueue: { turnBudget: 0 } }, /defences\.fairQueue\.turnBudget must be a positive number/],
    [{ fairQueue: { expressPerTurn: -1 } }, /defences\.fairQueue\.expressPerTurn must be an integer ≥ 0 \(got -1\)/],
    [{ fairQueue: { expressPerTurn: 1.5 } }, /defences\.fairQueue\.expressPerTurn must be an integer ≥ 0/],
    [{ fairQueue: { quietMs: 0 } }, /defences\.fairQueue\.quietMs must be a positive number/],
    [{ alarm: { alpha: 2 } }, /defences\.alarm\.alpha must be at most 1/],
    [{ scoring: { threshold: 5 } }, /defences\.scoring\.threshold must be a negative number/],
    [{ scoring: { weights: { rejected: -3 } } }, /defences\.scoring\.weights\.rejected must be a number ≥ 0/],
    [{ scoring: { halfLifeMs: NaN } }, /defences\.scoring\.halfLifeMs must be a positive number/],
    [{ scoring: 'off' }, /defences\.scoring: expected an object or false/],
    [{ quarantine: true }, /defences: unknown key "quarantine"/],
    [{ share: { busyElu: 1.5 } }, /defences\.share\.busyElu must be at most 1 \(got 1\.5\)/],
    [{ share: { minPerSec: 0 } }, /defences\.share\.minPerSec must be a positive number/],
    [{ share: { floor: 1 } }, /defences\.share: unknown key "floor"/],
  ];
  for (const [defences, re] of cases) {
    await assert.rejects(createNode({ host: '127.0.0.1', port: 0, defences: defences as DefenceOptions }).start(), re, JSON.stringify(defences));
  }
  // Valid partial options and `false` switches still start.
  const ok = createNode({ host: '127.0.0.1', port: 0, defences: { limits: { originBurst: 500 }, scoring: { threshold: -50, weights: { duplicate: 0 } }, fairQueue: false, share: false } });
  await ok.start();
  await ok.close();
  // expressPerTurn 0: the express lane off.
  const noLane = createNode({ host: '127.0.0.1', port: 0, defences: { fairQueue: { expressPerTurn: 0 } } });
  await noLane.start();
  await noLane.close();
  // The origin share is opt-in: off by default, on with `{}`.
  for (const [share, on] of [[undefined, false], [{}, true]] as const) {
    const n = createNode({ host: '127.0.0.1', port: 0, defences: share === undefined ? {} : { share } });
    await n.start();
    try {
      assert.equal(n.stats().defences?.share != null, on, `share ${JSON.stringify(share)}`);
    } finally {
      await n.close();
    }
  }
});

test('origin share: on a busy node a peer publishing within every static limit is cut to its share at its ingress, never scored; honest broadcasts all arrive', { timeout: 60_000 }, async () => {
  // busyElu at its least (any work is "busy"), so the test does not depend on this machine's
  // load; the floor at 100 messages/s: the publisher (3,000/s) is capped at it, node 1's
  // honest origin (50/s) is under it and never capped.
  const nodes = await startCluster(3, { defences: { share: { busyElu: 1e-9, minPerSec: 100, tickMs: 50 } } }, 1400);
  try {
    await waitUntil(() => connected(nodes), 15_000, 'connected overlay');
    const target = nodes[0];
    const pub = await attach(target, '127.0.0.1:14');
    const flood = new Set<string>();
    const honest = new Map<string, number>();
    for (const n of nodes) {
      n.on('message', (d) => {
        if (d.channel === 'flood') flood.add(d.id);
        else if (d.channel === 'honest') honest.set(d.id, (honest.get(d.id) ?? 0) + 1);
      });
    }
    // 1.5 s: the peer publishes 60 messages of its own origin per 20 ms (3,000/s, under the
    // static 5,000/s and its 10,000 burst), while node 1 broadcasts one per 20 ms.
    let sent = 0;
    const ids: string[] = [];
    for (let t = 0; t < 75 && !pub.closed; t++) {
      for (let k = 0; k < 60; k++) {
        const payload = encodeEnvelope({ origin: '127.0.0.1:14', seq: sent++, channel: 'flood', timestamp: Date.now(), data: new Uint8Array(64) });
        pub.send({ type: 'gossip', id: messageIdFor(payload), round: 0, payload });
      }
      ids.push(nodes[1].broadcast(`h${t}`, { channel: 'honest' }));
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitUntil(() => ids.every((id) => honest.get(id) === nodes.length), 10_000, 'every honest broadcast delivered by all 3 nodes');
    const d = target.stats().defences!;
    assert.ok(d.share !== null && d.share.cuts >= 1, `the publisher was capped (${JSON.stringify(d.share)})`);
    assert.ok(d.share.dropped > 0, 'messages past the cap refused');
    assert.ok(flood.size < sent, `fewer flood messages delivered (${flood.size}) than sent (${sent})`);
    assert.equal(pub.closed, false, 'the publisher stays connected');
    assert.equal(d.quarantine.started, 0, 'no quarantine');
    assert.equal(d.scores['127.0.0.1:14']?.counts['rate-excess'] ?? 0, 0, 'the cut is not scored');
    pub.socket.destroy();
  } finally {
    await closeAll(nodes);
  }
});
