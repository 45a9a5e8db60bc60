// The runtime host of applications (src/net/app-host.ts) with a toy application over
// loopback: point-to-point messages (to neighbours and to non-neighbours, dialed on demand),
// broadcasts, timers, neighbour events, unreachable reports, bad frames; and the source
// address of outgoing connections (the node's bind address).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { createNode, type RumorNode } from '../../src/index.js';
import type { App, AppIo } from '../../src/proto/app.js';
import type { AppCodec, CodecResult } from '../../src/net/app-host.js';
import { captureLogger, closeAll, testOptions, waitUntil } from './helpers.js';

type Msg = { type: 'ping'; seq: number } | { type: 'pong'; seq: number } | { type: 'note'; seq: number };
type Ev =
  | { type: 'pong'; from: string; seq: number }
  | { type: 'note'; seq: number }
  | { type: 'up'; peer: string }
  | { type: 'timer'; late: number }
  | { type: 'unreachable'; peer: string }
  | { type: 'started'; neighbours: number }
  | { type: 'stopped' };

const CODES = { ping: 1, pong: 2, note: 3 } as const;

/** Binary toy codec: u8 type code, u32 seq (big-endian). */
const codec: AppCodec<Msg> = {
  encode(m): CodecResult<Uint8Array> {
    const b = new Uint8Array(5);
    b[0] = CODES[m.type];
    new DataView(b.buffer).setUint32(1, m.seq);
    return { ok: true, value: b };
  },
  decode(b): CodecResult<Msg> {
    if (b.byteLength !== 5) return { ok: false, reason: `expected 5 bytes, got ${b.byteLength}` };
    const seq = new DataView(b.buffer, b.byteOffset, 5).getUint32(1);
    const type = (['ping', 'pong', 'note'] as const)[b[0] - 1];
    if (type === undefined) return { ok: false, reason: `unknown type ${b[0]}` };
    return { ok: true, value: { type, seq } };
  },
};

class Toy implements App<string, Msg, number> {
  private neighbours = 0;
  constructor(private readonly io: AppIo<string, Msg, number, Ev>) {}
  start(now: number): void {
    this.io.event({ type: 'started', neighbours: this.neighbours });
    this.io.timer(20, now + 20);
  }
  neighborUp(peer: string): void {
    this.neighbours++;
    this.io.event({ type: 'up', peer });
  }
  neighborDown(): void {}
  handleMessage(from: string, m: Msg): void {
    if (m.type === 'ping') this.io.send(from, { type: 'pong', seq: m.seq });
    else if (m.type === 'pong') this.io.event({ type: 'pong', from, seq: m.seq });
  }
  handleBroadcast(m: Msg): void {
    if (m.type === 'note') this.io.event({ type: 'note', seq: m.seq });
  }
  handleTimer(due: number, now: number): void {
    this.io.event({ type: 'timer', late: now - due });
  }
  handleUnreachable(peer: string): void {
    this.io.event({ type: 'unreachable', peer });
  }
  stop(): void {
    this.io.event({ type: 'stopped' });
  }
  ping(to: string, seq: number): void {
    this.io.send(to, { type: 'ping', seq });
  }
  note(seq: number): void {
    this.io.broadcast({ type: 'note', seq });
  }
  reconnected(peer: string): void {
    this.io.peerReconnected?.(peer);
  }
}

function runToy(node: RumorNode): { app: Toy; events: Ev[]; handle: ReturnType<RumorNode['runApp']> } {
  const events: Ev[] = [];
  const handle = node.runApp<Msg, number, Ev>({ name: 'toy', codec, create: (_self, io) => new Toy(io), onEvent: (e) => events.push(e) });
  return { app: handle.app as Toy, events, handle };
}

test('app host: neighbours before start, timers, ping/pong to a neighbour and to a non-neighbour, broadcast not at the sender', { timeout: 20_000 }, async () => {
  const [a, b, c] = [createNode(testOptions()), createNode(testOptions()), createNode(testOptions())];
  await Promise.all([a.start(), b.start(), c.start()]);
  try {
    await b.join([a.address]);
    await waitUntil(() => a.neighbors().includes(b.address), 5000, 'a and b are neighbours');
    const ta = runToy(a);
    const tb = runToy(b);
    const tc = runToy(c); // c never joins: no link, a must dial it
    assert.deepEqual(ta.events.slice(0, 2), [{ type: 'up', peer: b.address }, { type: 'started', neighbours: 1 }], 'neighbours reported before start');
    await waitUntil(() => ta.events.some((e) => e.type === 'timer'), 5000, 'the start timer fired');
    const late = ta.events.find((e) => e.type === 'timer') as { late: number };
    assert.ok(late.late >= 0, `a timer never fires early (late by ${late.late} ms)`);

    ta.handle.drive(() => ta.app.ping(b.address, 7));
    await waitUntil(() => ta.events.some((e) => e.type === 'pong' && e.seq === 7), 5000, 'pong from the neighbour');
    assert.deepEqual(ta.events.find((e) => e.type === 'pong'), { type: 'pong', from: b.address, seq: 7 });

    ta.handle.drive(() => ta.app.ping(c.address, 8));
    await waitUntil(() => ta.events.some((e) => e.type === 'pong' && e.seq === 8), 5000, 'pong from a non-neighbour (dialed on demand)');
    assert.deepEqual(a.neighbors().includes(c.address), false, 'the dial made no overlay link');

    ta.handle.drive(() => ta.app.note(42));
    await waitUntil(() => tb.events.some((e) => e.type === 'note'), 5000, 'b got the broadcast');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ta.events.filter((e) => e.type === 'note').length, 0, 'never at the sender');
    assert.equal(tc.events.filter((e) => e.type === 'note').length, 0, 'c is not in the overlay');
    const s = ta.handle.stats();
    assert.equal(s.sent, 2);
    assert.equal(s.received, 2);
    assert.equal(s.broadcasts, 1);
    assert.equal(tb.handle.stats().broadcastsReceived, 1);
    ta.handle.stop();
    assert.deepEqual(ta.events.at(-1), { type: 'stopped' });
    assert.throws(() => runToy(b), /already runs/);
  } finally {
    await closeAll([a, b, c]);
  }
});

test('app host: a refused dial is reported unreachable; bad frames are dropped and counted per peer', { timeout: 20_000 }, async () => {
  const logger = captureLogger();
  const [a, b] = [createNode(testOptions()), createNode(testOptions({ logger }))];
  await Promise.all([a.start(), b.start()]);
  const gone = createNode(testOptions());
  await gone.start();
  const goneAddr = gone.address;
  await gone.close();
  try {
    const ta = runToy(a);
    const tb = runToy(b);
    ta.handle.drive(() => ta.app.ping(goneAddr, 1));
    await waitUntil(() => ta.events.some((e) => e.type === 'unreachable'), 5000, 'the refused dial reported');
    assert.deepEqual(ta.events.find((e) => e.type === 'unreachable'), { type: 'unreachable', peer: goneAddr });

    // Open a connection a → b (a ping), then send garbage on b's application channel.
    ta.handle.drive(() => ta.app.ping(b.address, 2));
    await waitUntil(() => ta.events.some((e) => e.type === 'pong'), 5000, 'pong');
    assert.equal(a.sendTo(b.address, '_app.toy', new Uint8Array([9, 9])), true);
    assert.equal(a.sendTo(b.address, '_app.toy', new Uint8Array([9, 0, 0, 0, 1])), true);
    await waitUntil(() => (tb.handle.stats().badByPeer[a.address] ?? 0) === 2, 5000, 'two bad frames counted for a');
    assert.ok(logger.lines.some((l) => l.includes('dropped a bad application frame')), 'logged');
    ta.handle.drive(() => ta.app.ping(b.address, 3));
    await waitUntil(() => ta.events.some((e) => e.type === 'pong' && e.seq === 3), 5000, 'b still answers after bad frames');
  } finally {
    await closeAll([a, b]);
  }
});

function rawServer(host: string): Promise<{ server: Server; port: number; sources: string[] }> {
  const sources: string[] = [];
  const server = createServer((s) => {
    sources.push(s.remoteAddress ?? '?');
    s.destroy();
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve({ server, port: (server.address() as { port: number }).port, sources })));
}

test('outgoing connections leave from the node bind address (127.0.78.6 dials 127.0.0.1 from 127.0.78.6)', { timeout: 20_000 }, async () => {
  const raw = await rawServer('127.0.0.1');
  const a = createNode(testOptions({ host: '127.0.78.6' }));
  await a.start();
  const accepted: string[] = [];
  const rawB = await rawServer('127.0.0.1');
  try {
    const target = `127.0.0.1:${raw.port}`;
    // Protocol dial (join), application dial and probe: all from 127.0.78.6.
    void a.join([target], { timeoutMs: 500 }).catch(() => {});
    await waitUntil(() => raw.sources.length >= 1, 5000, 'the join dial reached the raw server');
    runToy(a).handle.drive(() => {});
    assert.equal(a.sendApp(`127.0.0.1:${rawB.port}`, '_app.toy', new Uint8Array(5)), true);
    await waitUntil(() => rawB.sources.length >= 1, 5000, 'the application dial reached the raw server');
    await a.probe(target, 1000);
    await waitUntil(() => raw.sources.length >= 2, 5000, 'the probe reached the raw server');
    accepted.push(...raw.sources, ...rawB.sources);
    assert.ok(accepted.every((s) => s === '127.0.78.6' || s === '::ffff:127.0.78.6'), `sources: ${accepted.join(', ')}`);
  } finally {
    raw.server.close();
    rawB.server.close();
    await closeAll([a]);
  }
});

test('app host: peerReconnected makes the overlay JOIN through a peer that is not a neighbour (the membership reconnect path)', { timeout: 20_000 }, async () => {
  const logger = captureLogger();
  const [a, b, c] = [createNode(testOptions({ logger })), createNode(testOptions()), createNode(testOptions())];
  await Promise.all([a.start(), b.start(), c.start()]);
  try {
    await b.join([a.address]);
    await waitUntil(() => a.neighbors().includes(b.address), 5000, 'a and b are neighbours');
    const ta = runToy(a);
    // c runs alone (another overlay, as the far side of a healed partition).
    assert.equal(a.neighbors().includes(c.address), false);
    ta.handle.drive(() => ta.app.reconnected(c.address));
    await waitUntil(() => a.neighbors().includes(c.address) && c.neighbors().includes(a.address), 5000, 'a JOINed through c: one overlay');
    assert.ok(logger.lines.some((l) => l.includes('joining the overlay through it')), 'the JOIN is logged');
    // A neighbour already: nothing happens (no second JOIN, no log line).
    const before = logger.lines.length;
    ta.handle.drive(() => ta.app.reconnected(b.address));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(logger.lines.filter((l, i) => i >= before && l.includes('joining the overlay through it')).length, 0);
    assert.ok(a.neighbors().includes(b.address) && a.neighbors().includes(c.address));
  } finally {
    await closeAll([a, b, c]);
  }
});
