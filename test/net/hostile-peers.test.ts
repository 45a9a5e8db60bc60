// Loopback: what docs/library.md ("Connections, handshake and failure detection") and
// docs/protocol.md §4 promise against hostile or broken peers, one claim per test: more than
// 16 bad frames close a connection (16 do not); a gossip whose id is not the hash of its
// payload is dropped, counted and never forwarded; a hello with a bad address or with the
// node's own address is refused with its reason; `maxConnections` bounds the connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, type RumorNode } from '../../src/index.js';
import { encodeEnvelope, encodeFrame, messageIdFor, type WireMessage } from '../../src/wire/index.js';
import { captureLogger, fakePeer, rawSocket, testOptions, waitUntil, type FakePeer } from './helpers.js';

/** Timings that leave only the behaviour under test to close a connection. */
const PATIENT = { idleCloseMs: 60_000, heartbeatIntervalMs: 20_000, heartbeatTimeoutMs: 60_000, handshakeTimeoutMs: 20_000 };

function frame(msg: WireMessage): Uint8Array {
  const e = encodeFrame(msg);
  if (!e.ok) throw new Error(e.reason);
  return e.frame;
}

/** A well-framed ping whose CRC-32C is wrong: dropped as `bad-checksum`, framing kept. */
function badChecksumFrame(seq: number): Uint8Array {
  const f = frame({ type: 'ping', seq }).slice();
  f[f.length - 1] ^= 0xff;
  return f;
}

async function pongFor(peer: FakePeer, seq: number): Promise<void> {
  peer.send({ type: 'ping', seq });
  await waitUntil(() => peer.received.some((m) => m.type === 'pong' && m.seq === seq), 5000, `pong ${seq}: the connection still serves`);
}

async function started(extra: Parameters<typeof testOptions>[0] = {}): Promise<RumorNode> {
  const n = createNode(testOptions({ net: PATIENT, ...extra }));
  await n.start();
  return n;
}

test('16 bad frames on one connection are dropped and counted; the 17th closes it', { timeout: 20_000 }, async () => {
  const node = await started();
  try {
    const peer = await fakePeer(node.address, '127.0.0.1:9');
    await waitUntil(() => peer.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
    for (let i = 0; i < 16; i++) peer.socket.write(badChecksumFrame(i));
    await pongFor(peer, 1000);
    assert.equal(peer.closed, false, 'open after 16 bad frames');
    assert.equal(node.stats().droppedFrames['bad-checksum'], 16);
    assert.equal(node.stats().closes['bad-frame'] ?? 0, 0);
    peer.socket.write(badChecksumFrame(16));
    await waitUntil(() => peer.closed, 5000, 'the connection closed after the 17th bad frame');
    assert.equal(node.stats().droppedFrames['bad-checksum'], 17);
    assert.equal(node.stats().closes['bad-frame'], 1);
    // Another connection of the same peer starts from zero.
    const again = await fakePeer(node.address, '127.0.0.1:9');
    again.socket.write(badChecksumFrame(0));
    await pongFor(again, 1);
    again.socket.destroy();
  } finally {
    await node.close();
  }
});

test('a gossip whose id is not its payload\'s hash is dropped as bad-id, never delivered, never forwarded', { timeout: 20_000 }, async () => {
  const a = await started({ name: 'a' });
  const b = await started({ name: 'b' });
  const seen: string[] = [];
  for (const n of [a, b]) n.on('message', (d) => seen.push(`${n.id}:${new TextDecoder().decode(d.data)}`));
  try {
    await b.join([a.address], { timeoutMs: 5000 });
    const fake = await fakePeer(a.address, '127.0.0.1:9');
    fake.send({ type: 'join' });
    await waitUntil(() => a.neighbors().includes('127.0.0.1:9'), 5000, 'the fake peer is a neighbour of a');
    const bIn = b.stats().messagesIn.gossip ?? 0;
    const envelope = (text: string, seq: number): Uint8Array =>
      encodeEnvelope({ origin: '127.0.0.1:9', seq, channel: 'default', timestamp: Date.now(), data: new TextEncoder().encode(text) });
    const poison = envelope('poison', 0);
    // The id of another payload: a corrupted or spoofed broadcast.
    fake.send({ type: 'gossip', id: messageIdFor(envelope('honest', 0)), round: 0, payload: poison });
    // A valid broadcast after it, as a marker: once b has it, b would have had the poison.
    const marker = envelope('marker', 1);
    fake.send({ type: 'gossip', id: messageIdFor(marker), round: 0, payload: marker });
    await waitUntil(() => seen.includes('b:marker'), 5000, 'b delivers the valid broadcast sent after the bad one');
    assert.equal(a.stats().droppedFrames['bad-id'], 1, 'a counted the bad id');
    assert.deepEqual(seen.filter((s) => s.endsWith(':poison') || s.endsWith(':honest')), [], 'never delivered');
    assert.equal(b.stats().droppedFrames['bad-id'] ?? 0, 0, 'b never received it');
    assert.equal((b.stats().messagesIn.gossip ?? 0) - bIn, 1, 'b received one gossip frame: the marker');
    assert.equal(fake.closed, false, 'a bad id drops the frame, not the connection');
    fake.socket.destroy();
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a hello with a bad address or with the node\'s own address is refused with its reason, counted and logged', { timeout: 20_000 }, async () => {
  const log = captureLogger();
  const node = await started({ logger: log });
  try {
    const bad = await fakePeer(node.address, 'no-port-here');
    await waitUntil(() => bad.closed, 5000, 'the bad-address connection closed');
    assert.equal(bad.received.length, 1);
    const r1 = bad.received[0];
    assert.ok(r1.type === 'refuse', JSON.stringify(r1));
    assert.match(r1.reason, /^bad-address: /);

    const self = await fakePeer(node.address, node.address);
    await waitUntil(() => self.closed, 5000, 'the self-connection closed');
    const r2 = self.received[0];
    assert.ok(r2.type === 'refuse', JSON.stringify(r2));
    assert.equal(r2.reason, `self-connection: ${node.address} is this node's own address`);

    const hs = node.stats().handshakes;
    assert.equal(hs.refusedIn['bad-address'], 1);
    assert.equal(hs.refusedIn['self-connection'], 1);
    assert.equal(hs.accepted, 0);
    assert.equal(hs.lastRefusal?.direction, 'in');
    assert.match(hs.lastRefusal?.reason ?? '', /^self-connection: /);
    assert.equal(log.lines.filter((l) => l.includes('refused connection')).length, 2, log.lines.join('\n'));
    assert.deepEqual(node.neighbors(), []);
  } finally {
    await node.close();
  }
});

test('maxConnections bounds inbound and outbound connections; a freed slot is usable again', { timeout: 20_000 }, async () => {
  const log = captureLogger();
  const node = await started({ maxConnections: 2, logger: log });
  const other = await started();
  try {
    const first = await fakePeer(node.address, '127.0.0.1:9');
    const second = await fakePeer(node.address, '127.0.0.1:10');
    await waitUntil(() => [first, second].every((p) => p.received.some((m) => m.type === 'welcome')), 5000, 'two connections welcomed');
    const third = await rawSocket(node.address);
    await waitUntil(() => third.closedFlag(), 5000, 'the third inbound connection closed at once');
    assert.equal(node.stats().closes['too-many-connections'], 1);
    assert.equal(node.stats().connections.open, 2);
    // Free a slot: the next connection is accepted.
    second.socket.destroy();
    await waitUntil(() => node.stats().connections.open === 1, 5000, 'the closed connection released its slot');
    const fourth = await fakePeer(node.address, '127.0.0.1:11');
    await waitUntil(() => fourth.received.some((m) => m.type === 'welcome'), 5000, 'a connection accepted in the freed slot');
    // Outbound too: with both slots taken, a join cannot dial (last: the join keeps retrying
    // in the background and would take any slot freed after it).
    await assert.rejects(node.join([other.address], { timeoutMs: 800 }), /join: no neighbour after 800 ms/);
    assert.ok((node.stats().closes['connect-failed'] ?? 0) >= 1, JSON.stringify(node.stats().closes));
    assert.ok(log.lines.some((l) => l.includes('cannot dial peer') && l.includes('too many connections')), log.lines.join('\n'));
    assert.equal(other.stats().connections.accepted, 0, 'nothing reached the other node');
    first.socket.destroy();
    fourth.socket.destroy();
  } finally {
    await Promise.all([node.close(), other.close()]);
  }
});
