// UDP heartbeats on loopback (src/net/heartbeat.ts): idle links heartbeat over UDP, a node
// whose datagrams are dropped falls back to TCP PINGs and keeps its link, a frozen process
// (SIGSTOP: no RST, no FIN) is detected by both ends — never before the timeout — and garbage
// datagrams are counted by reason and ignored.
//
// Both nodes of a pair run in this process, on a loaded 2-core machine: the tests count
// heartbeats (never heartbeats per wall-clock window), and the links that must stay up use a
// heartbeat timeout long enough to survive a stalled event loop. Detection latency itself is
// a benchmark figure (bench/detect.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { crc32c } from '@node-rs/crc32';
import { createNode, PROFILES, type NodeOptions, type RumorNode } from '../../src/index.js';
import type { Heartbeats } from '../../src/net/heartbeat.js';
import type { Connection } from '../../src/net/connection.js';
import { encodeDatagram, encodeFrame } from '../../src/wire/index.js';
import { NodeProc } from '../multi/support/procs.js';
import { closeAll, testOptions, waitUntil } from './helpers.js';

const LOCAL = PROFILES.local.net;
/** No shuffles during the test: idle links carry nothing but heartbeats. */
const IDLE: NodeOptions = { protocol: { hyparview: { shuffleIntervalMs: 600_000 } } };
/** Links that must stay up: the `local` interval (200 ms) with a timeout that survives this
 *  process stalling for a few seconds (both ends of the link run here). */
const STALL_PROOF_TIMEOUT_MS = 3000;
const STEADY: NodeOptions = { ...IDLE, net: { heartbeatTimeoutMs: STALL_PROOF_TIMEOUT_MS } };

/** The node's heartbeat layer (test access to the runtime's internals). */
function heartbeats(n: RumorNode): Heartbeats {
  const t = n['transport'];
  assert.ok(t !== null);
  return t.heartbeats;
}

const count = (n: RumorNode, dir: 'messagesIn' | 'messagesOut', type: string): number => n.stats()[dir][type] ?? 0;

/** Start `a`, then `b` joining through it (so `b` dials: b → a is the link). */
async function pair(aOpts: NodeOptions = {}, bOpts: NodeOptions = {}): Promise<[RumorNode, RumorNode]> {
  const a = createNode(testOptions({ name: 'a', seed: 1, ...STEADY, ...aOpts, net: { ...STEADY.net, ...aOpts.net } }));
  await a.start();
  const b = createNode(testOptions({ name: 'b', seed: 2, ...STEADY, ...bOpts, net: { ...STEADY.net, ...bOpts.net } }));
  await b.start();
  await b.join([a.address], { timeoutMs: 5000 });
  await waitUntil(() => a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 5000, 'a and b are neighbours');
  return [a, b];
}

test('an idle link heartbeats over UDP: hb-ping/hb-pong flow, TCP PINGs only as fallbacks', { timeout: 60_000 }, async () => {
  const [a, b] = await pair();
  try {
    await waitUntil(() => b.stats().udp.links === 1 && a.stats().udp.links === 1, 10_000, 'both ends hold the link token');
    assert.notEqual(a.stats().udp.port, null);
    const tcp0 = count(b, 'messagesOut', 'ping');
    const udp0 = count(b, 'messagesOut', 'hb-ping');
    const fb0 = b.stats().udp.fallbacks;
    // Counted, not timed: the dialer sends its heartbeats as UDP pings; the acceptor receives
    // and answers each; the pongs come back.
    await waitUntil(() => count(b, 'messagesOut', 'hb-ping') - udp0 >= 10, 30_000, 'ten UDP pings from the dialer');
    const sent = count(b, 'messagesOut', 'hb-ping');
    await waitUntil(() => count(a, 'messagesIn', 'hb-ping') >= sent - 1, 10_000, () => `the acceptor to receive the pings (${count(a, 'messagesIn', 'hb-ping')} of ${sent})`);
    await waitUntil(() => count(a, 'messagesOut', 'hb-pong') >= sent - 1, 10_000, 'the acceptor to answer each');
    await waitUntil(() => count(b, 'messagesIn', 'hb-pong') >= sent - 2, 10_000, () => `the pongs to come back (${count(b, 'messagesIn', 'hb-pong')} of ${sent})`);
    const sb = b.stats();
    // A TCP PING goes out only after a UDP ping was left unanswered (a fallback; after two in
    // a row the link stays on TCP for a while): none unless the loop stalled past a fallback.
    const tcp = (sb.messagesOut.ping ?? 0) - tcp0;
    const fallbacks = sb.udp.fallbacks - fb0;
    assert.ok(tcp === 0 || fallbacks > 0, `${tcp} TCP pings without any UDP fallback`);
    assert.equal(sb.bytesOut['hb-ping'], 19 * (sb.messagesOut['hb-ping'] ?? 0), '19-byte datagrams while seq < 128');
    assert.ok(sb.rttMs[a.address] >= 0, 'rtt measured from the UDP pongs');
    assert.deepEqual(a.stats().closes, {});
    assert.ok(a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 'link still up');
  } finally {
    await closeAll([a, b]);
  }
});

test('datagrams dropped (firewall): the dialer falls back to TCP PINGs and the link stays up', { timeout: 60_000 }, async () => {
  const [a, b] = await pair();
  try {
    await waitUntil(() => b.stats().udp.links === 1, 10_000, 'dialer holds the link token');
    heartbeats(a).dropIncoming = true;
    let downs = 0;
    a.on('neighborDown', () => downs++);
    b.on('neighborDown', () => downs++);
    const start = Date.now();
    // Two heartbeat timeouts of dropped datagrams: without the fallback the acceptor, hearing
    // nothing, would have closed the link.
    await waitUntil(() => b.stats().udp.fallbacks >= 2, 10_000, 'two fallbacks to TCP');
    await waitUntil(() => Date.now() - start >= 2 * STALL_PROOF_TIMEOUT_MS, 30_000, 'two timeouts of dropped datagrams');
    const sb = b.stats();
    assert.equal(downs, 0, 'no neighborDown');
    assert.deepEqual([a.stats().closes, sb.closes], [{}, {}], 'no connection closed');
    // After 2 misses the link pings over TCP only, retrying UDP once per 32 beats: counted
    // over the next 10 TCP pings, at most one UDP ping.
    const tcp1 = count(b, 'messagesOut', 'ping');
    const udp1 = count(b, 'messagesOut', 'hb-ping');
    await waitUntil(() => count(b, 'messagesOut', 'ping') - tcp1 >= 10, 30_000, 'ten more TCP pings');
    const udp = count(b, 'messagesOut', 'hb-ping') - udp1;
    assert.ok(udp <= 1, `UDP pings during 10 TCP pings: ${udp} (one retry per 32 beats)`);
    // UDP comes back: the periodic retry is answered and the link returns to UDP.
    heartbeats(a).dropIncoming = false;
    const back = count(b, 'messagesIn', 'hb-pong');
    await waitUntil(() => count(b, 'messagesIn', 'hb-pong') > back + 3, 60_000, 'UDP heartbeats resume after a retry (one per 32 beats)');
    assert.ok(a.neighbors().includes(b.address));
    assert.equal(downs, 0, 'no neighborDown');
  } finally {
    await closeAll([a, b]);
  }
});

test('UDP off on the acceptor: no token, TCP heartbeats only, link alive', { timeout: 60_000 }, async () => {
  const [a, b] = await pair({ net: { udpHeartbeats: false } });
  try {
    assert.equal(a.stats().udp.port, null);
    const tcp0 = count(b, 'messagesOut', 'ping');
    const start = Date.now();
    await waitUntil(() => count(b, 'messagesOut', 'ping') - tcp0 >= 8, 30_000, 'eight TCP pings');
    await waitUntil(() => Date.now() - start >= 2 * STALL_PROOF_TIMEOUT_MS, 30_000, 'two heartbeat timeouts');
    assert.equal(count(b, 'messagesOut', 'hb-ping'), 0);
    assert.equal(b.stats().udp.links, 0);
    assert.deepEqual([a.stats().closes, b.stats().closes], [{}, {}], 'no connection closed');
    assert.ok(a.neighbors().includes(b.address) && b.neighbors().includes(a.address));
  } finally {
    await closeAll([a, b]);
  }
});

test('a frozen process (SIGSTOP) is detected by its dialer and its acceptor, never before the timeout', { timeout: 60_000 }, async () => {
  const proc = new NodeProc('frozen', () => {});
  const local: RumorNode[] = [];
  try {
    const [c] = await proc.start('127.0.0.1', ['c'], { profile: 'local', ...IDLE });
    // a accepts c's link; b dials c. Both use the `local` timings (1 s timeout).
    const a = createNode(testOptions({ name: 'a', seed: 11, ...IDLE }));
    const b = createNode(testOptions({ name: 'b', seed: 12, ...IDLE }));
    local.push(a, b);
    await a.start();
    await b.start();
    await proc.join([a.address]);
    await b.join([c], { timeoutMs: 5000 });
    await waitUntil(() => a.neighbors().includes(c) && b.neighbors().includes(c), 10_000, 'a and b neighbours of c');
    await waitUntil(() => a.stats().udp.links >= 1 && b.stats().udp.links >= 1, 10_000, 'links tokened');
    // The connections to c (test access to the runtime): their `lastRecvAt` says when the
    // last byte or datagram from c arrived (performance.now(), the clock used below).
    const linkTo = (n: RumorNode): Connection => {
      const conns = [...(n['transport']!['conns'] as Set<Connection>)].filter((x) => x.peer === c && x.state === 'open');
      assert.equal(conns.length, 1, `${n.address} has one open link to ${c}`);
      return conns[0];
    };
    const links = new Map([a, b].map((n) => [n.address, linkTo(n)]));
    const downs: Array<{ at: string; reason: string; t: number }> = [];
    for (const n of [a, b]) n.on('neighborDown', (p, reason) => p === c && downs.push({ at: n.address, reason, t: performance.now() }));
    const t0 = performance.now();
    proc.child.kill('SIGSTOP');
    // Detected: a bound for a loaded machine, not a latency figure.
    await waitUntil(() => downs.length === 2, LOCAL.heartbeatTimeoutMs + 15_000, () => `both a and b to see c go down (so far: ${JSON.stringify(downs)})`);
    for (const d of downs) {
      assert.equal(d.reason, 'link-failed');
      // Never before the timeout: c's last frame arrived at lastRecvAt, and nothing may end
      // the link until the timeout has passed since then.
      const last = links.get(d.at)!.lastRecvAt;
      assert.ok(d.t - last >= LOCAL.heartbeatTimeoutMs, `${d.at} declared c down ${Math.round(d.t - last)} ms after its last frame (timeout ${LOCAL.heartbeatTimeoutMs})`);
      console.log(`# ${d.at}: down ${Math.round(d.t - t0)} ms after SIGSTOP, ${Math.round(d.t - last)} ms after c's last frame`);
    }
    assert.ok((a.stats().closes['heartbeat-timeout'] ?? 0) >= 1 && (b.stats().closes['heartbeat-timeout'] ?? 0) >= 1, 'closed by heartbeat timeout, not a reset');
  } finally {
    proc.child.kill('SIGCONT');
    await closeAll(local);
    await proc.kill9();
  }
});

test('garbage datagrams are counted by reason and ignored; the node keeps serving', { timeout: 60_000 }, async () => {
  const [a, b] = await pair();
  const sock = createSocket('udp4');
  try {
    await waitUntil(() => a.stats().udp.links === 1, 10_000, 'link tokened');
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
    await waitUntil(() => Object.values(a.stats().droppedFramesByPeer[label] ?? {}).reduce((x, y) => x + y, 0) >= 7, 10_000, 'seven datagrams counted');
    assert.deepEqual(a.stats().droppedFramesByPeer[label], want);
    for (const [k, v] of Object.entries(want)) assert.ok((a.stats().droppedFrames[k] ?? 0) >= v, k);
    // Still serving: the link lives on and a broadcast still gets through.
    const got: string[] = [];
    b.on('message', (d) => got.push(Buffer.from(d.data).toString()));
    a.broadcast('still-here');
    await waitUntil(() => got.includes('still-here'), 10_000, 'broadcast after garbage');
    const p0 = count(a, 'messagesIn', 'hb-ping');
    await waitUntil(() => count(a, 'messagesIn', 'hb-ping') >= p0 + 3, 10_000, 'heartbeats continue');
  } finally {
    sock.close();
    await closeAll([a, b]);
  }
});
