// Concurrent bootstrap over loopback (issue 18): 20 nodes in one process that all join at the
// same moment form one overlay and a broadcast right after reaches all 20 — joined in a ring
// (each through the next), and through one DNS name that resolves to the whole fleet (20
// loopback addresses, one port). Seed resolution itself (resolver.ts) with the system
// resolver and with failing names. Deadlines are generous: behaviour, not speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createNode, type RumorNode } from '../../src/index.js';
import { resolveSeeds, SeedWatch } from '../../src/net/resolver.js';
import { captureLogger, closeAll, connected, waitUntil } from './helpers.js';
import { overlayComponents as components } from '../../bench/support/overlay.js';

const N = 20;

/** Every node got the broadcast `id` within the deadline. */
async function broadcastReachesAll(nodes: RumorNode[], what: string): Promise<void> {
  const got = nodes.map(() => new Set<string>());
  nodes.forEach((n, i) => n.on('message', (d) => got[i].add(d.id)));
  const id = nodes[0].broadcast(`hello ${what}`);
  await waitUntil(() => got.every((s) => s.has(id)), 10_000, `the broadcast reaching all ${N} nodes (${what})`);
}

test('20 nodes joined in a ring at the same moment form one overlay; a broadcast reaches all', { timeout: 60_000 }, async () => {
  const nodes: RumorNode[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const n = createNode({ name: `r${i}`, seed: 1800 + i, logger: captureLogger() });
      await n.start();
      nodes.push(n);
    }
    // Every join is issued in the same turn of the event loop: nobody has joined yet.
    const joins = nodes.map((n, i) => n.join([nodes[(i + 1) % N].address], { timeoutMs: 20_000 }));
    await Promise.all(joins);
    await waitUntil(() => connected(nodes), 20_000, `one component (now ${components(nodes)})`);
    assert.equal(components(nodes), 1);
    await broadcastReachesAll(nodes, 'ring');
  } finally {
    await closeAll(nodes);
  }
});

/** A port free on 127.0.0.1 (the other loopback addresses share the range). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

test('20 nodes joined through one DNS name that resolves to the whole fleet form one overlay', { timeout: 60_000 }, async () => {
  const ips = Array.from({ length: N }, (_, i) => `127.0.0.${i + 1}`);
  let lookups = 0;
  const resolver = async (host: string): Promise<string[]> => {
    lookups++;
    if (host !== 'fleet.rumor.test') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return ips.slice();
  };
  let nodes: RumorNode[] = [];
  for (let attempt = 0; attempt < 5 && nodes.length < N; attempt++) {
    await closeAll(nodes);
    nodes = [];
    const port = await freePort();
    try {
      for (let i = 0; i < N; i++) {
        const n = createNode({ host: ips[i], port, name: `d${i}`, seed: 1900 + i, resolver, logger: captureLogger() });
        await n.start();
        nodes.push(n);
      }
    } catch {
      // The port was taken on another loopback address: try another one.
      await closeAll(nodes);
      nodes = [];
    }
  }
  try {
    assert.equal(nodes.length, N, 'could not bind 20 loopback addresses on one port in 5 attempts');
    const seed = `fleet.rumor.test:${nodes[0].address.split(':')[1]}`;
    await Promise.all(nodes.map((n) => n.join([seed], { timeoutMs: 20_000 })));
    await waitUntil(() => connected(nodes), 20_000, `one component (now ${components(nodes)})`);
    await broadcastReachesAll(nodes, 'dns');
    assert.ok(lookups >= N, `every node resolved the name (lookups: ${lookups})`);
    // An unknown name fails the join with the resolver's reason (the node keeps trying).
    const lone = createNode({ name: 'lone', resolver, logger: captureLogger() });
    await lone.start();
    try {
      await assert.rejects(lone.join(['nowhere.rumor.test:7000'], { timeoutMs: 300 }), /nowhere\.rumor\.test: ENOTFOUND/);
    } finally {
      await lone.close();
    }
  } finally {
    await closeAll(nodes);
  }
});

test('resolveSeeds: IP seeds kept, a name becomes every address it resolves to, failures reported', async () => {
  const r = await resolveSeeds(['10.0.0.1:7000', 'multi.test:7001', '[::1]:7002', 'bad.test:7003', '10.0.0.1:7000'], async (h) => {
    if (h === 'multi.test') return ['127.0.0.5', '127.0.0.6', '::1'];
    throw Object.assign(new Error('queryA ESERVFAIL bad.test'), { code: 'ESERVFAIL' });
  });
  assert.deepEqual(r.addresses, ['10.0.0.1:7000', '127.0.0.5:7001', '127.0.0.6:7001', '[::1]:7001', '[::1]:7002']);
  assert.deepEqual(r.failed, [{ seed: 'bad.test:7003', reason: 'bad.test: ESERVFAIL' }]);
  // The system resolver (dns.lookup, all: true): localhost is in /etc/hosts.
  const sys = await resolveSeeds(['localhost:7000']);
  assert.deepEqual(sys.failed, []);
  assert.ok(sys.addresses.includes('127.0.0.1:7000') || sys.addresses.includes('[::1]:7000'), `localhost resolved to ${sys.addresses.join(', ')}`);
});

test('SeedWatch: resolves again and hands new addresses on (a fleet coming up behind a name)', { timeout: 10_000 }, async () => {
  const up = ['127.0.0.1'];
  const fed: string[][] = [];
  const watch = new SeedWatch(async () => up.slice(), (r) => fed.push(r.addresses), () => 10);
  try {
    const first = await watch.add(['fleet.rumor.test:7000', '127.0.0.9:7000']);
    assert.deepEqual(first.addresses, ['127.0.0.1:7000']); // IP seeds are not watched
    up.push('127.0.0.2');
    await waitUntil(() => fed.some((a) => a.includes('127.0.0.2:7000')), 5000, 'the second address fed after a new resolution');
  } finally {
    watch.close();
  }
  const n = fed.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fed.length, n, 'no resolution after close()');
});

test('join: a pending wait for a first neighbour ends with "node is closed" when the node closes', { timeout: 20_000 }, async () => {
  const node = createNode({ profile: 'local', logger: captureLogger(), host: '127.0.0.1', port: 0 });
  await node.start();
  // Port 1 refuses: no neighbour comes, and the wait would run its full minute.
  const pending = node.join(['127.0.0.1:1'], { timeoutMs: 60_000 });
  const rejected = assert.rejects(pending, /join: node is closed/);
  const t0 = performance.now();
  await node.close();
  await rejected;
  assert.ok(performance.now() - t0 < 5000, `rejected within 5 s of close (took ${Math.round(performance.now() - t0)} ms)`);
});
