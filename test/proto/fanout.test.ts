import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FanoutGossip, DEFAULT_FANOUT_CONFIG, validateFanoutConfig, type FanoutConfig } from '../../src/proto/fanout.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage, BroadcastTimer, MsgId, PeerSource, Rng } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

type Out =
  | { out: 'send'; to: number; msg: BroadcastMessage }
  | { out: 'timer'; delay: number; t: BroadcastTimer }
  | { out: 'deliver'; id: MsgId; round: number; from: number | null };

const PL = new Uint8Array([9]);
const gossip = (id: string, round: number): BroadcastMessage => ({ type: 'gossip', id, round, payload: PL });
const send = (to: number, msg: BroadcastMessage): Out => ({ out: 'send', to, msg });

/** Deterministic peer source: the next k peers of `ring`, in rotation, skipping `exclude`. */
function rotation(ring: number[]): PeerSource<number> {
  let pos = 0;
  return {
    sample(k, exclude, _rng, out) {
      let n = 0;
      for (let i = 0; i < ring.length && n < k; i++) {
        const p = ring[pos];
        pos = (pos + 1) % ring.length;
        if (p !== exclude) out[n++] = p;
      }
      return n;
    },
  };
}

/** Full-membership source over 0..n-1 using a partial Fisher–Yates (uniform, distinct). */
function fullMembership(n: number): PeerSource<number> {
  const pool = Array.from({ length: n }, (_, i) => i);
  return {
    sample(k: number, exclude: number | null, rng: Rng, out: number[]) {
      let c = 0;
      for (let i = 0; i < n && c < k; i++) {
        const j = i + rng.int(n - i);
        [pool[i], pool[j]] = [pool[j], pool[i]];
        if (pool[i] !== exclude) out[c++] = pool[i];
      }
      return c;
    },
  };
}

function machine(cfg: Partial<FanoutConfig>, source: PeerSource<number>, self = 0) {
  let log: Out[] = [];
  const io: BroadcastIo<number> = {
    send: (to, msg) => log.push({ out: 'send', to, msg }),
    timer: (delay, t) => log.push({ out: 'timer', delay, t }),
    deliver: (id, _p, round, from) => log.push({ out: 'deliver', id, round, from }),
  };
  const g = new FanoutGossip<number>(self, { ...DEFAULT_FANOUT_CONFIG, ...cfg }, new Sfc32(5), io, source);
  const take = () => {
    const r = log;
    log = [];
    return r;
  };
  return { g, take };
}

const GC: Out = { out: 'timer', delay: 90_000, t: { type: 'pt-cache-gc' } };
const ROUND: Out = { out: 'timer', delay: 200, t: { type: 'fanout-round' } };

test('fanout: first receipt delivered and pushed to `fanout` sampled peers, sender and self excluded', () => {
  const { g, take } = machine({ fanout: 3 }, rotation([1, 2, 0, 3, 4, 5]));
  g.handleMessage(2, gossip('a', 1), 0);
  // sample(3, exclude 2) → 1, 0, 3: self (0) is dropped.
  assert.deepEqual(take(), [GC, { out: 'deliver', id: 'a', round: 1, from: 2 }, send(1, gossip('a', 2)), send(3, gossip('a', 2))]);
  g.handleMessage(4, gossip('a', 0), 1); // duplicate
  g.handleMessage(4, { type: 'prune' }, 1); // control messages ignored
  assert.deepEqual(take(), []);
  assert.equal(g.broadcast('a', PL, 2), false);
});

test('fanout: rounds > 1 keeps pushing fresh samples each tick, `rounds` pushes in total', () => {
  const { g, take } = machine({ fanout: 2, rounds: 3 }, rotation([1, 2, 3, 4, 5, 6, 7]));
  assert.equal(g.broadcast('o', PL, 0), true);
  assert.deepEqual(take(), [GC, { out: 'deliver', id: 'o', round: 0, from: null }, send(1, gossip('o', 0)), send(2, gossip('o', 0)), ROUND]);
  g.handleMessage(5, gossip('b', 0), 50); // timer already armed: shares the tick
  assert.deepEqual(take(), [{ out: 'deliver', id: 'b', round: 0, from: 5 }, send(3, gossip('b', 1)), send(4, gossip('b', 1))]);
  g.handleTimer({ type: 'fanout-round' }, 200);
  // Rotation continues at 5: 'o' round 2 of 3 → 5, 6; 'b' round 2 of 3 → 7, 1.
  assert.deepEqual(take(), [send(5, gossip('o', 0)), send(6, gossip('o', 0)), send(7, gossip('b', 1)), send(1, gossip('b', 1)), ROUND]);
  g.handleTimer({ type: 'fanout-round' }, 400);
  // Last round: 'o' → 2, 3; 'b' → 4, (5 is its sender: skipped) 6. No further tick.
  assert.deepEqual(take(), [send(2, gossip('o', 0)), send(3, gossip('o', 0)), send(4, gossip('b', 1)), send(6, gossip('b', 1))]);
  assert.equal(g.pendingCount(), 0);
  g.handleTimer({ type: 'fanout-round' }, 600); // spurious tick: nothing
  assert.deepEqual(take(), []);
});

test('fanout: full-membership samples are distinct, exclude the sender, same seed → same output', () => {
  const run = () => {
    const { g, take } = machine({ fanout: 4 }, fullMembership(50), 0);
    for (let i = 0; i < 20; i++) g.handleMessage(7, gossip(`m${i}`, 0), i);
    return take().filter((o) => o.out === 'send') as { to: number; msg: { id: string } }[];
  };
  const a = run();
  assert.deepEqual(a, run());
  for (let i = 0; i < 20; i++) {
    const targets = a.filter((o) => o.msg.id === `m${i}`).map((o) => o.to);
    // 4 distinct draws excluding the sender; the machine drops itself if drawn.
    assert.ok(targets.length === 4 || targets.length === 3, `m${i}: ${targets}`);
    assert.equal(new Set(targets).size, targets.length);
    assert.ok(!targets.includes(7) && !targets.includes(0), `m${i}: ${targets}`);
  }
});

test('fanout network: 200 nodes, full membership, exactly once; messages ≤ deliverers × fanout × rounds', () => {
  const n = 200;
  const cfg = { fanout: 4, rounds: 2, roundIntervalMs: 50 };
  const rng = new Sfc32(Number(process.env.SEED ?? 11));
  const queue: { t: number; to: number; from: number; msg: BroadcastMessage | null; timer: BroadcastTimer | null }[] = [];
  let now = 0;
  let sends = 0;
  const delivered = new Array<number>(n).fill(0);
  const nodes = Array.from({ length: n }, (_, i) => {
    const io: BroadcastIo<number> = {
      send: (to, msg) => {
        sends++;
        queue.push({ t: now + 10 + rng.int(41), to, from: i, msg, timer: null });
      },
      timer: (d, t) => queue.push({ t: now + d, to: i, from: -1, msg: null, timer: t }),
      deliver: () => delivered[i]++,
    };
    // Full membership, excluding self: sample from 0..n-1 and let the machine drop self.
    return new FanoutGossip<number>(i, { ...DEFAULT_FANOUT_CONFIG, ...cfg }, rng.fork(), io, fullMembership(n));
  });
  nodes[0].broadcast('x', PL, 0);
  for (let steps = 0; queue.length > 0 && steps < 1_000_000; steps++) {
    let k = 0;
    for (let j = 1; j < queue.length; j++) if (queue[j].t < queue[k].t) k = j;
    const e = queue.splice(k, 1)[0];
    now = e.t;
    if (e.msg !== null) nodes[e.to].handleMessage(e.from, e.msg, now);
    else if (e.timer!.type === 'fanout-round') nodes[e.to].handleTimer(e.timer!, now);
  }
  assert.ok(delivered.every((d) => d <= 1), 'delivered at most once');
  const reached = delivered.filter((d) => d === 1).length;
  // Push gossip with fanout 4 for 2 rounds (8 pushes per node): misses ≈ n·e^(−8) ≈ 0.07.
  assert.ok(reached >= n - 1, `reached ${reached}`);
  // Every deliverer pushes fanout samples per round; a sample that draws the node itself
  // loses one target, so sends lie in [reached·f·r − (self-draws), reached·f·r].
  assert.ok(sends <= reached * 4 * 2 && sends >= reached * 4 * 2 * 0.9, `sends ${sends}`);
});

test('fanout config validation', () => {
  assert.deepEqual(validateFanoutConfig(DEFAULT_FANOUT_CONFIG), { ok: true, config: { ...DEFAULT_FANOUT_CONFIG } });
  const reason = (patch: Record<string, unknown>) => {
    const r = validateFanoutConfig({ ...DEFAULT_FANOUT_CONFIG, ...patch });
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(reason({ fanout: 0 }), 'fanout: must be an integer >= 1 (got 0)');
  assert.equal(reason({ rounds: 2.5 }), 'rounds: must be an integer >= 1 (got 2.5)');
  assert.equal(reason({ roundIntervalMs: -5 }), 'roundIntervalMs: must be a finite number > 0 (got -5)');
  assert.equal(reason({ maxSeenEntries: '10' }), 'maxSeenEntries: must be an integer >= 1 (got "10")');
  assert.equal(reason({ fanout: 8, rounds: 3 }), 'ok');
});
