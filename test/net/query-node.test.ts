// The library face of queries (src/net/query.ts) on three nodes over loopback: `onQuery`
// answers (text, bytes, a thrown error, or null to decline), `node.query` streams acks and
// responses and ends as soon as every expected node answered; bad queries throw QueryError.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { QueryError, type QueryUpdate, type RumorNode } from '../../src/index.js';
import { fillResponseDatagram, type ResponseDatagram } from '../../src/net/query.js';
import { startCluster, waitUntil } from './helpers.js';

let nodes: RumorNode[] = [];

before(async () => {
  nodes = await startCluster(3);
  await waitUntil(() => nodes.every((n) => n.neighbors().length > 0), 10_000, 'every node to have a neighbour');
});

after(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

test('node.query: answers stream back and the query ends when every expected node answered', async () => {
  nodes[1].onQuery((q) => (q.name === 'whoami' ? `I am ${nodes[1].id}, you sent ${new TextDecoder().decode(q.payload)}` : null));
  nodes[2].onQuery(() => {
    throw new Error('disk on fire');
  });
  // nodes[0] has no handler: it declines its own query.
  const run = nodes[0].query('whoami', 'hi', { timeoutMs: 20_000, expect: nodes.map((n) => n.address) });
  const updates: QueryUpdate[] = [];
  for await (const u of run) updates.push(u);
  const s = await run.done;
  assert.equal(s.reason, 'complete');
  assert.ok(s.durationMs < 20_000);
  assert.deepEqual([...s.answered].sort(), [nodes[1].address, nodes[2].address].sort());
  assert.deepEqual(s.ackedOnly, [nodes[0].address]);
  assert.deepEqual(s.missing, []);
  const resp = updates.filter((u) => u.type === 'response') as Extract<QueryUpdate, { type: 'response' }>[];
  const by = new Map(resp.map((r) => [r.from, r]));
  assert.equal(new TextDecoder().decode(by.get(nodes[1].address)!.payload), `I am ${nodes[1].id}, you sent hi`);
  assert.equal(by.get(nodes[2].address)!.error, 'disk on fire');
  assert.ok(updates.some((u) => u.type === 'ack' && u.from === nodes[0].address && u.final));
});

test('node.query with onUpdate: every update reaches the function as it arrives (own decline during the call included), the iterator yields none', async () => {
  nodes[1].onQuery((q) => (q.name === 'whoami' ? `I am ${nodes[1].id}` : null));
  nodes[2].onQuery(() => 'two');
  const seen: QueryUpdate[] = [];
  let doneSeen = false;
  const run = nodes[0].query('whoami', '', {
    timeoutMs: 20_000,
    expect: nodes.map((n) => n.address),
    onUpdate: (u) => {
      assert.equal(doneSeen, false, 'an update after the summary');
      seen.push(u);
    },
  });
  // nodes[0] has no handler: its decline is raised inside `query` itself and delivered at once.
  assert.ok(seen.some((u) => u.type === 'ack' && u.from === nodes[0].address && u.final), 'the own decline, delivered during the call');
  const s = await run.done;
  doneSeen = true;
  assert.equal(s.reason, 'complete');
  const from = seen.filter((u) => u.type === 'response').map((u) => u.from).sort();
  assert.deepEqual(from, [nodes[1].address, nodes[2].address].sort());
  const iterated: QueryUpdate[] = [];
  for await (const u of run) iterated.push(u);
  assert.deepEqual(iterated, []);
});

test('node.query: filters by name; without `expect` it runs to its timeout; bad queries throw QueryError', async () => {
  const run = nodes[0].query('whoami', '', { nodes: [nodes[1].id], timeoutMs: 300 });
  const s = await run.done;
  assert.deepEqual([s.reason, s.answered], ['timeout', [nodes[1].address]]);
  assert.throws(() => nodes[0].query('x', new Uint8Array(1025)), (e: unknown) => e instanceof QueryError && e.code === 'payload-too-large');
  assert.throws(() => nodes[0].query('x', '', { relayFactor: 6 }), (e: unknown) => e instanceof QueryError && e.code === 'bad-request');
  assert.throws(() => nodes[0].query('x', '', { tags: { role: '(' } }), /not a valid regular expression/);
});

test('node.query: a response another process sends from responseDatagram() is taken as the node\'s; the node sends none itself', async () => {
  const out = createSocket('udp4');
  try {
    const made: (ResponseDatagram | null)[] = [];
    nodes[1].onQuery((q) => {
      const d = q.responseDatagram();
      made.push(d);
      if (d === null) return 'from the node';
      out.send(fillResponseDatagram(d, new TextEncoder().encode(`sent for ${q.name}`)), d.port, d.host);
      return { sent: true };
    });
    nodes[2].onQuery(() => null);
    const before = nodes[1].queries.stats();
    const run = nodes[0].query('whoami', '', { timeoutMs: 20_000, expect: [nodes[1].address, nodes[2].address], ack: false });
    const updates: QueryUpdate[] = [];
    for await (const u of run) updates.push(u);
    const s = await run.done;
    assert.deepEqual([s.reason, s.answered], ['complete', [nodes[1].address]]);
    const resp = updates.find((u) => u.type === 'response') as Extract<QueryUpdate, { type: 'response' }>;
    assert.deepEqual([resp.from, new TextDecoder().decode(resp.payload), resp.error], [nodes[1].address, 'sent for whoami', '']);
    assert.equal(made.length, 1);
    assert.equal(made[0]!.port, Number(nodes[0].address.split(':')[1]));
    const after = nodes[1].queries.stats();
    assert.equal(after.machine.answeredElsewhere - before.machine.answeredElsewhere, 1);
    assert.equal(after.machine.answered - before.machine.answered, 1);
    assert.equal(after.app.sent - before.app.sent, 0, 'the node sent no response of its own');
    // A relay factor: the node answers itself (no datagram for another process).
    const r2 = nodes[0].query('whoami', '', { timeoutMs: 20_000, expect: [nodes[1].address, nodes[2].address], ack: false, relayFactor: 1 });
    const s2 = await r2.done;
    assert.deepEqual([s2.reason, s2.answered, made.length, made[1]], ['complete', [nodes[1].address], 2, null]);
  } finally {
    out.close();
  }
});

test('node.query: the direct path — each expected node takes the query from its asker as a datagram, no broadcast; `path: broadcast` sends it the other way', async () => {
  const how: boolean[] = [];
  nodes[1].onQuery((q) => (how.push(q.direct), 'one'));
  nodes[2].onQuery((q) => (how.push(q.direct), 'two'));
  const stats = (): { direct: number; fallbacks: number; got: number; bcast: number; dgrams: number } => {
    const s = nodes.map((n) => n.queries.stats());
    return { direct: s[0].machine.direct, fallbacks: s[0].machine.directFallbacks, got: s[1].machine.receivedDirect + s[2].machine.receivedDirect, bcast: s[0].app.broadcasts, dgrams: s[0].app.datagrams };
  };
  const b0 = stats();
  const s = await nodes[0].query('whoami', '', { timeoutMs: 20_000, expect: nodes.map((n) => n.address), ack: false }).done;
  assert.deepEqual([s.reason, [...s.answered].sort()], ['complete', [nodes[1].address, nodes[2].address].sort()]);
  const b1 = stats();
  assert.deepEqual([b1.direct - b0.direct, b1.fallbacks - b0.fallbacks, b1.got - b0.got, b1.bcast - b0.bcast, b1.dgrams - b0.dgrams], [1, 0, 2, 0, 2]);
  assert.deepEqual(how.splice(0), [true, true], 'the handlers are told the query came directly');
  const s2 = await nodes[0].query('whoami', '', { timeoutMs: 20_000, expect: nodes.map((n) => n.address), path: 'broadcast' }).done;
  assert.equal(s2.reason, 'complete');
  const b2 = stats();
  assert.deepEqual([b2.direct - b1.direct, b2.got - b1.got, b2.bcast - b1.bcast], [0, 0, 1]);
  assert.deepEqual(how, [false, false]);
  assert.throws(() => nodes[0].query('x', '', { path: 'sideways' as 'auto' }), (e: unknown) => e instanceof QueryError && e.code === 'bad-request');
});
