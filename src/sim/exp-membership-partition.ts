/**
 * `rumor sim membership-partition` (issue 20 §4): a 50/50 partition for 2 minutes (longer
 * than every suspicion timeout: each side marks the other failed), then heal; the time until
 * every node lists every node alive again. Nothing but the membership machine reconnects
 * the sides: its reconnect loop (a random failed member gets an `m-sync` every
 * `reconnectIntervalMs`, Serf's 30 s) finds the other side, and the views reconcile; the
 * HyParView overlay stays split (re-trying seeds is HyParView's own concern, issue 18).
 * Default 2,000 nodes.
 */
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { checkMembersNodes, settledMembers } from './exp-membership-failures.js';
import { r3 } from './members-app.js';
import { FAILED, statusOf } from '../proto/members/types.js';

const PARTITION_MS = 120_000;
const MAX_HEAL_MS = 120_000;

export function membershipPartition(o: ExperimentOptions): ExperimentResult {
  const nodes = checkMembersNodes(o.nodes, 2000);
  const network = { loss: 0.01, failureDetection: { kind: 'timeout' as const, ms: 5000 } };
  const { ms } = settledMembers(nodes, o.seed, network);
  const sim = ms.sim;
  sim.partition(2);
  sim.runFor(PARTITION_MS);
  // How far each side went: members marked failed by everyone (the other side, by its side).
  let failedSomewhere = 0;
  for (let m = 0; m < nodes; m++) if (statusOf(ms.shared.get(0, m)) === FAILED) failedSomewhere++;
  sim.heal();
  const t0 = sim.now;
  let heal: number | null = null;
  o.onProgress?.(0.5);
  while (sim.now - t0 < MAX_HEAL_MS) {
    sim.runFor(250);
    if (ms.notAliveSomewhere() === 0) {
      heal = (sim.now - t0) / 1000;
      break;
    }
  }
  o.onProgress?.(1);
  return {
    experiment: 'membership-partition',
    seed: o.seed,
    nodes,
    rows: [{ partition_s: PARTITION_MS / 1000, heal_to_full_s: heal === null ? null : r3(heal), failed_at_node0_before_heal: failedSomewhere, still_not_alive: heal === null ? ms.notAliveSomewhere() : 0 }],
    network: 'uniform 5-25 ms, 1 % loss; partition: 2 random halves, messages across dropped, links across break after 5 s',
    resolution: 'heal_to_full_s sampled every 250 ms (null: not within 120 s)',
    baseline: 'Serf reconnect: one random failed member every 30 s per node; memberlist push-pull every 30 s',
    targets: 'heal_to_full_s <= 5',
  };
}
