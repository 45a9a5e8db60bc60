// Loopback integration: a 12-node cluster in one process — join, symmetric views, exactly-once
// broadcast from several nodes, channels, subscriptions with lag, payload limits, stats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, PayloadTooLargeError, type Delivery, type RumorNode } from '../../src/index.js';
import { closeAll, connected, startCluster, testOptions, viewsSymmetric, waitUntil } from './helpers.js';

const N = 12;
let nodes: RumorNode[] = [];
/** Per node: message id → number of deliveries. */
const seen = new Map<RumorNode, Map<string, number>>();
const all = new Map<RumorNode, Delivery[]>();

before(async () => {
  nodes = await startCluster(N, {}, 100);
  for (const n of nodes) {
    seen.set(n, new Map());
    all.set(n, []);
    n.on('message', (d) => {
      const m = seen.get(n)!;
      m.set(d.id, (m.get(d.id) ?? 0) + 1);
      all.get(n)!.push(d);
    });
  }
});

after(async () => {
  await closeAll(nodes);
});

test('12 nodes join into a connected overlay with symmetric active views', { timeout: 20_000 }, async () => {
  await waitUntil(() => viewsSymmetric(nodes) && connected(nodes), 15_000, 'symmetric, connected views');
  for (const n of nodes) {
    const v = n.neighbors();
    assert.ok(v.length >= 1 && v.length <= 5, `${n.address} has ${v.length} neighbours (expected 1..5)`);
    assert.ok(!v.includes(n.address), 'a node is never its own neighbour');
    assert.equal(n.stats().activeView, v.length);
  }
});

test('broadcasts from several nodes are delivered exactly once everywhere', { timeout: 20_000 }, async () => {
  await waitUntil(() => connected(nodes), 15_000, 'connected overlay');
  const ids: string[] = [];
  for (const [k, origin] of [0, 5, 11].entries()) {
    for (let j = 0; j < 5; j++) ids.push(nodes[origin].broadcast(`m-${k}-${j}`));
  }
  assert.equal(new Set(ids).size, 15, 'ids are distinct');
  await waitUntil(() => nodes.every((n) => ids.every((id) => seen.get(n)!.has(id))), 15_000, 'all 15 messages everywhere');
  // A marker sent afterwards flushes any late duplicate along the same links.
  const marker = nodes[3].broadcast('marker');
  await waitUntil(() => nodes.every((n) => seen.get(n)!.has(marker)), 15_000, 'marker everywhere');
  for (const n of nodes) {
    for (const id of ids) assert.equal(seen.get(n)!.get(id), 1, `${n.address} delivered ${id} once`);
  }
  // Envelope fields and hop counts.
  const d = all.get(nodes[7])!.find((x) => x.id === ids[0])!;
  assert.equal(d.origin, nodes[0].address);
  assert.equal(d.channel, 'default');
  assert.equal(d.seq, 0);
  assert.equal(new TextDecoder().decode(d.data), 'm-0-0');
  assert.ok(d.hops >= 1 && d.hops < N, `hops ${d.hops}`);
  const own = all.get(nodes[0])!.find((x) => x.id === ids[0])!;
  assert.equal(own.hops, 0);
  const st = nodes[7].stats();
  assert.ok(st.deliveries >= 16);
  assert.ok((st.messagesIn.gossip ?? 0) >= 16);
  // nodes[7] broadcast nothing: every gossip it received was a first copy or a duplicate.
  assert.equal((st.messagesIn.gossip ?? 0), st.deliveries + st.duplicates);
});

test('channels: subscribe(channel) sees only that channel, subscribe() sees all', { timeout: 20_000 }, async () => {
  const chat = nodes[4].subscribe('chat');
  const everything = nodes[4].subscribe();
  const a = nodes[9].broadcast('x1', { channel: 'metrics' });
  const b = nodes[9].broadcast('hi', { channel: 'chat' });
  const r1 = await Promise.race([chat.next(), rejectAfter(10_000, 'chat delivery')]);
  assert.equal(r1.done, false);
  assert.equal(r1.value.id, b);
  assert.equal(r1.value.channel, 'chat');
  const got = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const r = await Promise.race([everything.next(), rejectAfter(10_000, 'delivery on subscribe()')]);
    got.add(r.value!.id);
  }
  assert.deepEqual([...got].sort(), [a, b].sort());
  chat.close();
  everything.close();
  assert.deepEqual(await Promise.race([chat.next(), rejectAfter(5000, 'the closed subscription to end')]), { value: undefined, done: true });
});

test('a slow subscriber drops the oldest deliveries and gets one lagged event with the count', { timeout: 10_000 }, async () => {
  const n = nodes[2];
  const sub = n.subscribe('burst', { bufferSize: 2 });
  const lagged: Array<{ channel: string; missed: number }> = [];
  n.on('lagged', (info) => lagged.push(info));
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(n.broadcast(`b${i}`, { channel: 'burst' }));
  await waitUntil(() => lagged.length > 0, 5000, 'lagged event');
  assert.deepEqual(lagged, [{ channel: 'burst', missed: 3 }]);
  const r1 = await Promise.race([sub.next(), rejectAfter(5000, 'the first kept delivery')]);
  const r2 = await Promise.race([sub.next(), rejectAfter(5000, 'the second kept delivery')]);
  assert.deepEqual([r1.value!.id, r2.value!.id], ids.slice(3), 'the two newest are kept');
  sub.close();
});

test('an oversize payload throws PayloadTooLargeError at the call', { timeout: 10_000 }, async () => {
  const node = createNode(testOptions({ limits: { maxPayloadBytes: 4096 } }));
  assert.throws(() => node.broadcast('x'), /not started/);
  await node.start();
  try {
    let err: unknown;
    try {
      node.broadcast(new Uint8Array(5000));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof PayloadTooLargeError);
    assert.equal(err.size, 5000);
    assert.ok(err.limit > 4000 && err.limit < 4096, `limit ${err.limit}`);
    // Exactly at the limit fits; one byte more does not.
    assert.equal(typeof node.broadcast(new Uint8Array(err.limit)), 'string');
    assert.throws(() => node.broadcast(new Uint8Array(err.limit + 1)), PayloadTooLargeError);
    assert.throws(() => node.broadcast('x', { channel: 'c'.repeat(300) }), /channel/);
    assert.equal(node.stats().deliveries, 1);
  } finally {
    await node.close();
  }
  assert.throws(() => node.broadcast('x'), /closed/);
});

test('bad options fail start() with a one-line reason naming the field', { timeout: 10_000 }, async () => {
  await assert.rejects(createNode(testOptions({ port: 70000 })).start(), /port: expected an integer/);
  await assert.rejects(createNode(testOptions({ host: '0.0.0.0' })).start(), /advertise: required/);
  await assert.rejects(
    createNode(testOptions({ protocol: { hyparview: { activeViewSize: 0 } } })).start(),
    /protocol\.hyparview\.activeViewSize/,
  );
  await assert.rejects(createNode(testOptions({ net: { heartbeatTimeoutMs: -1 } })).start(), /net\.heartbeatTimeoutMs/);
  const busy = createNode(testOptions());
  await busy.start();
  const port = Number(busy.address.split(':')[1]);
  await assert.rejects(createNode(testOptions({ port })).start(), /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  await assert.rejects(busy.join(['nope']), /seed address "nope"/);
  await busy.close();
});

function rejectAfter(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    t.unref();
  });
}
