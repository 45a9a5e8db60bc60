/**
 * The three named experiments (protocols.md §1.5, §2.4, §8), each a function of a seed
 * returning `{ experiment, seed, nodes, rows, ...params }`. Every parameter that shapes the
 * figures (join pacing, stabilisation time, broadcast spacing, warm-up) is part of the JSON.
 *
 * - `hyparview-failures` (HyParView, DSN 2007, §5): build an overlay, crash x % of the nodes
 *   at once (x = 10..90, 95), then send 10 broadcasts from random survivors: the first at the
 *   instant of the crash (before any failure is detected), then one per second. A fresh
 *   overlay is built for every rate from the same seed, so every rate starts from the same
 *   overlay. Pairs: HyParView + Plumtree, HyParView + flooding, Cyclon + fanout gossip.
 * - `plumtree-redundancy` (Plumtree, SRDS 2007, §4): RMR, LDH and reliability in steady
 *   state (after warm-up broadcasts) with 0, 20 and 40 % of the nodes crashed.
 * - `rounds-vs-n` (the talk's model, protocols.md §8): infect-and-die fanout gossip (fanout
 *   3) over full membership; rounds = hop count of the last delivery.
 * - `bootstrap` (issue 18, in `exp-bootstrap.ts`): a fleet started at once under six seeding
 *   patterns; time until one component and until full active views.
 * - `aggregation` (issue 15; push-sum vs flow updating under loss and crashes): exp-aggregation.ts.
 */
import type { BroadcastKind, MembershipKind } from '../proto/node.js';
import { bootstrapExperiment } from './exp-bootstrap.js';
import { deriveSeed } from './seeds.js';
import { Simulation } from './simulation.js';
import { BROADCAST_INTERVAL_MS, checkNodes, JOIN_INTERVAL_MS, STABILISE_MS, WARMUP_BROADCASTS, warmOverlay } from './overlay-build.js';
import { aggregation } from './exp-aggregation.js';
import { SECURITY_EXPERIMENTS } from './exp-corruption.js';
import { membershipFailures } from './exp-membership-failures.js';
import { membershipFalsePositives } from './exp-membership-false-positives.js';
import { membershipPartition } from './exp-membership-partition.js';
import { membershipRestart } from './exp-membership-restart.js';
import { kvStaleness } from './exp-kv-staleness.js';
import { gossipLearning } from './exp-gossip-learning.js';

export { deriveSeed };

export interface ExperimentOptions {
  nodes?: number;
  seed: number;
  fanout?: number;
  /** gossip-learning: the learners' rate, its decay per epoch, local epochs. */
  lr?: number;
  lrDecay?: number;
  epochs?: number;
  onProgress?(f: number): void;
}

export interface ExperimentResult {
  experiment: string;
  seed: number;
  nodes: number;
  rows: object[];
  [param: string]: unknown;
}

/** Join every node one per JOIN_INTERVAL_MS, let the overlay settle, warm the broadcast up. */
function buildOverlay(nodes: number, seed: number, membership: MembershipKind, broadcast: BroadcastKind, fanout: number): Simulation {
  return warmOverlay(new Simulation({ nodes, seed, protocol: { membership, broadcast, fanout: { fanout, rounds: 1 } } }), nodes);
}

/** Run `count` broadcasts, one per interval starting now; reliability of each at the end. */
function broadcastSeries(sim: Simulation, count: number): number[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(sim.broadcast());
    sim.runFor(BROADCAST_INTERVAL_MS);
  }
  sim.runUntilQuiet(10_000);
  return ids.map((id) => sim.broadcastStats(id).reliability);
}

function hyparviewFailures(o: ExperimentOptions): ExperimentResult {
  const nodes = checkNodes(o.nodes, 10_000);
  const fanout = o.fanout ?? 4;
  const rates = [10, 20, 30, 40, 50, 60, 70, 80, 90, 95];
  const pairs: [MembershipKind, BroadcastKind][] = [['hyparview', 'plumtree'], ['hyparview', 'flood'], ['cyclon', 'fanout']];
  const rows: object[] = [];
  let done = 0;
  for (const [overlay, broadcast] of pairs) {
    for (const failed of rates) {
      const sim = buildOverlay(nodes, o.seed, overlay, broadcast, fanout);
      sim.failPercent(failed);
      rows.push({ overlay, broadcast, failed, reliability: broadcastSeries(sim, 10) });
      o.onProgress?.(++done / (pairs.length * rates.length));
    }
  }
  return {
    experiment: 'hyparview-failures',
    seed: o.seed,
    nodes,
    rows,
    fanout,
    joinIntervalMs: JOIN_INTERVAL_MS,
    stabiliseMs: STABILISE_MS,
    warmupBroadcasts: WARMUP_BROADCASTS,
    spacing: 'broadcast 1 at the instant of the crash (no failure detected yet), then one every broadcastIntervalMs',
    broadcastIntervalMs: BROADCAST_INTERVAL_MS,
    network: 'defaults (uniform 5-25 ms, no loss, crash detected by connection reset)',
  };
}

function plumtreeRedundancy(o: ExperimentOptions): ExperimentResult {
  const nodes = checkNodes(o.nodes, 10_000);
  const rows: object[] = [];
  const kinds: BroadcastKind[] = ['plumtree', 'flood'];
  const fails = [0, 20, 40];
  const recovery = 10;
  const measured = 10;
  let done = 0;
  for (const broadcast of kinds) {
    for (const failed of fails) {
      const sim = buildOverlay(nodes, o.seed, 'hyparview', broadcast, 4);
      sim.failPercent(failed);
      // Let the overlay and the tree recover: 10 broadcasts, one per second.
      broadcastSeries(sim, recovery);
      let rmr = 0;
      let ldh = 0;
      let rel = 0;
      for (let i = 0; i < measured; i++) {
        const id = sim.broadcast();
        sim.runFor(BROADCAST_INTERVAL_MS);
        sim.runUntilQuiet(10_000);
        const s = sim.broadcastStats(id);
        rmr += s.rmr ?? 0;
        ldh += s.ldh;
        rel += s.reliability;
      }
      rows.push({ broadcast, failed, rmr: rmr / measured, ldh: ldh / measured, reliability: rel / measured });
      o.onProgress?.(++done / (kinds.length * fails.length));
    }
  }
  return {
    experiment: 'plumtree-redundancy',
    seed: o.seed,
    nodes,
    rows,
    joinIntervalMs: JOIN_INTERVAL_MS,
    stabiliseMs: STABILISE_MS,
    warmupBroadcasts: WARMUP_BROADCASTS,
    recoveryBroadcasts: recovery,
    measuredBroadcasts: measured,
    broadcastIntervalMs: BROADCAST_INTERVAL_MS,
    aggregation: 'rmr, ldh and reliability are means over the measured broadcasts',
  };
}

function roundsVsN(o: ExperimentOptions): ExperimentResult {
  const fanout = o.fanout ?? 3;
  const sizes = o.nodes !== undefined ? [checkNodes(o.nodes, 10)] : [10, 100, 1000, 10_000, 100_000];
  const runs = 5;
  const rows: object[] = [];
  let done = 0;
  for (const n of sizes) {
    let sum = 0;
    let max = 0;
    let rel = 0;
    for (let k = 0; k < runs; k++) {
      const sim = new Simulation({
        nodes: n,
        seed: deriveSeed(o.seed, k),
        protocol: { membership: 'cyclon', broadcast: 'fanout', fanout: { fanout, rounds: 1 } },
        fanoutPeers: 'full',
      });
      for (let i = 0; i < n; i++) sim.join(i, []);
      const id = sim.broadcast();
      sim.runUntilQuiet(600_000);
      const s = sim.broadcastStats(id);
      sum += s.ldh;
      max = Math.max(max, s.ldh);
      rel += s.reliability;
      o.onProgress?.(++done / (sizes.length * runs));
    }
    rows.push({ nodes: n, fanout, rounds_mean: sum / runs, rounds_max: max, log_n: Math.log(n) / Math.log(fanout + 1), reliability: rel / runs });
  }
  return {
    experiment: 'rounds-vs-n',
    seed: o.seed,
    nodes: sizes[sizes.length - 1],
    rows,
    fanout,
    runsPerSize: runs,
    seeds: `deriveSeed(seed, 0..${runs - 1})`,
    model: 'infect and die (each node pushes once to `fanout` uniform peers of the full membership)',
    log_n: 'log base (fanout + 1) of n',
  };
}

type ExperimentName =
  | 'hyparview-failures'
  | 'plumtree-redundancy'
  | 'rounds-vs-n'
  | 'bootstrap'
  | 'membership-failures'
  | 'membership-false-positives'
  | 'membership-partition'
  | 'membership-restart'
  | 'aggregation'
  | 'kv-staleness'
  | 'gossip-learning'
  | keyof typeof SECURITY_EXPERIMENTS;

export const EXPERIMENTS: Record<ExperimentName, (o: ExperimentOptions) => ExperimentResult> = {
  'hyparview-failures': hyparviewFailures,
  'plumtree-redundancy': plumtreeRedundancy,
  'rounds-vs-n': roundsVsN,
  bootstrap: bootstrapExperiment,
  // Issue 20: the membership machine (src/proto/members/) over HyParView, one file each.
  'membership-failures': membershipFailures,
  'membership-false-positives': membershipFalsePositives,
  'membership-partition': membershipPartition,
  'membership-restart': membershipRestart,
  // Issue 15: push-sum vs flow updating (src/proto/aggregate/).
  aggregation,
  // Issue 14: key-value state staleness against fixed-interval anti-entropy.
  'kv-staleness': kvStaleness,
  'gossip-learning': gossipLearning,
  // Issue 13 §3 (exp-corruption.ts): the S3 outage replayed, and Byzantine senders.
  ...SECURITY_EXPERIMENTS,
};
