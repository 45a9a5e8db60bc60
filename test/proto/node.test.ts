// ProtoNode: configuration resolution, and routing of messages, timers and neighbour
// changes between the membership machine, the broadcast machine and the Io sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CYCLON_CONFIG } from '../../src/proto/cyclon.js';
import { DEFAULT_FANOUT_CONFIG } from '../../src/proto/fanout.js';
import { Flood } from '../../src/proto/flood.js';
import { DEFAULT_HYPARVIEW_CONFIG } from '../../src/proto/hyparview.js';
import { DEFAULT_NODE_CONFIG, ProtoNode, resolveNodeConfig, type NodeConfig, type NodeConfigInput } from '../../src/proto/node.js';
import { DEFAULT_PLUMTREE_CONFIG, Plumtree } from '../../src/proto/plumtree.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { Io, Message, MsgId, NodeEvent, PeerSource, Timer } from '../../src/proto/types.js';

type Out =
  | { k: 'send'; to: number; msg: Message<number> }
  | { k: 'timer'; delay: number; t: Timer<number> }
  | { k: 'connect' | 'disconnect'; peer: number }
  | { k: 'deliver'; id: MsgId; round: number; from: number | null }
  | { k: 'event'; e: NodeEvent<number> };

function recorder(): { io: Io<number>; take(): Out[] } {
  const out: Out[] = [];
  const io: Io<number> = {
    send: (to, msg) => out.push({ k: 'send', to, msg }),
    timer: (delay, t) => out.push({ k: 'timer', delay, t }),
    connect: (peer) => out.push({ k: 'connect', peer }),
    disconnect: (peer) => out.push({ k: 'disconnect', peer }),
    deliver: (id, _payload, round, from) => out.push({ k: 'deliver', id, round, from }),
    event: (e) => out.push({ k: 'event', e }),
  };
  return { io, take: () => out.splice(0, out.length) };
}

function resolved(input: NodeConfigInput): NodeConfig {
  const r = resolveNodeConfig(input);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.config;
}

function reason(input: unknown): string {
  const r = resolveNodeConfig(input as NodeConfigInput);
  assert.equal(r.ok, false);
  const why = (r as { reason: string }).reason;
  assert.ok(!why.includes('\n'), `one line: ${why}`);
  return why;
}

const gossipTo = (out: Out[]): { to: number; id: MsgId; round: number }[] =>
  out.flatMap((o) => (o.k === 'send' && o.msg.type === 'gossip' ? [{ to: o.to, id: o.msg.id, round: o.msg.round }] : []));
const events = (out: Out[]): NodeEvent<number>[] => out.flatMap((o) => (o.k === 'event' ? [o.e] : []));

/** Cyclon with a small exact-timing configuration. */
const SMALL_CYCLON = { viewSize: 5, shuffleLength: 4, shuffleIntervalMs: 1000, shuffleJitter: 0 };
const PAYLOAD = new Uint8Array([1, 2, 3]);

test('resolveNodeConfig: defaults, and partial sub-configs merged over the defaults', () => {
  assert.deepEqual(resolved({}), DEFAULT_NODE_CONFIG);
  assert.deepEqual(resolved({}), {
    membership: 'hyparview',
    broadcast: 'plumtree',
    hyparview: DEFAULT_HYPARVIEW_CONFIG,
    cyclon: DEFAULT_CYCLON_CONFIG,
    plumtree: DEFAULT_PLUMTREE_CONFIG,
    fanout: DEFAULT_FANOUT_CONFIG,
  });
  const c = resolved({ membership: 'cyclon', broadcast: 'fanout', cyclon: { viewSize: 20 }, fanout: { fanout: 6 } });
  assert.equal(c.membership, 'cyclon');
  assert.equal(c.broadcast, 'fanout');
  assert.deepEqual(c.cyclon, { ...DEFAULT_CYCLON_CONFIG, viewSize: 20 });
  assert.deepEqual(c.fanout, { ...DEFAULT_FANOUT_CONFIG, fanout: 6 });
  assert.deepEqual(c.hyparview, DEFAULT_HYPARVIEW_CONFIG);
});

test('resolveNodeConfig: one-line reasons naming the field', () => {
  assert.equal(reason({ membership: 'swim' }), 'membership: expected "hyparview" or "cyclon", got "swim"');
  assert.equal(reason({ broadcast: 'carrier-pigeon' }), 'broadcast: expected "plumtree", "flood" or "fanout", got "carrier-pigeon"');
  assert.equal(reason({ hyparview: { activeViewSize: 0 } }), 'hyparview.activeViewSize: expected an integer >= 1, got 0');
  assert.equal(reason({ cyclon: { viewSize: 0 } }), 'cyclon.viewSize: expected an integer >= 1, got 0');
  assert.equal(reason({ cyclon: { shuffleLength: 99 } }), 'cyclon.shuffleLength: expected an integer in [1, viewSize=35], got 99');
  assert.match(reason({ plumtree: { graftTimeoutMs: 10_000 } }), /^plumtree\.graftTimeoutMs: /);
  assert.match(reason({ fanout: { fanout: 0 } }), /^fanout\.fanout: /);
  // Sub-configs are validated even when their protocol is not selected.
  assert.match(reason({ membership: 'cyclon', hyparview: { passiveViewSize: -1 } }), /^hyparview\.passiveViewSize: /);
});

test('cyclon + flood: membership messages reach Cyclon, view changes reach io.event and Flood', () => {
  const { io, take } = recorder();
  const node = new ProtoNode<number>({ self: 0, config: resolved({ membership: 'cyclon', broadcast: 'flood', cyclon: SMALL_CYCLON }), rng: new Sfc32(1), io });
  node.join([100], 0);
  assert.deepEqual(take(), [
    { k: 'send', to: 100, msg: { type: 'cyclon-shuffle', entries: [{ peer: 0, age: 0 }] } },
    { k: 'timer', delay: 1000, t: { type: 'cyclon-shuffle' } },
  ]);
  node.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 5 }] }, 10);
  assert.deepEqual(take(), [
    { k: 'event', e: { type: 'neighbor-up', peer: 100 } },
    { k: 'event', e: { type: 'neighbor-up', peer: 1 } },
  ]);
  assert.deepEqual(node.activeView(), [100, 1]);
  assert.deepEqual(node.passiveView(), []);
  assert.deepEqual((node.broadcaster as Flood<number>).neighborList(), [100, 1]);

  // Originating a broadcast: local delivery, then a push to every neighbour.
  assert.equal(node.broadcast('m1', PAYLOAD, 20), true);
  const b = take();
  assert.deepEqual(b.filter((o) => o.k === 'deliver'), [{ k: 'deliver', id: 'm1', round: 0, from: null }]);
  assert.deepEqual(gossipTo(b), [{ to: 100, id: 'm1', round: 0 }, { to: 1, id: 'm1', round: 0 }]);
  assert.equal(node.broadcast('m1', PAYLOAD, 21), false);

  // A gossip from a neighbour goes to the broadcaster (delivered, forwarded to the others).
  node.handleMessage(1, { type: 'gossip', id: 'm2', round: 3, payload: PAYLOAD }, 30);
  const g = take();
  assert.deepEqual(g.filter((o) => o.k === 'deliver'), [{ k: 'deliver', id: 'm2', round: 3, from: 1 }]);
  assert.deepEqual(gossipTo(g), [{ to: 100, id: 'm2', round: 4 }]);

  // The shuffle timer goes to Cyclon: the oldest entry (1, age 6) leaves the view, which is
  // reported to the application and to Flood (it no longer receives broadcasts).
  node.handleTimer({ type: 'cyclon-shuffle' }, 1000);
  const s = take();
  assert.deepEqual(events(s), [{ type: 'neighbor-down', peer: 1, reason: 'evicted' }]);
  assert.ok(s.some((o) => o.k === 'send' && o.to === 1 && o.msg.type === 'cyclon-shuffle'));
  assert.deepEqual((node.broadcaster as Flood<number>).neighborList(), [100]);
  node.broadcast('m3', PAYLOAD, 1001);
  assert.deepEqual(gossipTo(take()), [{ to: 100, id: 'm3', round: 0 }]);

  // A Cyclon shuffle from another node is answered by Cyclon, not by the broadcaster.
  node.handleMessage(9, { type: 'cyclon-shuffle', entries: [{ peer: 9, age: 0 }] }, 1002);
  const r = take();
  assert.equal(r[0].k === 'send' && r[0].to === 9 && r[0].msg.type, 'cyclon-reply');
  assert.deepEqual(events(r), [{ type: 'neighbor-up', peer: 9 }]);
  assert.ok(r.every((o) => o.k !== 'deliver'));
});

test('cyclon + plumtree: neighbour-up makes the peer an eager Plumtree link', () => {
  const { io, take } = recorder();
  const node = new ProtoNode<number>({ self: 0, config: resolved({ membership: 'cyclon', broadcast: 'plumtree', cyclon: SMALL_CYCLON }), rng: new Sfc32(2), io });
  node.join([100], 0);
  node.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 0 }] }, 1);
  take();
  assert.deepEqual([...(node.broadcaster as Plumtree<number>).eagerPeers()].sort((a, b) => a - b), [1, 100]);
  node.broadcast('x', PAYLOAD, 2);
  assert.deepEqual(gossipTo(take()).map((g) => g.to).sort((a, b) => a - b), [1, 100]);
});

test('cyclon + fanout: pushes over the Cyclon view by default, or over a given peer source', () => {
  const { io, take } = recorder();
  const config = resolved({ membership: 'cyclon', broadcast: 'fanout', cyclon: SMALL_CYCLON });
  const node = new ProtoNode<number>({ self: 0, config, rng: new Sfc32(3), io });
  node.join([100], 0);
  node.handleMessage(100, { type: 'cyclon-reply', entries: [{ peer: 1, age: 0 }, { peer: 2, age: 0 }] }, 1);
  take();
  node.broadcast('f', PAYLOAD, 2); // view of 3 < fanout 4: all of it
  assert.deepEqual(gossipTo(take()).map((g) => g.to).sort((a, b) => a - b), [1, 2, 100]);
  node.handleMessage(2, { type: 'gossip', id: 'g', round: 0, payload: PAYLOAD }, 3); // never back to the sender
  assert.deepEqual(gossipTo(take()).map((g) => g.to).sort((a, b) => a - b), [1, 100]);

  const source: PeerSource<number> = {
    sample(_k, _exclude, _rng, out) {
      out[0] = 42;
      return 1;
    },
  };
  const r2 = recorder();
  const other = new ProtoNode<number>({ self: 0, config, rng: new Sfc32(3), io: r2.io, peerSource: source });
  other.broadcast('f', PAYLOAD, 0);
  assert.deepEqual(gossipTo(r2.take()), [{ to: 42, id: 'f', round: 0 }]);
});

test('hyparview + plumtree: JOIN makes a neighbour (event + eager link); link failure removes it', () => {
  const { io, take } = recorder();
  const node = new ProtoNode<number>({ self: 0, config: resolved({}), rng: new Sfc32(4), io });
  node.join([], 0);
  take();
  node.handleMessage(7, { type: 'join' }, 10);
  const j = take();
  assert.deepEqual(events(j), [{ type: 'neighbor-up', peer: 7 }]);
  assert.ok(j.every((o) => o.k !== 'deliver'), 'membership messages never reach the application');
  assert.deepEqual(node.activeView(), [7]);
  assert.deepEqual((node.broadcaster as Plumtree<number>).eagerPeers(), [7]);

  node.broadcast('h', PAYLOAD, 20);
  assert.deepEqual(gossipTo(take()), [{ to: 7, id: 'h', round: 0 }]);
  // A broadcast timer is routed to Plumtree, a HyParView timer to HyParView: neither throws.
  node.handleTimer({ type: 'pt-ihave-flush' }, 30);
  node.handleTimer({ type: 'hv-shuffle' }, 30);
  take();

  node.handleLinkDown(7, 40);
  const d = take();
  assert.deepEqual(events(d).filter((e) => e.type === 'neighbor-down'), [{ type: 'neighbor-down', peer: 7, reason: 'link-failed' }]);
  assert.deepEqual((node.broadcaster as Plumtree<number>).eagerPeers(), []);
  assert.ok(!node.activeView().includes(7));
});

test('hyparview: DISCONNECT from a neighbour is reported as neighbor-down "disconnected"', () => {
  const { io, take } = recorder();
  const node = new ProtoNode<number>({ self: 0, config: resolved({ broadcast: 'flood' }), rng: new Sfc32(5), io });
  node.join([], 0);
  node.handleMessage(7, { type: 'join' }, 1);
  take();
  node.handleMessage(7, { type: 'disconnect', alive: true }, 2);
  const d = take();
  assert.deepEqual(events(d), [{ type: 'neighbor-down', peer: 7, reason: 'disconnected' }]);
  assert.deepEqual((node.broadcaster as Flood<number>).neighborList(), []);
  assert.ok(node.passiveView().includes(7), 'a live disconnecting peer stays in the passive view');
});
