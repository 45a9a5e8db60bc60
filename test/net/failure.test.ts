// Loopback integration: leave, crash (RST), silent failure (heartbeat), refused handshakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, type DownReason, type RumorNode } from '../../src/index.js';
import { captureLogger, closeAll, connected, fakePeer, startCluster, testOptions, viewsSymmetric, waitUntil } from './helpers.js';

/** Record every neighborDown event of `nodes`. */
function recordDowns(nodes: RumorNode[]): Array<{ at: string; peer: string; reason: DownReason }> {
  const downs: Array<{ at: string; peer: string; reason: DownReason }> = [];
  for (const n of nodes) n.on('neighborDown', (peer, reason) => downs.push({ at: n.address, peer, reason }));
  return downs;
}

test('leave: neighbours see neighborDown "disconnected" and repair their views', { timeout: 30_000 }, async () => {
  const nodes = await startCluster(10, {}, 200);
  try {
    await waitUntil(() => connected(nodes) && viewsSymmetric(nodes), 15_000, 'connected overlay with symmetric views');
    const leaver = nodes[0];
    // The neighbours at the leave: links in both views (the overlay may still shuffle a link
    // away between the wait above and the leave; such a link ends "evicted", not by the leave).
    const former = leaver.neighbors().filter((p) => nodes.find((n) => n.address === p)?.neighbors().includes(leaver.address));
    assert.ok(former.length >= 1);
    const downs = recordDowns(nodes);
    await leaver.leave();
    const rest = nodes.slice(1);
    await waitUntil(
      () => former.every((p) => downs.some((d) => d.at === p && d.peer === leaver.address)),
      10_000,
      'every former neighbour saw neighborDown',
    );
    for (const p of former) {
      const d = downs.find((x) => x.at === p && x.peer === leaver.address)!;
      assert.equal(d.reason, 'disconnected', `${p} saw ${d.reason}`);
    }
    await waitUntil(
      () => connected(rest) && rest.every((n) => n.neighbors().length >= 1 && !n.neighbors().includes(leaver.address)),
      15_000,
      'the remaining 9 nodes repair into a connected overlay without the leaver',
    );
    const got = new Set<string>();
    for (const n of rest) n.on('message', (d) => d.origin === rest[4].address && got.add(n.address));
    rest[4].broadcast('after-leave');
    await waitUntil(() => got.size === rest.length, 10_000, 'broadcast after repair reaches the 9 nodes');
  } finally {
    await closeAll(nodes);
  }
});

test('close (RST): neighbours see neighborDown "link-failed" without waiting for heartbeats', { timeout: 30_000 }, async () => {
  // Heartbeats so slow (60 s) that only the reset can explain a detection within the deadline.
  const nodes = await startCluster(6, { net: { heartbeatIntervalMs: 20_000, heartbeatTimeoutMs: 60_000 } }, 300);
  try {
    // Views settled and symmetric: a view still changing (a NEIGHBOR or DISCONNECT in flight)
    // would name a peer that never held the link, and so never loses it.
    await waitUntil(() => connected(nodes) && viewsSymmetric(nodes), 15_000, 'connected overlay with symmetric views');
    const downs = recordDowns(nodes);
    const victim = nodes[2];
    const former = victim.neighbors();
    await victim.close();
    await waitUntil(
      () => former.every((p) => downs.some((d) => d.at === p && d.peer === victim.address)),
      5000,
      'every former neighbour saw neighborDown',
    );
    for (const p of former) {
      assert.equal(downs.find((x) => x.at === p && x.peer === victim.address)!.reason, 'link-failed');
    }
    const rest = nodes.filter((n) => n !== victim);
    await waitUntil(() => connected(rest), 15_000, 'survivors reconnect');
  } finally {
    await closeAll(nodes);
  }
});

test('a silent peer (paused socket, no RST) is detected by the heartbeat timeout', { timeout: 20_000 }, async () => {
  const node = createNode(testOptions({ name: 'hb', net: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 600 } }));
  await node.start();
  try {
    const downs = recordDowns([node]);
    const up: string[] = [];
    node.on('neighborUp', (p) => up.push(p));
    const fake = await fakePeer(node.address, '127.0.0.1:9');
    await waitUntil(() => fake.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
    fake.send({ type: 'join' });
    await waitUntil(() => up.includes('127.0.0.1:9'), 5000, 'the fake peer becomes a neighbour');
    // Vanish silently: stop reading and never write again; the TCP connection stays open.
    fake.socket.pause();
    await waitUntil(() => downs.some((d) => d.peer === '127.0.0.1:9'), 5000, 'neighborDown for the silent peer');
    assert.deepEqual(downs, [{ at: node.address, peer: '127.0.0.1:9', reason: 'link-failed' }]);
    assert.equal(node.stats().closes['heartbeat-timeout'], 1);
    // The fake peer dialed, so it is the side that pings; the node detects it by the missing
    // pings and sends none itself (one ping + one pong per interval per link).
    assert.equal(node.stats().messagesOut.ping ?? 0, 0, 'the accepting side does not ping');
    assert.equal(node.stats().closes.eof ?? 0, 0, 'detection did not depend on the peer closing its socket');
    fake.socket.destroy();
  } finally {
    await node.close();
  }
});

test('a handshake from another cluster is refused with a reason both sides can see', { timeout: 20_000 }, async () => {
  const logA = captureLogger();
  const logB = captureLogger();
  const a = createNode(testOptions({ cluster: 'rumor', logger: logA }));
  const b = createNode(testOptions({ cluster: 'other', logger: logB }));
  await a.start();
  await b.start();
  try {
    await assert.rejects(b.join([a.address], { timeoutMs: 1500 }), /join: no neighbour after 1500 ms through seeds/);
    const sa = a.stats();
    const sb = b.stats();
    assert.ok((sa.handshakes.refusedIn['cluster-mismatch'] ?? 0) >= 1);
    assert.ok((sb.handshakes.refusedOut['cluster-mismatch'] ?? 0) >= 1);
    assert.equal(sb.handshakes.lastRefusal?.direction, 'out');
    assert.match(sb.handshakes.lastRefusal!.reason, /cluster-mismatch: this node is in cluster "rumor", hello says "other"/);
    assert.ok(logB.lines.some((l) => l.includes('refused our connection') && l.includes('cluster-mismatch')));
    assert.ok(logA.lines.some((l) => l.includes('refused connection')));
    assert.deepEqual(a.neighbors(), []);
    assert.deepEqual(b.neighbors(), []);
    // A wrong protocol version is refused the same way.
    const fake = await fakePeer(a.address, '127.0.0.1:9', 'rumor', [200, 201]);
    await waitUntil(() => fake.closed, 5000, 'refused connection closed');
    assert.equal(fake.received.length, 1);
    const r = fake.received[0];
    assert.equal(r.type, 'refuse');
    assert.match(r.type === 'refuse' ? r.reason : '', /^version-mismatch: this node speaks 1\.\.1, hello offers 200\.\.201$/);
    assert.equal(a.stats().handshakes.refusedIn['version-mismatch'], 1);
  } finally {
    await a.close();
    await b.close();
  }
});
