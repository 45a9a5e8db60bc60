// UDP heartbeats on loopback (src/net/heartbeat.ts): idle links heartbeat over UDP, a node
// whose datagrams are dropped falls back to TCP PINGs and keeps its link, a frozen process
// (SIGSTOP: no RST, no FIN) is detected by both ends within the timeout, and garbage datagrams
// are counted by reason and ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { crc32c } from '@node-rs/crc32';
import { createNode, PROFILES, type NodeOptions, type RumorNode } from '../../src/index.js';
import type { Heartbeats } from '../../src/net/heartbeat.js';
import { encodeDatagram, encodeFrame } from '../../src/wire/index.js';
import { NodeProc } from '../multi/support/procs.js';
import { closeAll, testOptions, waitUntil } from './helpers.js';

const LOCAL = PROFILES.local.net;
/** No shuffles during the test: idle links carry nothing but heartbeats. */
const IDLE: NodeOptions = { protocol: { hyparview: { shuffleIntervalMs: 600_000 } } };

/** The node's heartbeat layer (test access to the runtime's internals). */
function heartbeats(n: RumorNode): Heartbeats {
  const t = n['transport'];
  assert.ok(t !== null);
  return t.heartbeats;
}

const count = (n: RumorNode, dir: 'messagesIn' | 'messagesOut', type: string): number => n.stats()[dir][type] ?? 0;

/** Start `a`, then `b` joining through it (so `b` dials: b → a is the link). */
async function pair(aOpts: NodeOptions = {}, bOpts: NodeOptions = {}): Promise<[RumorNode, RumorNode]> {
  const a = createNode(testOptions({ name: 'a', seed: 1, ...IDLE, ...aOpts }));
  await a.start();
  const b = createNode(testOptions({ name: 'b', seed: 2, ...IDLE, ...bOpts }));
  await b.start();
  await b.join([a.address], { timeoutMs: 5000 });
  await waitUntil(() => a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 5000, 'a and b are neighbours');
  return [a, b];
}

test('an idle link heartbeats over UDP: hb-ping/hb-pong flow, no TCP PING', { timeout: 20_000 }, async () => {
  const [a, b] = await pair();
  try {
    await waitUntil(() => b.stats().udp.links === 1 && a.stats().udp.links === 1, 3000, 'both ends hold the link token');
    assert.notEqual(a.stats().udp.port, null);
    const tcp0 = count(b, 'messagesOut', 'ping');
    const udp0 = count(b, 'messagesOut', 'hb-ping');
    const start = Date.now();
    // 15 intervals of 200 ms.
    await waitUntil(() => Date.now() - start >= 15 * LOCAL.heartbeatIntervalMs, 10_000, 'three seconds of idle link');
    const sb = b.stats();
    const sa = a.stats();
    const pings = (sb.messagesOut['hb-ping'] ?? 0) - udp0;
    assert.ok(pings >= 8, `dialer sent ${pings} UDP pings in 15 intervals`);
    assert.ok((sb.messagesOut.ping ?? 0) - tcp0 <= 2, `TCP pings: ${(sb.messagesOut.ping ?? 0) - tcp0} (only a stalled loop may fall back)`);
    assert.ok((sa.messagesIn['hb-ping'] ?? 0) >= pings - 1, 'the acceptor received them');
    assert.ok((sa.messagesOut['hb-pong'] ?? 0) >= pings - 1, 'and answered each');
    assert.ok((sb.messagesIn['hb-pong'] ?? 0) >= pings - 2, 'the pongs came back');
    assert.equal(sb.bytesOut['hb-ping'], 19 * (sb.messagesOut['hb-ping'] ?? 0), '19-byte datagrams while seq < 128');
    assert.ok(sb.rttMs[a.address] >= 0, 'rtt measured from the UDP pongs');
    assert.deepEqual(sa.closes, {});
    assert.ok(a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 'link still up');
  } finally {
    await closeAll([a, b]);
  }
});

test('datagrams dropped (firewall): the dialer falls back to TCP PINGs and the link stays up', { timeout: 20_000 }, async () => {
  const [a, b] = await pair();
  try {
    await waitUntil(() => b.stats().udp.links === 1, 3000, 'dialer holds the link token');
    heartbeats(a).dropIncoming = true;
    let downs = 0;
    a.on('neighborDown', () => downs++);
    b.on('neighborDown', () => downs++);
    const start = Date.now();
    // 5 heartbeat timeouts: without the fallback the link would have died 5 times over.
    await waitUntil(() => Date.now() - start >= 5 * LOCAL.heartbeatTimeoutMs, 15_000, 'five timeouts of dropped datagrams');
    const sb = b.stats();
    assert.equal(downs, 0, 'no neighborDown');
    assert.deepEqual([a.stats().closes, sb.closes], [{}, {}], 'no connection closed');
    assert.ok(sb.udp.fallbacks >= 2, `fallbacks: ${sb.udp.fallbacks}`);
    const tcp1 = count(b, 'messagesOut', 'ping');
    const udp1 = count(b, 'messagesOut', 'hb-ping');
    const mid = Date.now();
    await waitUntil(() => Date.now() - mid >= 10 * LOCAL.heartbeatIntervalMs, 10_000, 'ten more intervals');
    const tcp = count(b, 'messagesOut', 'ping') - tcp1;
    const udp = count(b, 'messagesOut', 'hb-ping') - udp1;
    assert.ok(tcp >= 5, `TCP pings in 10 intervals: ${tcp}`);
    assert.ok(udp <= 1, `after 2 misses the link stops trying UDP (one retry per 32 beats): ${udp}`);
    // UDP comes back: the periodic retry is answered and the link returns to UDP.
    heartbeats(a).dropIncoming = false;
    const back = count(b, 'messagesIn', 'hb-pong');
    await waitUntil(() => count(b, 'messagesIn', 'hb-pong') > back + 3, 32 * LOCAL.heartbeatIntervalMs * 3, 'UDP heartbeats resume');
    assert.ok(a.neighbors().includes(b.address));
  } finally {
    await closeAll([a, b]);
  }
});

test('UDP off on the acceptor: no token, TCP heartbeats only, link alive', { timeout: 20_000 }, async () => {
  const [a, b] = await pair({ net: { udpHeartbeats: false } });
  try {
    assert.equal(a.stats().udp.port, null);
    const tcp0 = count(b, 'messagesOut', 'ping');
    const start = Date.now();
    await waitUntil(() => Date.now() - start >= 3 * LOCAL.heartbeatTimeoutMs, 10_000, 'three timeouts');
    assert.ok(count(b, 'messagesOut', 'ping') - tcp0 >= 8, 'TCP pings');
    assert.equal(count(b, 'messagesOut', 'hb-ping'), 0);
    assert.equal(b.stats().udp.links, 0);
    assert.ok(a.neighbors().includes(b.address) && b.neighbors().includes(a.address));
  } finally {
    await closeAll([a, b]);
  }
});

test('a frozen process (SIGSTOP) is detected by its dialer and its acceptor within the timeout', { timeout: 40_000 }, async () => {
  const proc = new NodeProc('frozen', () => {});
  const local: RumorNode[] = [];
  try {
    const [c] = await proc.start('127.0.0.1', ['c'], { profile: 'local', ...IDLE });
    // a accepts c's link; b dials c.
    const a = createNode(testOptions({ name: 'a', seed: 11, ...IDLE }));
    const b = createNode(testOptions({ name: 'b', seed: 12, ...IDLE }));
    local.push(a, b);
    await a.start();
    await b.start();
    await proc.join([a.address]);
    await b.join([c], { timeoutMs: 5000 });
    await waitUntil(() => a.neighbors().includes(c) && b.neighbors().includes(c), 5000, 'a and b neighbours of c');
    await waitUntil(() => a.stats().udp.links >= 1 && b.stats().udp.links >= 1, 3000, 'links tokened');
    const downs: Array<{ at: string; reason: string; ms: number }> = [];
    let t0 = 0;
    for (const n of [a, b]) n.on('neighborDown', (p, reason) => p === c && downs.push({ at: n.address, reason, ms: performance.now() - t0 }));
    t0 = performance.now();
    proc.child.kill('SIGSTOP');
    const bound = LOCAL.heartbeatTimeoutMs + 500;
    await waitUntil(() => downs.length === 2, bound + 2000, 'both a and b saw c go down');
    for (const d of downs) {
      assert.equal(d.reason, 'link-failed');
      assert.ok(d.ms <= bound, `${d.at} detected after ${Math.round(d.ms)} ms (bound ${bound})`);
      // Not a reset: nothing could close the link before the last heartbeat aged out.
      assert.ok(d.ms >= LOCAL.heartbeatTimeoutMs - LOCAL.heartbeatIntervalMs - 150, `${d.at} after ${Math.round(d.ms)} ms`);
    }
    assert.ok((a.stats().closes['heartbeat-timeout'] ?? 0) >= 1 && (b.stats().closes['heartbeat-timeout'] ?? 0) >= 1);
  } finally {
    proc.child.kill('SIGCONT');
    await closeAll(local);
    await proc.kill9();
  }
});

test('garbage datagrams are counted by reason and ignored; the node keeps serving', { timeout: 20_000 }, async () => {
  const [a, b] = await pair();
  const sock = createSocket('udp4');
  try {
    await waitUntil(() => a.stats().udp.links === 1, 3000, 'link tokened');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const port = Number(a.address.slice(a.address.lastIndexOf(':') + 1));
    const send = (b: Uint8Array): Promise<void> => new Promise((r) => sock.send(b, port, '127.0.0.1', () => r()));
    const valid = encodeDatagram({ type: 'hb-ping', token: '00112233445566ff', seq: 1 });
    assert.ok(valid.ok);
    const badCrc = valid.frame.slice();
    badCrc[badCrc.length - 1] ^= 1;
    const tcpFrame = encodeFrame({ type: 'join' });
    assert.ok(tcpFrame.ok);
    const wrongCode = valid.frame.slice();
    wrongCode[5] = 33;
    new DataView(wrongCode.buffer).setUint32(wrongCode.length - 4, crc32c(wrongCode.subarray(4, wrongCode.length - 4)));
    const random = Uint8Array.from({ length: 20 }, (_, i) => (i * 73 + 11) & 0xff);
    await send(valid.frame); // unknown token
    await send(valid.frame);
    await send(badCrc);
    await send(tcpFrame.frame); // too short to be a datagram
    await send(wrongCode);
    await send(random);
    await send(new Uint8Array(400));
    const want = { 'unknown-token': 2, 'bad-checksum': 1, 'bad-length': 2, 'unknown-type': 1, 'frame-too-large': 1 };
    const label = `udp:127.0.0.1:${sock.address().port}`;
    await waitUntil(() => Object.values(a.stats().droppedFramesByPeer[label] ?? {}).reduce((x, y) => x + y, 0) >= 7, 3000, 'seven datagrams counted');
    assert.deepEqual(a.stats().droppedFramesByPeer[label], want);
    for (const [k, v] of Object.entries(want)) assert.ok((a.stats().droppedFrames[k] ?? 0) >= v, k);
    // Still serving: the link lives on and a broadcast still gets through.
    const got: string[] = [];
    b.on('message', (d) => got.push(Buffer.from(d.data).toString()));
    a.broadcast('still-here');
    await waitUntil(() => got.includes('still-here'), 3000, 'broadcast after garbage');
    const p0 = count(a, 'messagesIn', 'hb-ping');
    await waitUntil(() => count(a, 'messagesIn', 'hb-ping') >= p0 + 3, 3000, 'heartbeats continue');
  } finally {
    sock.close();
    await closeAll([a, b]);
  }
});
