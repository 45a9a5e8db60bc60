import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAggregateName, checkKind, checkValue, DEFAULT_AGGREGATE_CONFIG, FlowUpdating, PushSum, type AggregateConfig } from '../../src/proto/aggregate/index.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { firstRng, Net, ringGraph, type InFlight } from './aggregate-net.js';

const SEED = Number(process.env.SEED ?? 1);
const NO_EPOCHS: AggregateConfig = { ...DEFAULT_AGGREGATE_CONFIG, epochRounds: Infinity };

/** Σ s and Σ w over the push-sum machines and the messages in flight. */
function mass(net: Net): [number, number] {
  let s = 0;
  let w = 0;
  for (const m of net.nodes.values()) {
    s += (m as PushSum<number>).s;
    w += (m as PushSum<number>).w;
  }
  for (const f of net.inflight) {
    if (f.msg.type === 'push') {
      s += f.msg.s;
      w += f.msg.w;
    }
  }
  return [s, w];
}

test('push-sum avg: exact shares on two nodes (keep one half, push one half)', () => {
  const net = new Net('avg', { ...NO_EPOCHS, fanout: 1 }, 'push-sum', () => firstRng);
  const a = net.add(0, [1], 1) as PushSum<number>;
  const b = net.add(1, [0], 3) as PushSum<number>;
  net.round(0);
  assert.deepEqual(net.inflight, [{ from: 0, to: 1, msg: { type: 'push', kind: 'avg', epoch: 0, tag: 0, s: 0.5, w: 0.5, hint: null } }]);
  assert.deepEqual([a.s, a.w], [0.5, 0.5]);
  net.deliverAll();
  assert.deepEqual([b.s, b.w], [3.5, 1.5]);
  net.round(1);
  net.deliverAll();
  assert.deepEqual([a.s, a.w, b.s, b.w], [2.25, 1.25, 1.75, 0.75]);
  assert.equal(a.estimate(), 1.8);
  assert.deepEqual(net.events.get(0), [{ type: 'estimate', value: 1, rounds: 1, spread: null, epoch: 0 }]);
  // Node 1 received one share (ratio 1) before its round: spread |7/3 - 1| / (7/3) = 4/7.
  assert.deepEqual(net.events.get(1), [{ type: 'estimate', value: 7 / 3, rounds: 1, spread: (7 / 3 - 1) / (7 / 3), epoch: 0 }]);
});

test('push-sum avg: mass is conserved after every step, and every node converges to the mean', () => {
  const n = 30;
  const g = ringGraph(n);
  const net = new Net('avg', NO_EPOCHS, 'push-sum', (i) => new Sfc32(SEED * 100 + i));
  const r = new Sfc32(SEED);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.floor(r.next() * 1000);
    total += x;
    net.add(i, g[i], x);
  }
  for (let round = 0; round < 120; round++) {
    for (let i = 0; i < n; i++) {
      net.round(i);
      let [s, w] = mass(net);
      assert.ok(Math.abs(s - total) < 1e-9 * total && Math.abs(w - n) < 1e-9, `round ${round} node ${i}: mass ${s}, ${w} != ${total}, ${n}`);
      while (net.inflight.length > 0) {
        net.deliverOne();
        [s, w] = mass(net);
        assert.ok(Math.abs(s - total) < 1e-9 * total && Math.abs(w - n) < 1e-9, `after a delivery: mass ${s}, ${w}`);
      }
    }
  }
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - total / n) / (total / n) < 1e-9, `estimate ${m.estimate()} vs ${total / n}`);
});

test('push-sum avg: an input change moves the total mass by exactly the change', () => {
  const net = new Net('avg', NO_EPOCHS, 'push-sum');
  for (let i = 0; i < 5; i++) net.add(i, [(i + 1) % 5, (i + 4) % 5], 10);
  for (let k = 0; k < 3; k++) net.roundAll();
  net.nodes.get(2)!.set(60, net.now);
  assert.ok(Math.abs(mass(net)[0] - 100) < 1e-9);
  for (let k = 0; k < 60; k++) net.roundAll();
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - 20) < 1e-6, `estimate ${m.estimate()}`);
});

test('push-sum sum and count: one origin wins the instance race; every node reaches the exact total', () => {
  for (const kind of ['sum', 'count'] as const) {
    const n = 20;
    const g = ringGraph(n);
    const net = new Net(kind, NO_EPOCHS, undefined, (i) => new Sfc32(SEED * 7 + i));
    for (let i = 0; i < n; i++) net.add(i, g[i], i + 1);
    for (let k = 0; k < 80; k++) net.roundAll();
    const origins = [...net.nodes.values()].filter((m) => (m as PushSum<number>).origin);
    assert.equal(origins.length, 1, `${kind}: exactly one origin`);
    const tags = new Set([...net.nodes.values()].map((m) => (m as PushSum<number>).tag));
    assert.equal(tags.size, 1, `${kind}: one instance`);
    const want = kind === 'sum' ? (n * (n + 1)) / 2 : n;
    assert.ok(Math.abs(mass(net)[1] - 1) < 1e-12, `${kind}: total weight 1`);
    for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - want) / want < 1e-6, `${kind}: ${m.estimate()} vs ${want}`);
  }
});

test('push-sum epochs: after a node leaves, the next epoch forgets it', () => {
  const n = 12;
  const g = ringGraph(n);
  const net = new Net('avg', { ...DEFAULT_AGGREGATE_CONFIG, epochRounds: 40 }, 'push-sum');
  for (let i = 0; i < n; i++) net.add(i, g[i], i === 0 ? 1200 : 0);
  for (let k = 0; k < 30; k++) net.roundAll();
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - 100) < 1e-3, `before: ${m.estimate()}`);
  net.nodes.delete(0);
  for (const [id, m] of net.nodes) for (const p of g[id]) if (p === 0) m.neighborDown(0, 'link-failed', net.now);
  for (let k = 0; k < 70; k++) net.roundAll((f) => f.to === 0);
  for (const m of net.nodes.values()) {
    assert.ok((m as PushSum<number>).epoch >= 1, 'a new epoch started');
    assert.ok(Math.abs(m.estimate()!) < 1e-6, `after: ${m.estimate()}`);
  }
});

test('flow updating: a duplicated message changes nothing (idempotent)', () => {
  const net = new Net('avg', DEFAULT_AGGREGATE_CONFIG, 'flow', () => firstRng);
  const a = net.add(0, [1], 2) as FlowUpdating<number>;
  const b = net.add(1, [0], 6) as FlowUpdating<number>;
  net.round(0);
  // Nothing heard from 1 yet: 0 assumes agreement and moves no flow.
  assert.deepEqual(net.inflight, [{ from: 0, to: 1, msg: { type: 'flow', kind: 'avg', fv: 0, fw: 0, ev: 2, ew: 1 } }]);
  net.deliverAll();
  net.round(1);
  assert.deepEqual(net.inflight, [{ from: 1, to: 0, msg: { type: 'flow', kind: 'avg', fv: 2, fw: 0, ev: 4, ew: 1 } }]);
  const m = net.inflight[0];
  net.deliverAll();
  const once = JSON.stringify([...a.links]);
  a.handleMessage(m.from, m.msg, net.now);
  a.handleMessage(m.from, m.msg, net.now);
  assert.equal(JSON.stringify([...a.links]), once);
  assert.equal(a.estimate(), 4);
  assert.equal(b.estimate(), 4);
});

test('flow updating: no mass is lost when a message is (30 % loss), Σ estimates = Σ inputs once flows agree', () => {
  const n = 25;
  const g = ringGraph(n);
  const net = new Net('avg', DEFAULT_AGGREGATE_CONFIG, 'flow', (i) => new Sfc32(SEED + i));
  const r = new Sfc32(SEED * 3);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.round(r.next() * 100);
    total += x;
    net.add(i, g[i], x);
  }
  const lossy = new Sfc32(SEED * 5);
  for (let k = 0; k < 200; k++) net.roundAll(() => lossy.next() < 0.3);
  // One lossless round re-establishes antisymmetric flows: then Σ e_i = Σ v_i exactly.
  net.roundAll();
  let sum = 0;
  for (const m of net.nodes.values()) sum += (m as FlowUpdating<number>).local()[0];
  assert.ok(Math.abs(sum - total) < 1e-9 * total, `Σ e = ${sum}, Σ v = ${total}`);
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - total / n) / (total / n) < 1e-3, `estimate ${m.estimate()} vs ${total / n}`);
});

test('flow updating: a departed neighbour\'s contribution leaves with it (self-correction)', () => {
  const n = 10;
  const g = ringGraph(n);
  const net = new Net('avg', DEFAULT_AGGREGATE_CONFIG, 'flow');
  for (let i = 0; i < n; i++) net.add(i, g[i], i === 0 ? 100 : 10);
  for (let k = 0; k < 150; k++) net.roundAll();
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - 19) < 1e-6);
  net.nodes.delete(0);
  for (const id of g[0]) net.nodes.get(id)!.neighborDown(0, 'link-failed', net.now);
  for (let k = 0; k < 150; k++) net.roundAll((f) => f.to === 0);
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - 10) < 1e-6, `estimate ${m.estimate()}`);
});

test('min and max: every node learns the exact extreme; duplicates and loss do not change it', () => {
  for (const kind of ['min', 'max'] as const) {
    const n = 40;
    const g = ringGraph(n);
    const net = new Net(kind, NO_EPOCHS, undefined, (i) => new Sfc32(SEED * 11 + i));
    const vals = Array.from({ length: n }, (_, i) => ((i * 37) % 101) - 50.5);
    vals.forEach((v, i) => net.add(i, g[i], v));
    const lossy = new Sfc32(SEED);
    const dupes: InFlight[] = [];
    for (let k = 0; k < 40; k++) {
      net.roundAll((f) => {
        dupes.push(f);
        return lossy.next() < 0.2;
      });
    }
    for (const f of dupes.slice(-200)) net.nodes.get(f.to)!.handleMessage(f.from, f.msg, net.now);
    const want = kind === 'min' ? Math.min(...vals) : Math.max(...vals);
    for (const m of net.nodes.values()) assert.equal(m.estimate(), want, kind);
  }
});

test('a message of another kind is dropped and counted', () => {
  const net = new Net('min', NO_EPOCHS, undefined, () => firstRng);
  const m = net.add(0, [1], 5);
  m.handleMessage(1, { type: 'extreme', kind: 'max', epoch: 0, tag: 0, value: -1, hint: null }, 0);
  m.handleMessage(1, { type: 'flow', kind: 'avg', fv: 1, fw: 1, ev: 1, ew: 1 }, 0);
  assert.equal(m.estimate(), 5);
  assert.equal((m as unknown as { dropped: number }).dropped, 2);
});

test('input checks: names, kinds, values', () => {
  assert.deepEqual(checkAggregateName('load.avg_1-m'), { ok: true, value: 'load.avg_1-m' });
  assert.equal(checkAggregateName('x'.repeat(57)).ok, false);
  assert.equal(checkAggregateName('a b').ok, false);
  assert.equal(checkAggregateName('').ok, false);
  assert.deepEqual(checkKind('max'), { ok: true, value: 'max' });
  assert.match((checkKind('median') as { reason: string }).reason, /expected one of avg, sum, count, min, max/);
  assert.equal(checkValue(Number.NaN).ok, false);
  assert.equal(checkValue(Infinity).ok, false);
  assert.equal(checkValue('3').ok, false);
  assert.equal(checkValue(1e16).ok, false);
  assert.deepEqual(checkValue(-2.5), { ok: true, value: -2.5 });
});

test('push-sum without a member list: mass goes only to peers known to run the aggregate; zero-mass probes find them', () => {
  const net = new Net('avg', NO_EPOCHS, 'push-sum', (i) => new Sfc32(SEED + i), false);
  // Node 9 is a neighbour of everyone but does not run the aggregate: messages to it are dropped.
  const n = 6;
  for (let i = 0; i < n; i++) net.add(i, [...Array.from({ length: n }, (_, j) => j).filter((j) => j !== i), 9], i * 10);
  let probes = 0;
  for (let k = 0; k < 80; k++) {
    for (const id of [...net.nodes.keys()]) {
      net.round(id);
      for (const f of net.inflight) {
        if (f.msg.type === 'push' && f.msg.w === 0 && f.msg.s === 0) probes++;
        if (f.to === 9) assert.ok(f.msg.type === 'push' && f.msg.s === 0 && f.msg.w === 0, 'only zero-mass probes go to a node not known to run it');
      }
      net.deliverAll((f) => f.to === 9);
    }
  }
  assert.ok(probes > 0, 'probes were sent');
  assert.ok(Math.abs(mass(net)[0] - 150) < 1e-9 && Math.abs(mass(net)[1] - n) < 1e-9, 'no mass lost');
  for (const m of net.nodes.values()) assert.ok(Math.abs(m.estimate()! - 25) < 1e-6, `estimate ${m.estimate()}`);
});
