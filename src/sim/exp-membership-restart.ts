/**
 * `rumor sim membership-restart` (issue 20 §4; memberlist issue 311's case): 30 % of the
 * nodes are killed at once (connections reset) and restarted 1 s later with the same ids and
 * new incarnations (the machine's first incarnation is the start time in seconds, as the
 * agent's is wall-clock seconds); the time until every live node lists every live node alive
 * at its current incarnation, and the wrong (node, member) entries left after 60 s.
 * Default 2,000 nodes.
 */
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { checkMembersNodes, settledMembers } from './exp-membership-failures.js';
import { r3, type MembersSim } from './members-app.js';
import { ALIVE, pack } from '../proto/members/types.js';

const DOWN_MS = 1000;
const MAX_SETTLE_MS = 60_000;

/** (node, member) pairs where a live node does not hold a live member alive at its incarnation. */
function wrongEntries(ms: MembersSim): number {
  const live = ms.sim.liveNodes();
  let wrong = 0;
  for (const m of live) {
    const right = pack(ms.machines[m]!.currentIncarnation, ALIVE);
    if (ms.shared.agreed(m) === right) continue;
    for (const x of live) if (ms.shared.get(x, m) !== right) wrong++;
  }
  return wrong;
}

export function membershipRestart(o: ExperimentOptions): ExperimentResult {
  const nodes = checkMembersNodes(o.nodes, 2000);
  const network = { loss: 0.01 };
  const { ms } = settledMembers(nodes, o.seed, network);
  const sim = ms.sim;
  const restarted = sim.pickLive(sim.liveNodes(), Math.round(0.3 * nodes));
  sim.crash(restarted);
  sim.runFor(DOWN_MS);
  const survivors = sim.liveNodes();
  for (const x of restarted) sim.join(x, sim.pickLive(survivors, 3));
  const t0 = sim.now;
  let settle: number | null = null;
  o.onProgress?.(0.5);
  while (sim.now - t0 < MAX_SETTLE_MS) {
    sim.runFor(250);
    if (wrongEntries(ms) === 0) {
      settle = (sim.now - t0) / 1000;
      break;
    }
  }
  if (settle === null) sim.runUntil(t0 + MAX_SETTLE_MS);
  o.onProgress?.(1);
  return {
    experiment: 'membership-restart',
    seed: o.seed,
    nodes,
    rows: [{ restarted: restarted.length, settle_s: settle === null ? null : r3(settle), wrong_entries: wrongEntries(ms) }],
    network: 'uniform 5-25 ms, 1 % loss; kills reset connections (rst)',
    downMs: DOWN_MS,
    settle: 'from the restart until every live node holds every live node alive at its current incarnation (sampled every 250 ms; null: not within 60 s)',
    baseline: 'memberlist issue 311: a restarted node with the same name could stay dead in some lists until the next push-pull (30 s)',
  };
}
