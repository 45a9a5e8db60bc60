import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/sim/simulation.js';
import type { AppSpec } from '../../src/sim/app-host.js';
import type { App, AppIo } from '../../src/proto/app.js';
import type { DownReason, Rng } from '../../src/proto/types.js';

const SEED = Number(process.env.SEED ?? 1);

type ToyMsg = { type: 'ping'; n: number } | { type: 'pong'; n: number } | { type: 'news'; text: string };
type ToyTimer = { type: 'tick'; due: number };
type ToyEvent =
  | { type: 'started' }
  | { type: 'pong'; from: number; n: number }
  | { type: 'news'; text: string }
  | { type: 'tick'; late: number }
  | { type: 'up'; peer: number }
  | { type: 'down'; peer: number; reason: DownReason }
  | { type: 'got'; from: number; n: number };

/** A toy application: answers pings, reports news, ticks every second, tracks neighbours. */
class Toy implements App<number, ToyMsg, ToyTimer> {
  neighbors = new Set<number>();
  constructor(
    readonly self: number,
    readonly rng: Rng,
    readonly io: AppIo<number, ToyMsg, ToyTimer, ToyEvent>,
  ) {}
  start(now: number): void {
    this.io.event({ type: 'started' });
    this.io.timer(1000, { type: 'tick', due: now + 1000 });
  }
  neighborUp(peer: number): void {
    this.neighbors.add(peer);
    this.io.event({ type: 'up', peer });
  }
  neighborDown(peer: number, reason: DownReason): void {
    this.neighbors.delete(peer);
    this.io.event({ type: 'down', peer, reason });
  }
  handleMessage(from: number, msg: ToyMsg): void {
    if (msg.type === 'ping') {
      this.io.event({ type: 'got', from, n: msg.n });
      this.io.send(from, { type: 'pong', n: msg.n });
    } else if (msg.type === 'pong') this.io.event({ type: 'pong', from, n: msg.n });
  }
  handleBroadcast(msg: ToyMsg): void {
    if (msg.type === 'news') this.io.event({ type: 'news', text: msg.text });
  }
  handleTimer(t: ToyTimer, now: number): void {
    this.io.event({ type: 'tick', late: now - t.due });
    this.io.timer(1000, { type: 'tick', due: now + 1000 });
  }
  stop(): void {}
}

interface Log {
  events: [number, number, ToyEvent][];
  apps: Map<number, Toy>;
}

function toySpec(log: Log): AppSpec<ToyMsg, ToyTimer, ToyEvent> {
  return {
    name: 'toy',
    create(self, rng, io) {
      const a = new Toy(self, rng, io);
      log.apps.set(self, a);
      return a;
    },
    size: (m) => (m.type === 'news' ? 12 + m.text.length : 16),
    onEvent: (node, e, now) => log.events.push([node, now, e]),
  };
}

function build(nodes: number, seed: number, network = {}): { sim: Simulation; log: Log } {
  const log: Log = { events: [], apps: new Map() };
  const sim = new Simulation({ nodes, seed, apps: [toySpec(log)], network });
  sim.joinAll(5);
  sim.runFor(nodes * 5 + 5000);
  return { sim, log };
}

const of = (log: Log, type: ToyEvent['type'], node?: number) =>
  log.events.filter(([n, , e]) => e.type === type && (node === undefined || n === node));

test('app host: every node starts its app; neighbour events mirror the active view', () => {
  const { sim, log } = build(60, SEED);
  assert.equal(of(log, 'started').length, 60);
  for (let i = 0; i < 60; i++) {
    assert.deepEqual([...log.apps.get(i)!.neighbors].sort((a, b) => a - b), [...sim.node(i).activeView()].sort((a, b) => a - b), `node ${i}'s app sees its active view`);
  }
});

test('app host: point-to-point messages reach any node and are counted with the codec size', () => {
  const { sim, log } = build(60, SEED);
  const before = sim.apps!.trafficOf('toy');
  log.apps.get(3)!.io.send(42, { type: 'ping', n: 7 });
  sim.runFor(200);
  assert.deepEqual(of(log, 'got', 42).map(([, , e]) => e), [{ type: 'got', from: 3, n: 7 }]);
  assert.deepEqual(of(log, 'pong', 3).map(([, , e]) => e), [{ type: 'pong', from: 42, n: 7 }]);
  const after = sim.apps!.trafficOf('toy');
  assert.equal(after.messages - before.messages, 2);
  assert.equal(after.bytes - before.bytes, 32);
  assert.equal(sim.apps!.bytesSentBy('toy', 3), 16);
});

test('app host: a broadcast reaches every other live node once, not its origin', () => {
  const { sim, log } = build(80, SEED);
  sim.crash([5, 6, 7]);
  sim.runFor(2000);
  log.apps.get(10)!.io.broadcast({ type: 'news', text: 'hello' });
  sim.runFor(3000);
  const got = of(log, 'news').map(([n]) => n).sort((a, b) => a - b);
  const expect = sim.liveNodes().filter((n) => n !== 10);
  assert.deepEqual(got, expect);
  assert.equal(sim.apps!.trafficOf('toy').broadcasts, 1);
});

test('app host: timers tick; a crash stops the app; a restart gets a fresh one', () => {
  const { sim, log } = build(40, SEED);
  const t0 = of(log, 'tick', 9).length;
  assert.ok(t0 >= 4, `node 9 ticked ${t0} times`);
  sim.crash([9]);
  const crashedApp = log.apps.get(9)!;
  log.apps.get(1)!.io.send(9, { type: 'ping', n: 1 });
  sim.runFor(5000);
  assert.equal(of(log, 'tick', 9).length, t0, 'no tick after the crash');
  assert.equal(of(log, 'got', 9).length, 0, 'a message to a crashed node is dropped');
  sim.join(9, [0]);
  assert.notEqual(log.apps.get(9), crashedApp, 'a fresh machine');
  assert.equal(of(log, 'started', 9).length, 2);
  sim.runFor(2500);
  assert.equal(of(log, 'tick', 9).length, t0 + 2, 'the new incarnation ticks');
});

test('app host: a stalled node gets its timers and messages late, in order, when it wakes', () => {
  const { sim, log } = build(40, SEED);
  const t = sim.now;
  sim.stall(4, 3000);
  log.apps.get(2)!.io.send(4, { type: 'ping', n: 5 });
  sim.runFor(2900);
  assert.equal(of(log, 'got', 4).filter(([, at]) => at > t).length, 0, 'nothing handled while stalled');
  sim.runFor(200);
  const late = of(log, 'tick', 4).filter(([, at]) => at > t);
  assert.ok(late.length >= 1, 'the held tick fires at wake');
  assert.ok((late[0][2] as { late: number }).late > 1000, 'the first held tick is late');
  assert.equal(late[0][1], t + 3000);
  assert.equal(of(log, 'got', 4).filter(([, at]) => at === t + 3001).length, 1, 'the held ping is read 1 ms after the held timers fire');
});

test('app host: a partition drops messages across groups', () => {
  const { sim, log } = build(40, SEED);
  sim.partition(2);
  for (let i = 0; i < 40; i++) for (let j = 0; j < 40; j++) {
    log.apps.get(i)!.io.send(j, { type: 'ping', n: 1000 * i + j });
  }
  sim.runFor(500);
  const got = of(log, 'got').filter(([, , e]) => (e as { n: number }).n >= 0);
  assert.ok(got.length > 0 && got.length < 40 * 39, `${got.length} of ${40 * 39} pings answered`);
  sim.heal();
  const [a, b] = [0, 39];
  log.apps.get(a)!.io.send(b, { type: 'ping', n: -1 });
  sim.runFor(500);
  assert.equal(of(log, 'got', b).filter(([, , e]) => (e as { n: number }).n === -1).length, 1);
});

test('app host: same seed, identical event log; another seed differs', () => {
  const run = (seed: number) => {
    const { sim, log } = build(50, seed, { loss: 0.05 });
    for (let i = 0; i < 50; i++) log.apps.get(i)!.io.send((i * 7) % 50, { type: 'ping', n: i });
    log.apps.get(0)!.io.broadcast({ type: 'news', text: 'x' });
    sim.runFor(3000);
    return JSON.stringify(log.events);
  };
  assert.equal(run(SEED), run(SEED));
  assert.notEqual(run(SEED), run(SEED + 1));
});
