/**
 * `rumor sim membership-false-positives` (issue 20 §4): 5 % message loss and 10 % of the
 * nodes stalling for 1–5 s at random times for 10 minutes (a stalled node's timers and
 * messages wait until it wakes: `Simulation.stall`), with Lifeguard's local health on and off.
 * Figures: healthy (never stalled) nodes that anyone marked `suspect`, and `failed`.
 *
 * Stalls: each stalling node stalls again after an exponential gap (mean 30 s), each stall
 * lasting uniformly 1–5 s. Default 2,000 nodes (10 minutes of probing at 10^4 nodes takes
 * tens of minutes on a loaded 2-core machine; `--nodes` raises it).
 */
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { checkMembersNodes, settledMembers } from './exp-membership-failures.js';
import { r3 } from './members-app.js';

const DURATION_MS = 600_000;
const STALL_FRACTION = 0.1;
const MEAN_GAP_MS = 30_000;

export function membershipFalsePositives(o: ExperimentOptions): ExperimentResult {
  const nodes = checkMembersNodes(o.nodes, 2000);
  const rows: object[] = [];
  [true, false].forEach((localHealth, i) => {
    const network = { loss: 0.05, failureDetection: { kind: 'timeout' as const, ms: 5000 } };
    const { ms, steady } = settledMembers(nodes, o.seed, network, { localHealth });
    const sim = ms.sim;
    const stallers = sim.pickLive(sim.liveNodes(), Math.round(STALL_FRACTION * nodes));
    const stalling = new Set(stallers);
    const t0 = sim.now;
    ms.watchFrom = t0;
    let stalls = 0;
    for (const x of stallers) {
      const next = (): void => {
        const d = 1000 + sim.rng.int(4001);
        sim.stall(x, d);
        stalls++;
        const t = sim.now + d + -Math.log(1 - sim.rng.next()) * MEAN_GAP_MS;
        if (t < t0 + DURATION_MS) sim.at(t, next);
      };
      sim.at(t0 + -Math.log(1 - sim.rng.next()) * MEAN_GAP_MS, next);
    }
    const b0 = ms.bytes();
    sim.runFor(DURATION_MS);
    let suspected = 0;
    let falseFailed = 0;
    let stalledFailed = 0;
    for (let m = 0; m < nodes; m++) {
      if (stalling.has(m)) {
        if (!Number.isNaN(ms.firstFailed[m])) stalledFailed++;
        continue;
      }
      if (!Number.isNaN(ms.firstSuspect[m]) || !Number.isNaN(ms.firstFailed[m])) suspected++;
      if (!Number.isNaN(ms.firstFailed[m])) falseFailed++;
    }
    rows.push({
      local_health: localHealth,
      suspected,
      false_failed: falseFailed,
      stalled_nodes: stallers.length,
      stalls,
      stalled_failed: stalledFailed,
      bytes_per_node_per_s: r3((ms.bytes() - b0) / sim.liveCountNow() / (DURATION_MS / 1000)),
      steady_bytes_per_node_per_s: r3(steady),
    });
    o.onProgress?.((i + 1) / 2);
  });
  return {
    experiment: 'membership-false-positives',
    seed: o.seed,
    nodes,
    rows,
    durationMs: DURATION_MS,
    network: 'uniform 5-25 ms, 5 % loss',
    stalls: `${STALL_FRACTION * 100} % of the nodes; exponential gaps (mean ${MEAN_GAP_MS / 1000} s), each stall 1-5 s (uniform)`,
    suspected: 'healthy (never stalled) nodes that some node marked suspect or failed',
    baseline: 'memberlist (SWIM + Lifeguard) reports false positives fall by more than 50x with Lifeguard (Dadgar et al. 2018): compare the two rows',
    targets: 'false_failed 0 with local_health true',
  };
}
