/**
 * `rumor sim membership-failures` (issue 20 §4): silent crashes of 10 %, 50 % and 90 % of the
 * nodes at once under 1 % message loss; for each rate, the time until every survivor lists
 * every crashed node `failed` (p50, p99, p100 over the crashed nodes), crashed nodes still up
 * anywhere at the end, survivors marked failed anywhere, and membership bytes per node per
 * second in steady state (before the crash) and during detection.
 *
 * Setup, the same for every rate (fresh simulation from the same seed): every node starts at
 * t = 0 (HyParView joins through earlier nodes; member tables bootstrapped, members-store.ts),
 * 20 s to settle, steady traffic measured over the last 10 s, then the crash. "Silent": no
 * reset — overlay links to a crashed node break after the 5 s link timeout
 * (`failureDetection: timeout 5000`, standing for the runtime's heartbeat timeout), which
 * triggers the TCP fast path for its neighbours only; everyone else relies on probes.
 *
 * Baselines printed next to the figures: memberlist's suspicion timeout alone,
 * SuspicionMult · max(1, log10 n) · ProbeInterval (4 · log10 n s), and SWIM's expected time to
 * the first probe of a dead member under random probing (1.58 s), whose sum is the expected
 * detection time at one node for memberlist's defaults.
 */
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { MembersSim, memberlistSuspicionS, quantile, r3, SWIM_FIRST_PROBE_S } from './members-app.js';

export const MF_NETWORK = { loss: 0.01, failureDetection: { kind: 'timeout' as const, ms: 5000 } };
const SETTLE_MS = 20_000;
const STEADY_WINDOW_MS = 10_000;

export function checkMembersNodes(n: number | undefined, dflt: number): number {
  const v = n ?? dflt;
  if (!Number.isInteger(v) || v < 10) throw new Error(`nodes: expected an integer >= 10, got ${String(v)}`);
  return v;
}

/** Build, settle and measure steady traffic: the state every membership experiment starts from. */
export function settledMembers(nodes: number, seed: number, network: object, members: object = {}, onBuilt?: (ms: MembersSim) => void, overlayHint = true): { ms: MembersSim; steady: number } {
  const ms = new MembersSim({ nodes, seed, network, members, overlayHint });
  onBuilt?.(ms);
  ms.sim.joinAll(0);
  ms.sim.runFor(SETTLE_MS - STEADY_WINDOW_MS);
  const b0 = ms.bytes();
  ms.sim.runFor(STEADY_WINDOW_MS);
  const steady = (ms.bytes() - b0) / ms.sim.liveCountNow() / (STEADY_WINDOW_MS / 1000);
  return { ms, steady };
}

/** Crash `percent` % silently and run until every crashed node is failed everywhere (or `maxMs`). */
export function crashAndDetect(ms: MembersSim, percent: number, maxMs: number): object {
  const sim = ms.sim;
  const live = sim.liveNodes();
  const crashed = sim.pickLive(live, Math.round((percent / 100) * live.length)).sort((a, b) => a - b);
  const t0 = sim.now;
  ms.watchFrom = t0;
  const b0 = ms.bytes();
  sim.crash(crashed, { silent: true });
  const crashedSet = new Set(crashed);
  while (sim.now - t0 < maxMs) {
    sim.runFor(1000);
    let done = 0;
    for (const m of crashed) if (!Number.isNaN(ms.allFailed[m])) done++;
    if (done === crashed.length) break;
  }
  const elapsed = (sim.now - t0) / 1000;
  const det = crashed.map((m) => (ms.allFailed[m] - t0) / 1000).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  let falseFailed = 0;
  for (let m = 0; m < sim.n; m++) if (!crashedSet.has(m) && !Number.isNaN(ms.firstFailed[m])) falseFailed++;
  return {
    crashed: crashed.length,
    detected: det.length,
    detect_p50_s: r3(quantile(det, 0.5)),
    detect_p99_s: r3(quantile(det, 0.99)),
    detect_p100_s: det.length === crashed.length ? r3(det[det.length - 1]) : null,
    stuck_alive: ms.stuckAlive(crashed),
    false_failed: falseFailed,
    detect_bytes_per_node_per_s: r3((ms.bytes() - b0) / sim.liveCountNow() / elapsed),
    window_s: elapsed,
  };
}

export function membershipFailures(o: ExperimentOptions): ExperimentResult {
  const nodes = checkMembersNodes(o.nodes, 10_000);
  const rates = [10, 50, 90];
  const rows: object[] = [];
  rates.forEach((failed, i) => {
    const { ms, steady } = settledMembers(nodes, o.seed, MF_NETWORK);
    const r = crashAndDetect(ms, failed, failed >= 90 ? 300_000 : 120_000);
    rows.push({
      failed,
      ...r,
      bytes_per_node_per_s: r3(steady),
      memberlist_suspicion_s: r3(memberlistSuspicionS(nodes)),
      memberlist_expected_detect_s: r3(SWIM_FIRST_PROBE_S + memberlistSuspicionS(nodes)),
    });
    o.onProgress?.((i + 1) / rates.length);
  });
  return {
    experiment: 'membership-failures',
    seed: o.seed,
    nodes,
    rows,
    network: 'uniform 5-25 ms, 1 % loss, links to a silent host break after 5 s (no reset)',
    settleMs: SETTLE_MS,
    steadyWindowMs: STEADY_WINDOW_MS,
    detect: 'time from the crash until every live node holds the crashed node failed (exact, at the shared store)',
    bytes: 'membership messages only, codec size of the direct frame, peers charged 14 bytes; bytes_per_node_per_s = steady state before the crash',
    baseline: 'memberlist_suspicion_s = 4 * log10(n) * 1 s (DefaultLANConfig); memberlist_expected_detect_s adds SWIM random probing 1/(1 - 1/e) s',
    targets: 'stuck_alive 0, false_failed 0, detect_p100_s <= 10 at 10 % and 50 %, bytes_per_node_per_s < 300',
  };
}
