// The transport's connection sweep armed for the next deadline (src/net/sweep.ts): each
// connection state's deadline, the Sweeper acting at (never before) a deadline without polling,
// and an idle pair of real nodes whose sweeps follow their heartbeats instead of the 40 ms tick
// of the `local` profile. Counted, not timed: a loaded machine runs fewer passes, never more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, PROFILES, type RumorNode } from '../../src/index.js';
import type { Connection } from '../../src/net/connection.js';
import { Heartbeats, udpFallbackMs } from '../../src/net/heartbeat.js';
import { checkTickMs } from '../../src/net/profiles.js';
import { StatsCounters } from '../../src/net/stats.js';
import { connectionDue, MIN_SWEEP_GAP_MS, nextSweepAt, StallClock, Sweeper, type SweepHost } from '../../src/net/sweep.js';
import { Keyring } from '../../src/wire/crypto.js';
import { closeAll, testOptions, waitUntil } from './helpers.js';

const LAN = PROFILES.lan.net;
const quiet = { info() {}, warn() {}, error() {}, debug() {} };

function host(neighbour = true, timings = LAN): SweepHost {
  const hb = new Heartbeats(
    { counters: new StatsCounters(), logger: quiet, writeControl: () => {}, countBad: () => {}, now: () => performance.now(), keyring: new Keyring([], 'accept'), cluster: '' },
    timings,
  );
  return { timings, logger: quiet, heartbeats: hb, isNeighbour: () => neighbour, tickMs: checkTickMs(timings) };
}

/** What the sweep reads of a connection, with a record of what it did to it. */
function fakeConn(o: Partial<Connection> & { state: Connection['state'] }, done: string[] = []): Connection {
  const base = { createdAt: 0, closingAt: 0, lastRecvAt: 0, lastSendAt: 0, lastProtoAt: 0, pingSentAt: 0, udpAwaiting: false, direction: 'in', peer: 'p:1' };
  const c = {
    ...base,
    queueBytes: () => 0,
    label: () => 'p:1',
    // As Connection does: closing from then on (its socket's close then unregisters it).
    destroy: (cause: string) => {
      done.push(`destroy ${cause}`);
      Object.assign(c, { state: 'closing', closingAt: performance.now() });
    },
    end: (cause: string) => done.push(`end ${cause}`),
    ...o,
  };
  return c as unknown as Connection;
}

test('each connection state has the deadline the sweep checks', () => {
  const h = host();
  assert.equal(connectionDue(fakeConn({ state: 'connecting', createdAt: 100 }), 0, h), 100 + LAN.connectTimeoutMs);
  assert.equal(connectionDue(fakeConn({ state: 'handshaking', createdAt: 100 }), 0, h), 100 + LAN.handshakeTimeoutMs);
  assert.equal(connectionDue(fakeConn({ state: 'closing', closingAt: 300 }), 0, h), 300 + LAN.leaveFlushMs);
  assert.equal(connectionDue(fakeConn({ state: 'closed' }), 0, h), Infinity);
  // An accepted neighbour link: only its heartbeat timeout (the dialer pings, not us).
  assert.equal(connectionDue(fakeConn({ state: 'open', lastRecvAt: 1000 }), 1000, h), 1000 + LAN.heartbeatTimeoutMs);
  // A dialed link: its next ping, an interval after the later of the last ping and the quieter direction.
  const dialed = fakeConn({ state: 'open', direction: 'out', lastRecvAt: 1000, lastSendAt: 1500, pingSentAt: 900 });
  assert.equal(connectionDue(dialed, 1500, h), 1000 + LAN.heartbeatIntervalMs);
  // ... or the UDP fallback while a ping awaits its pong.
  const awaiting = fakeConn({ state: 'open', direction: 'out', lastRecvAt: 1000, lastSendAt: 2000, pingSentAt: 2000, udpAwaiting: true });
  assert.equal(connectionDue(awaiting, 2000, h), 2000 + udpFallbackMs(LAN));
  // Not a neighbour's: its idle close comes first; still writing, it is looked at a tick later.
  const h2 = host(false);
  assert.equal(connectionDue(fakeConn({ state: 'open', lastRecvAt: 1000, lastProtoAt: 1000 }), 1000, h2), 1000 + LAN.idleCloseMs);
  const busy = fakeConn({ state: 'open', lastRecvAt: 1000, lastProtoAt: 0, queueBytes: () => 10 });
  assert.equal(connectionDue(busy, 1200, h2), 1200 + checkTickMs(LAN));
  // The next pass: the earliest, never sooner than the minimum gap.
  const conns = [fakeConn({ state: 'handshaking', createdAt: 0 }), fakeConn({ state: 'connecting', createdAt: 0 })];
  assert.equal(nextSweepAt(conns, 0, h), Math.min(LAN.connectTimeoutMs, LAN.handshakeTimeoutMs));
  assert.equal(nextSweepAt([fakeConn({ state: 'connecting', createdAt: -1e6 })], 50, h), 50 + MIN_SWEEP_GAP_MS);
  assert.equal(nextSweepAt([], 50, h), Infinity);
});

test('a sweep more than a tick after the time it was armed for is a stall, and timeouts wait it out', () => {
  const c = new StallClock(40, 10_000);
  c.sweep(0);
  c.sweep(2000, 1990); // 10 ms late: not a stall, however long since the previous sweep
  assert.equal(c.stalledSince(0), 0);
  c.sweep(3000, 2100); // armed for 2100, ran at 3000: stalled from 2100
  assert.equal(c.stalledSince(0), 900);
  // A link silent since 1000: its heartbeat timeout comes the stall's length later.
  const h = { ...host(), stalls: c };
  assert.equal(connectionDue(fakeConn({ state: 'open', lastRecvAt: 1000 }), 3000, h), 1000 + LAN.heartbeatTimeoutMs + 900);
  assert.equal(connectionDue(fakeConn({ state: 'connecting', createdAt: 2500 }), 3000, h), 2500 + LAN.connectTimeoutMs + 500);
});

test('the Sweeper acts at a deadline, not before it, and does not poll in between', { timeout: 20_000 }, async () => {
  const timings = { ...LAN, connectTimeoutMs: 300 };
  const h = host(true, timings);
  const done: string[] = [];
  const t0 = performance.now();
  const c = fakeConn({ state: 'connecting', createdAt: t0 }, done);
  const sw = new Sweeper([c], h, () => performance.now());
  try {
    assert.equal(sw.armedAt(), Infinity, 'nothing armed before a change');
    sw.soon();
    assert.ok(sw.armedAt() <= performance.now() + h.tickMs, 'a change gets a pass within one tick');
    await waitUntil(() => sw.passes >= 1, 10_000, 'the first pass');
    // After a first pass before the deadline, the timer waits for it (300 ms after creation; a
    // loaded machine may run the first pass after it, and close the connection then).
    if (done.length === 0) {
      // Compared as absolute times: `armedAt() - t0` can come out as 299.99999999999994.
      const at = sw.armedAt() - t0;
      assert.ok(sw.armedAt() >= t0 + 300 && at <= 301 + MIN_SWEEP_GAP_MS, `armed for the deadline (${at} ms after creation)`);
    }
    await waitUntil(() => done.length > 0, 10_000, 'the connect timeout to close the connection');
    assert.deepEqual(done, ['destroy connect-timeout']);
    assert.ok(performance.now() - t0 > 300, 'not before its deadline');
    // Polling every tick (60 ms here) runs 5 passes or more by the deadline; armed for it: the
    // first pass, the deadline's, and at most two re-arms of MIN_SWEEP_GAP_MS (a timer that fired
    // a little early, a strict comparison at the exact deadline).
    assert.ok(sw.passes <= 4, `${sw.passes} passes for one deadline`);
  } finally {
    sw.close();
  }
  assert.equal(sw.armedAt(), Infinity, 'closed: nothing armed');
});

test('an idle pair: the sweep runs about once per heartbeat, not every tick, and the link stays up', { timeout: 60_000 }, async () => {
  const IDLE = { protocol: { hyparview: { shuffleIntervalMs: 600_000 } } };
  const a = createNode(testOptions({ name: 'a', seed: 1, ...IDLE, net: { heartbeatTimeoutMs: 3000 } }));
  const b = createNode(testOptions({ name: 'b', seed: 2, ...IDLE, net: { heartbeatTimeoutMs: 3000 } }));
  const nodes: RumorNode[] = [a, b];
  try {
    await a.start();
    await b.start();
    await b.join([a.address], { timeoutMs: 5000 });
    await waitUntil(() => a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 10_000, 'a and b are neighbours');
    const sweeper = (n: RumorNode): Sweeper => n['transport']!['sweeper'];
    const pings = (): number => b.stats().messagesOut['hb-ping'] ?? 0;
    await waitUntil(() => pings() >= 2, 20_000, 'b to heartbeat');
    const [pa0, pb0, k0] = [sweeper(a).passes, sweeper(b).passes, pings()];
    await waitUntil(() => pings() - k0 >= 15, 30_000, 'fifteen more heartbeats from the dialer');
    const k = pings() - k0;
    const [pa, pb] = [sweeper(a).passes - pa0, sweeper(b).passes - pb0];
    // local: heartbeat every 200 ms, tick 40 ms: polling ran ~5 passes per heartbeat on each node.
    assert.ok(pb <= 2 * k + 2, `the dialer: ${pb} passes for ${k} heartbeats`);
    assert.ok(pa <= k + 2, `the acceptor: ${pa} passes for ${k} heartbeats (its only deadline is the timeout, pushed back by each ping)`);
    assert.ok(a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 'link still up');
    assert.deepEqual(a.stats().closes, {});
  } finally {
    await closeAll(nodes);
  }
});
