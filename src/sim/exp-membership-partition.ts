/**
 * `rumor sim membership-partition` (issue 20 §4): a 50/50 partition for 2 minutes (longer
 * than every suspicion timeout: each side marks the other failed), then heal; the time until
 * every node lists every node alive again. Nothing but the membership machine reconnects
 * the member lists: its reconnect loop (a random failed member gets an `m-sync` every
 * `reconnectIntervalMs`, Serf's 30 s) finds the other side, and the views reconcile.
 *
 * The HyParView overlay is split too (every link across broke). Also measured: its components
 * (active views, undirected) at the end of the partition, the time until it is one component
 * again, the active links between the two halves at the end, and the overlay JOINs that
 * answered reconnects started (the node whose reconnect was answered JOINs through that member:
 * `AppIo.peerReconnected`, HyParView `reconnect`). A second row does the same after a 30-minute
 * partition at `LONG_NODES` nodes: by then the passive views have forgotten the other side
 * (measured at 300 nodes: 17.5 % of passive entries point across after 2 minutes, 0.03 %
 * after 30), so only the reconnect joins the overlays. Default 2,000 nodes.
 */
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { checkMembersNodes, settledMembers } from './exp-membership-failures.js';
import { r3 } from './members-app.js';
import { FAILED, statusOf } from '../proto/members/types.js';

const PARTITION_MS = 120_000;
const LONG_PARTITION_MS = 1_800_000;
/** Nodes of the long-partition row (at most `nodes`): 30 virtual minutes of 2,000 nodes cost
 *  several wall-clock minutes; the passive views forget the other side at any size. */
const LONG_NODES = 300;
const MAX_HEAL_MS = 120_000;

/** One row of the experiment (see the module comment). */
export interface PartitionRow {
  nodes: number;
  partition_s: number;
  heal_to_full_s: number | null;
  failed_at_node0_before_heal: number;
  still_not_alive: number;
  /** Passive-view entries (all live nodes) that point to the other half, at the heal. */
  passive_across_at_heal: number;
  overlay_components_before_heal: number;
  overlay_one_component_s: number | null;
  overlay_components_end: number;
  overlay_links_across_end: number;
  reconnect_joins: number;
}

/** Settle `nodes`, partition 50/50 for `partitionMs`, heal, and measure (see the module
 *  comment). `overlayHint` false: answered reconnects do not make the overlay JOIN (control). */
export function partitionAndHeal(nodes: number, seed: number, partitionMs: number, opts: { overlayHint?: boolean } = {}): PartitionRow {
  const network = { loss: 0.01, failureDetection: { kind: 'timeout' as const, ms: 5000 } };
  const { ms } = settledMembers(nodes, seed, network, {}, undefined, opts.overlayHint !== false);
  const sim = ms.sim;
  sim.partition(2);
  const side = sim.partitionGroups()!;
  sim.runFor(partitionMs);
  // How far each side went: members marked failed by everyone (the other side, by its side).
  let failedSomewhere = 0;
  for (let m = 0; m < nodes; m++) if (statusOf(ms.shared.get(0, m)) === FAILED) failedSomewhere++;
  const componentsBefore = sim.overlayStats(0).components;
  let passiveAcross = 0;
  for (const a of sim.liveNodes()) for (const b of sim.node(a).passiveView()) if (side[a] !== side[b]) passiveAcross++;
  const apps = sim.apps!;
  const rejoins0 = apps.rejoins;
  sim.heal();
  const t0 = sim.now;
  let heal: number | null = null;
  let overlay: number | null = null;
  while (sim.now - t0 < MAX_HEAL_MS && (heal === null || overlay === null)) {
    sim.runFor(250);
    if (heal === null && ms.notAliveSomewhere() === 0) heal = (sim.now - t0) / 1000;
    if (overlay === null && sim.overlayStats(0).components === 1) overlay = (sim.now - t0) / 1000;
  }
  let across = 0;
  for (const a of sim.liveNodes()) for (const b of sim.node(a).activeView()) if (a < b && side[a] !== side[b]) across++;
  return {
    nodes,
    partition_s: partitionMs / 1000,
    heal_to_full_s: heal === null ? null : r3(heal),
    failed_at_node0_before_heal: failedSomewhere,
    still_not_alive: heal === null ? ms.notAliveSomewhere() : 0,
    passive_across_at_heal: passiveAcross,
    overlay_components_before_heal: componentsBefore,
    overlay_one_component_s: overlay === null ? null : r3(overlay),
    overlay_components_end: sim.overlayStats(0).components,
    overlay_links_across_end: across,
    reconnect_joins: apps.rejoins - rejoins0,
  };
}

export function membershipPartition(o: ExperimentOptions): ExperimentResult {
  const nodes = checkMembersNodes(o.nodes, 2000);
  const rows: PartitionRow[] = [partitionAndHeal(nodes, o.seed, PARTITION_MS)];
  o.onProgress?.(0.5);
  rows.push(partitionAndHeal(Math.min(nodes, LONG_NODES), o.seed, LONG_PARTITION_MS));
  o.onProgress?.(1);
  return {
    experiment: 'membership-partition',
    seed: o.seed,
    nodes,
    rows,
    network: 'uniform 5-25 ms, 1 % loss; partition: 2 random halves, messages across dropped, links across break after 5 s',
    resolution: "heal_to_full_s and overlay_one_component_s sampled every 250 ms (null: not within 120 s); overlay components over the live nodes' active views (undirected), and links across the halves, when both settled or at 120 s",
    baseline: 'Serf reconnect: one random failed member every 30 s per node; memberlist push-pull every 30 s',
    targets: 'heal_to_full_s <= 5; overlay_one_component_s <= 5',
  };
}
