// SWIM probes of the agent's membership as UDP datagrams (src/wire/datagram-app.ts, sent from
// the node's UDP socket by src/net/heartbeat.ts): counted as they go, and refused — counted
// by reason, never handed to the membership machine — when they come from outside the
// cluster: another cluster name, a bad checksum, plaintext into an encrypted cluster, another
// key, or a replay. (Silent detection with datagram probes, end to end with frozen agents:
// test/multi/agent-silent.test.ts; the detector's routing rules: test/proto/members/datagram.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Agent } from '../../src/agent/agent.js';
import { agentStarter } from './support.js';
import type { AgentMembers } from '../../src/agent/members.js';
import { DatagramSealer, Keyring, generateKey } from '../../src/wire/crypto.js';
import { encodeAppDatagram } from '../../src/wire/datagram-app.js';
import { MEMBERS_CHANNEL, encodeMembers } from '../../src/wire/members.js';
import { waitUntil } from '../support/wait.js';

const startAgent = agentStarter();

/** The membership's host counters (test access to the agent's private part). */
const membership = (a: Agent): ReturnType<AgentMembers['stats']> => (a['members_'] as AgentMembers).stats();
const alive = (a: Agent): number => a.members().filter((m) => m.status === 'alive').length;
const dropped = (a: Agent, reason: string): number => a.node.stats().droppedFrames[reason] ?? 0;

async function cluster(n: number, prefix: string, flags: Record<string, unknown> = {}): Promise<Agent[]> {
  const first = await startAgent(`${prefix}0`, flags);
  const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => startAgent(`${prefix}${i + 1}`, { ...flags, join: [first.node.address] })));
  const all = [first, ...rest];
  await waitUntil(() => all.every((a) => alive(a) === n), 20_000, () => `every agent to list ${n} alive (${all.map(alive).join(', ')})`);
  return all;
}

/** An `m-ack` that claims to come from `from`, as an application datagram of `cluster`. */
function forgedAck(cluster: string, from: string): Uint8Array {
  const m = encodeMembers({ type: 'm-ack', seq: 1, ids: [], states: [] });
  if (!m.ok) throw new Error(m.reason);
  const d = encodeAppDatagram({ cluster, from, channel: MEMBERS_CHANNEL, data: m.data });
  if (!d.ok) throw new Error(d.reason);
  return d.bytes;
}

async function sendTo(target: string, bytes: Uint8Array): Promise<void> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => sock.send(bytes, port, host, (err) => (err ? reject(err) : resolve())));
  } finally {
    sock.close();
  }
}

test('probes travel as UDP datagrams, counted at both ends, not as TCP frames', { timeout: 60_000 }, async () => {
  const all = await cluster(4, 'p');
  const a = all[0];
  // Count from the end of the join's own traffic (its change floods and link syncs travel over
  // TCP): a second with no membership message over TCP at `a` (anti-entropy runs every 30 s).
  const tcpSent = (): number => membership(a).sent - membership(a).datagrams;
  let lastTcp = tcpSent();
  let quietSince = Date.now();
  await waitUntil(() => {
    const t = tcpSent();
    if (t !== lastTcp) [lastTcp, quietSince] = [t, Date.now()];
    return Date.now() - quietSince >= 1000;
  }, 20_000, () => `a second without membership messages over TCP at ${a.node.address} (${JSON.stringify(membership(a))})`);
  const m0 = membership(a);
  const n0 = a.node.stats();
  // A quiet cluster: each agent pings about one ring subject per second and acks its observers.
  await waitUntil(() => {
    const m = membership(a);
    return m.datagrams - m0.datagrams >= 6 && m.datagramsReceived - m0.datagramsReceived >= 6;
  }, 30_000, () => `six more membership datagrams sent and received by ${a.node.address} (${JSON.stringify(membership(a))})`);
  const m1 = membership(a);
  const n1 = a.node.stats();
  const sentDgrams = m1.datagrams - m0.datagrams;
  // Every one left through the node's UDP socket and was counted there.
  assert.ok((n1.messagesOut['app-dgram'] ?? 0) - (n0.messagesOut['app-dgram'] ?? 0) >= sentDgrams, 'the node counted each datagram it sent');
  assert.ok((n1.messagesIn['app-dgram'] ?? 0) - (n0.messagesIn['app-dgram'] ?? 0) >= m1.datagramsReceived - m0.datagramsReceived);
  // The membership's TCP messages meanwhile (anti-entropy, changes) are fewer than its probes.
  const tcp = m1.sent - m0.sent - sentDgrams;
  assert.ok(tcp < sentDgrams, `membership messages over TCP (${tcp}) fewer than datagrams (${sentDgrams})`);
  assert.ok(all.every((x) => alive(x) === 4), 'everyone still alive');
});

test('a plaintext cluster: an ack from another cluster or with a bad checksum is dropped and counted', { timeout: 60_000 }, async () => {
  const [a, b] = await cluster(2, 'f');
  // Positive control: a well-formed datagram of our cluster reaches the membership machine.
  let before = membership(a).datagramsReceived;
  await sendTo(a.node.address, forgedAck('rumor', b.node.address));
  await waitUntil(() => membership(a).datagramsReceived > before, 5000, 'the well-formed datagram to be received');
  before = membership(a).datagramsReceived;
  const mismatch = dropped(a, 'cluster-mismatch');
  await sendTo(a.node.address, forgedAck('another', b.node.address));
  await waitUntil(() => dropped(a, 'cluster-mismatch') > mismatch, 5000, 'the other cluster\'s datagram counted as cluster-mismatch');
  const bad = forgedAck('rumor', b.node.address);
  bad[bad.length - 1] ^= 0xff;
  const sum = dropped(a, 'bad-checksum');
  await sendTo(a.node.address, bad);
  await waitUntil(() => dropped(a, 'bad-checksum') > sum, 5000, 'the corrupted datagram counted as bad-checksum');
  // Probes go on meanwhile; none of the refused datagrams reached the machine.
  assert.ok(membership(a).datagramsReceived - before <= membership(a).datagrams + 2);
  assert.deepEqual([alive(a), alive(b)], [2, 2]);
});

test('an encrypted cluster: without its key an ack cannot be forged, nor replayed', { timeout: 60_000 }, async () => {
  const key = generateKey();
  const [a, b] = await cluster(2, 'e', { encrypt: key });
  const sealer = new DatagramSealer(new Keyring([key]), 'rumor');
  // Positive control: sealed with the cluster's key, it is opened and received.
  const good = sealer.seal(forgedAck('rumor', b.node.address));
  let before = membership(a).datagramsReceived;
  await sendTo(a.node.address, good);
  await waitUntil(() => membership(a).datagramsReceived > before, 5000, 'the sealed datagram to be received');
  const count = async (bytes: Uint8Array, reason: string): Promise<void> => {
    const k = dropped(a, reason);
    await sendTo(a.node.address, bytes);
    await waitUntil(() => dropped(a, reason) > k, 5000, `a datagram counted as ${reason}`);
  };
  before = membership(a).datagramsReceived;
  const sentBefore = membership(a).datagrams;
  await count(forgedAck('rumor', b.node.address), 'plaintext-refused');
  await count(new DatagramSealer(new Keyring([generateKey()]), 'rumor').seal(forgedAck('rumor', b.node.address)), 'decrypt-failed');
  await count(new DatagramSealer(new Keyring([key]), 'another').seal(forgedAck('another', b.node.address)), 'decrypt-failed');
  await count(good, 'replayed');
  // What a reached its machine meanwhile are the acks of its own probes, not ours.
  assert.ok(membership(a).datagramsReceived - before <= 2 * (membership(a).datagrams - sentBefore) + 2);
  assert.deepEqual([alive(a), alive(b)], [2, 2]);
});
