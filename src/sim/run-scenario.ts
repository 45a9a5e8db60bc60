/**
 * Execute a `Scenario` (validated by scenario-schema.ts) on the simulator and return a
 * JSON-able result: per-broadcast figures, overlay snapshots, traffic by message type and
 * per node, and the timeline as executed. No wall-clock value appears in the result, so the
 * same scenario and seed give byte-identical JSON.
 */
import type { BroadcastStats } from './metrics.js';
import type { OverlayStats } from './metrics.js';
import type { Scenario, TimelineEvent } from './scenario-types.js';
import { Simulation, type TrafficByType } from './simulation.js';

export interface ScenarioResult {
  name: string;
  seed: number;
  nodes: number;
  endMs: number;
  /** Simulator events processed. */
  events: number;
  liveNodesAtEnd: number;
  /** One entry per broadcast, in order, measured at the end of the run. */
  broadcasts: (BroadcastStats & { index: number })[];
  snapshots: ({ atMs: number; label: string } & OverlayStats)[];
  /** What each timeline event did (e.g. which nodes failed). */
  log: { atMs: number; type: TimelineEvent['type']; detail: string }[];
  traffic: TrafficByType;
  /** Messages and bytes sent per live node at the end. */
  perNode: { meanMessages: number; maxMessages: number; meanBytes: number; maxBytes: number };
}

/** Default end of a run: 10 s after the last timeline event ends. */
function defaultEnd(s: Scenario): number {
  let end = 0;
  for (const e of s.timeline) {
    let t = e.at;
    if (e.type === 'join-all') t += s.nodes * e.intervalMs;
    if (e.type === 'broadcast') t += e.count * e.intervalMs;
    if (e.type === 'churn') t += e.durationMs;
    end = Math.max(end, t);
  }
  return end + 10_000;
}

function schedule(sim: Simulation, e: TimelineEvent, r: ScenarioResult, ids: string[]): void {
  const log = (detail: string): void => {
    r.log.push({ atMs: sim.now, type: e.type, detail });
  };
  switch (e.type) {
    case 'join-all':
      return sim.at(e.at, () => {
        sim.joinAll(e.intervalMs);
        log(`every node joins, one per ${e.intervalMs} ms`);
      });
    case 'fail':
      return sim.at(e.at, () => log(`crashed ${sim.failPercent(e.percent).length} nodes (${e.percent}%)`));
    case 'crash':
      return sim.at(e.at, () => {
        sim.crash(e.nodes);
        log(`crashed ${e.nodes.length} nodes`);
      });
    case 'partition':
      return sim.at(e.at, () => {
        sim.partition(e.groups);
        log(`${e.groups} groups`);
      });
    case 'heal':
      return sim.at(e.at, () => {
        sim.heal();
        log('healed');
      });
    case 'broadcast':
      for (let i = 0; i < e.count; i++) {
        sim.at(e.at + i * e.intervalMs, () => {
          if (e.from !== undefined && !sim.isAlive(e.from)) return log(`skipped: node ${e.from} is not alive`);
          if (sim.liveCountNow() === 0) return log('skipped: no live node');
          ids.push(sim.broadcast(e.from));
        });
      }
      return;
    case 'churn':
      return sim.at(e.at, () => {
        sim.churn(e.durationMs, e.joinPerSec, e.leavePerSec);
        log(`churn for ${e.durationMs} ms: +${e.joinPerSec}/s −${e.leavePerSec}/s`);
      });
    case 'slow':
      return sim.at(e.at, () => log(`${sim.slow(e.percent, e.delayMs).length} slow nodes (+${e.delayMs} ms)`));
    case 'loss':
      return sim.at(e.at, () => {
        sim.setLoss(e.rate);
        log(`loss rate ${e.rate}`);
      });
    case 'snapshot':
      return sim.at(e.at, () => {
        r.snapshots.push({ atMs: sim.now, label: e.label ?? `t=${sim.now}`, ...sim.overlayStats() });
      });
  }
}

/** Progress of a run: the fraction of virtual time done (0..1), the virtual time reached
 *  and the events processed so far. */
export type ScenarioProgress = (fraction: number, atMs: number, events: number) => void;

/**
 * Run `s` to its end; `onProgress` is called 200 times at evenly spaced virtual times, and
 * also at each of `marks` (virtual times in ms, e.g. the phase boundaries of bench/sim.ts).
 * Stopping at a mark changes nothing in the run: the output is the same with or without.
 */
export function runScenario(s: Scenario, onProgress?: ScenarioProgress, marks: readonly number[] = []): ScenarioResult {
  const sim = new Simulation({ nodes: s.nodes, seed: s.seed, protocol: s.protocol, network: s.network });
  const endMs = s.endMs ?? defaultEnd(s);
  const r: ScenarioResult = {
    name: s.name,
    seed: s.seed,
    nodes: s.nodes,
    endMs,
    events: 0,
    liveNodesAtEnd: 0,
    broadcasts: [],
    snapshots: [],
    log: [],
    traffic: {},
    perNode: { meanMessages: 0, maxMessages: 0, meanBytes: 0, maxBytes: 0 },
  };
  const ids: string[] = [];
  for (const e of s.timeline) schedule(sim, e, r, ids);
  const chunks = 200;
  const stops: number[] = [];
  for (let i = 1; i <= chunks; i++) stops.push((endMs * i) / chunks);
  for (const m of marks) if (m > 0 && m < endMs) stops.push(m);
  stops.sort((a, b) => a - b);
  for (const t of stops) {
    sim.runUntil(t);
    onProgress?.(t / endMs, t, sim.eventsProcessed);
  }
  r.events = sim.eventsProcessed;
  r.liveNodesAtEnd = sim.liveCountNow();
  r.broadcasts = ids.map((id, index) => ({ index, ...sim.broadcastStats(id) }));
  r.traffic = sim.trafficByType();
  let sm = 0;
  let sb = 0;
  const live = sim.liveNodes();
  for (const i of live) {
    sm += sim.sentMessages(i);
    sb += sim.sentBytes(i);
    r.perNode.maxMessages = Math.max(r.perNode.maxMessages, sim.sentMessages(i));
    r.perNode.maxBytes = Math.max(r.perNode.maxBytes, sim.sentBytes(i));
  }
  r.perNode.meanMessages = live.length === 0 ? 0 : sm / live.length;
  r.perNode.meanBytes = live.length === 0 ? 0 : sb / live.length;
  return r;
}
