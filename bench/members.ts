/**
 * Membership benchmark (not a test), issue 20 §5: N nodes run HyParView + Plumtree and the
 * membership machine (src/proto/members/) in the simulator — join (every node starts at
 * t = 0, member tables bootstrapped), settle 20 s (steady traffic over the last 10 s), crash
 * 10 % (`--failed`) silently (links time out after 5 s, no reset) under 1 % loss, run until every survivor
 * lists every crashed node failed (at most 120 s of virtual time, 300 s at 90 % or more). Prints a table and writes
 * `bench/results/members-<N>.json`:
 * `{nodes, seed, failed, wall_s, peak_rss_mb, detect_p50_s, detect_p99_s, detect_p100_s, stuck_alive,
 *   false_failed, bytes_per_node_per_s, events, peak_queued_changes, peak_queued_at_one_node,
 *   dropped_changes, flood_entries_per_node, sync_entries_per_node, prune_flood, eager_feeders,
 *   tally_repair, ring_relay_all, tallies_per_node, tally_pulls_per_node, tally_answer_entries_per_node, cpu_settle_s,
 *   cpu_wave_s, load_avg}` (entries: the membership entries each live node sent through the
 *   wave, in flooded batches and in anti-entropy, members-app.ts; queued: the membership
 *   change queues through the wave, sampled every 0.5 s of virtual time, summed over the nodes
 *   and at the busiest; dropped: changes the queue bound kept out, change-queue.ts; bytes:
 *   steady state, membership only; CPU: this process's user + system time of the join and
 *   settle phase and of the failure wave, which a loaded machine inflates much less than the
 *   wall time; load_avg: the 1-minute load average at the start and the end; peak_rss_mb: the
 *   kernel's high-water mark of the process, `VmHWM`, where /proc has it, else the largest
 *   sample).
 *
 * Usage: `npm run bench:members -- --nodes 100000 [--seed 1] [--prune-flood on|off]
 * [--eager-feeders F] [--tally-repair on|off] [--ring-relay all|news] [--failed P]` (`--ring-relay`
 * overrides `ringRelayAll`, the file then has `-ring-<all|news>`; `--failed`: the percentage crashed,
 * 10 by default, 10–99, as `rumor sim membership-failures`, which allows 300 s at 90 % or more;
 * the file then ends `-failed-<P>.json`; `--prune-flood` overrides the machine's
 * `pruneFlood` default, the file is then `members-<N>-prune-<on|off>.json`; `--eager-feeders`
 * its `eagerFeeders` (0–16), the file `members-<N>-feeders-<F>.json`; `--tally-repair` its
 * `tallyRepair`, which works with `eagerFeeders` > 0, the file `…-tally-<on|off>.json`).
 * Progress (virtual time, wall time, RSS) goes to stderr every 5 s of virtual time, and every
 * 1 s through the failure wave.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { crashAndDetect, MF_NETWORK, settledMembers } from '../src/sim/exp-membership-failures.js';
import type { MembersSim } from '../src/sim/members-app.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 10) {
    process.stderr.write(`bench/members: --${name}: expected an integer >= 10, got ${JSON.stringify(process.argv[i + 1])}\n`);
    process.exit(2);
  }
  return v;
}

/** A two-way switch `--<name> <yes>|<no>` (undefined when absent: the machine's default);
 *  `--prune-flood on|off` (`pruneFlood`), `--tally-repair on|off` (`tallyRepair`),
 *  `--ring-relay all|news` (`ringRelayAll`). Anything else: a one-line error, exit 2. */
function switchArg(name: string, yes: string, no: string): boolean | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v !== yes && v !== no) {
    process.stderr.write(`bench/members: --${name}: expected ${yes} or ${no}, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return v === yes;
}

/** The process's peak resident set so far (bytes): the kernel's high-water mark (`VmHWM` in
 *  /proc/self/status, Linux), or 0 where there is none. The simulation runs synchronously, so
 *  a sampling timer never fires during it: samples alone miss a peak between two of them. */
function rssHighWater(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** `--eager-feeders F`: the `eagerFeeders` override (undefined: the machine's default). */
function feedersArg(): number | undefined {
  const i = process.argv.indexOf('--eager-feeders');
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0 || v > 16) {
    process.stderr.write(`bench/members: --eager-feeders: expected an integer in [0, 16], got ${JSON.stringify(process.argv[i + 1])}\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const nodes = arg('nodes', 100_000);
  const seed = arg('seed', 1);
  const failed = arg('failed', 10);
  if (failed > 99) {
    process.stderr.write(`bench/members: --failed: expected a percentage in [10, 99], got ${failed}\n`);
    process.exit(2);
  }
  const prune = switchArg('prune-flood', 'on', 'off');
  const feeders = feedersArg();
  const tally = switchArg('tally-repair', 'on', 'off');
  const ring = switchArg('ring-relay', 'all', 'news');
  const overrides = {
    ...(prune === undefined ? {} : { pruneFlood: prune }),
    ...(feeders === undefined ? {} : { eagerFeeders: feeders }),
    ...(tally === undefined ? {} : { tallyRepair: tally }),
    ...(ring === undefined ? {} : { ringRelayAll: ring }),
  };
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const c0 = process.cpuUsage();
  let peak = process.memoryUsage().rss;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss, rssHighWater());
  };
  const timer = setInterval(sample, 200);
  // The simulation runs synchronously: sample RSS from inside it too, every 5 s of virtual time.
  process.stderr.write(`bench/members: ${nodes} nodes, seed ${seed}: join + settle\n`);
  // Progress and RSS from t = 0 (join and settle included), every 5 s of virtual time.
  const watch = (ms: MembersSim): void => {
    const sim = ms.sim;
    const progress = (): void => {
      sample();
      process.stderr.write(`bench/members: t=${(sim.now / 1000).toFixed(0)} s virtual, ${((Date.now() - t0) / 1000).toFixed(1)} s wall, rss ${Math.round(peak / 1048576)} MB, versions in flight ${ms.shared.versionsInFlight()}, queued changes ${ms.queuedChanges().sum}\n`);
      if (sim.liveCountNow() > 0) sim.at(sim.now + 5000, progress);
    };
    sim.at(5000, progress);
  };
  const { ms, steady } = settledMembers(nodes, seed, MF_NETWORK, overrides, watch);
  // The change queues through the wave: their peak (summed over the nodes, and at the busiest
  // node) every 0.5 s of virtual time, and the changes the queue bound dropped.
  let queuedPeak = 0;
  let queuedMax = 0;
  // Through the wave, a progress line every 1 s of virtual time (RSS and queues: at 10^5 nodes
  // the 5 s lines came too far apart to see what grows).
  const sampleQueues = (): void => {
    const q = ms.queuedChanges();
    queuedPeak = Math.max(queuedPeak, q.sum);
    queuedMax = Math.max(queuedMax, q.max);
    if (ms.sim.now % 1000 === 0) {
      sample();
      process.stderr.write(`bench/members: t=${(ms.sim.now / 1000).toFixed(0)} s virtual, ${((Date.now() - t0) / 1000).toFixed(1)} s wall, rss ${Math.round(process.memoryUsage().rss / 1048576)} MB, queued changes ${q.sum} (busiest node ${q.max}, dropped so far ${q.dropped})\n`);
    }
    if (ms.sim.liveCountNow() > 0) ms.sim.at(ms.sim.now + 500, sampleQueues);
  };
  ms.sim.at(ms.sim.now + 500, sampleQueues);
  sample();
  const c1 = process.cpuUsage(c0);
  process.stderr.write(`bench/members: settled, ${((Date.now() - t0) / 1000).toFixed(1)} s wall, rss ${Math.round(peak / 1048576)} MB, steady ${steady.toFixed(1)} B/s/node\n`);
  const sim = ms.sim;
  const f0 = ms.floodEntries;
  const s0 = ms.syncEntries;
  const t0s = ms.tallies();
  const r = crashAndDetect(ms, failed, failed >= 90 ? 300_000 : 120_000) as Record<string, number | null>;
  const t1s = ms.tallies();
  const live = ms.sim.liveCountNow();
  sample();
  const c2 = process.cpuUsage(c0);
  const cpu = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
  clearInterval(timer);
  const result = {
    nodes,
    seed,
    failed,
    wall_s: Math.round((Date.now() - t0) / 100) / 10,
    peak_rss_mb: Math.round(peak / 1048576),
    detect_p50_s: r.detect_p50_s,
    detect_p99_s: r.detect_p99_s,
    detect_p100_s: r.detect_p100_s,
    stuck_alive: r.stuck_alive,
    false_failed: r.false_failed,
    bytes_per_node_per_s: Math.round(steady * 10) / 10,
    detect_bytes_per_node_per_s: r.detect_bytes_per_node_per_s,
    crashed: r.crashed,
    events: sim.eventsProcessed,
    peak_queued_changes: queuedPeak,
    peak_queued_at_one_node: queuedMax,
    dropped_changes: ms.queuedChanges().dropped,
    flood_entries_per_node: Math.round((ms.floodEntries - f0) / live),
    sync_entries_per_node: Math.round((ms.syncEntries - s0) / live),
    prune_flood: ms.config.pruneFlood,
    eager_feeders: ms.config.eagerFeeders,
    tally_repair: ms.config.tallyRepair,
    ring_relay_all: ms.config.ringRelayAll,
    tallies_per_node: Math.round(((t1s.sent - t0s.sent) / live) * 10) / 10,
    tally_pulls_per_node: Math.round(((t1s.pulls - t0s.pulls) / live) * 10) / 10,
    tally_answer_entries_per_node: Math.round(((t1s.answered - t0s.answered) / live) * 10) / 10,
    cpu_settle_s: Math.round(cpu(c1) * 10) / 10,
    cpu_wave_s: Math.round((cpu(c2) - cpu(c1)) * 10) / 10,
    load_avg: [load0, loadavg()[0]].map((x) => Math.round(x * 10) / 10),
  };
  const dir = resolve('bench', 'results');
  await mkdir(dir, { recursive: true });
  const tag = (prune === undefined ? '' : `-prune-${prune ? 'on' : 'off'}`) + (feeders === undefined ? '' : `-feeders-${feeders}`) + (tally === undefined ? '' : `-tally-${tally ? 'on' : 'off'}`) + (ring === undefined ? '' : `-ring-${ring ? 'all' : 'news'}`) + (failed === 10 ? '' : `-failed-${failed}`);
  const file = join(dir, `members-${nodes}${tag}.json`);
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(28)} ${String(v)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

void main();
