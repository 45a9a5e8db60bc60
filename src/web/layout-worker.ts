/**
 * Force-directed graph layout in a Web Worker (d3-force), so the page's main thread only
 * draws. Links pull neighbours together, every node repels every other (Barnes–Hut, O(n log n)
 * per tick), and each node is pulled towards its connected component's own slot
 * (`componentTargets`): an overlay split in two shows as two clouds side by side, isolated
 * nodes (crashed, unreached) sit on a ring around them.
 *
 * Protocol (`LayoutRequest` in, `LayoutReply` out): a `graph` message replaces the graph and
 * restarts the simulation (warm: known positions are kept, so an update moves the picture
 * instead of redrawing it from scratch); the worker posts positions, normalised to the unit
 * square, about every 50 ms while it runs, and a last message with `settled: true`.
 * Deterministic: d3-force seeds its own jiggle, and new nodes start on a fixed spiral.
 */
import { createLayout, type LayoutNode } from './layout-sim.js';
import type { LayoutReply, LayoutRequest } from './layout-protocol.js';
import type { Simulation } from 'd3-force';

let sim: Simulation<LayoutNode, undefined> | null = null;
let nodes: LayoutNode[] = [];
let gen = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let lastComponents = -1;

const post = (m: LayoutReply, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

function start(req: Extract<LayoutRequest, { type: 'graph' }>): void {
  sim?.stop();
  clearTimeout(timer);
  gen = req.gen;
  const old = nodes;
  nodes = [];
  for (let i = 0; i < req.n; i++) {
    const x = req.init ? req.init[2 * i] : NaN;
    const y = req.init ? req.init[2 * i + 1] : NaN;
    if (Number.isFinite(x) && Number.isFinite(y)) nodes.push({ i, x: (x - 0.5) * 1000, y: (y - 0.5) * 1000 });
    else if (old[i] !== undefined && old.length === req.n) nodes.push({ i, x: old[i].x, y: old[i].y });
    else {
      // The spiral d3-force would use, spread to the scale of our forces.
      const r = 12 * Math.sqrt(0.5 + i);
      const a = i * Math.PI * (3 - Math.sqrt(5));
      nodes.push({ i, x: r * Math.cos(a), y: r * Math.sin(a) });
    }
  }
  const made = createLayout(nodes, req.links, req.warm, lastComponents);
  sim = made.sim;
  lastComponents = made.components;
  run(gen);
}

/** Tick for ~30 ms, post the positions, yield, repeat until the simulation cools. */
function run(g: number): void {
  if (g !== gen || sim === null) return;
  const t0 = performance.now();
  while (sim.alpha() > sim.alphaMin() && performance.now() - t0 < 30) sim.tick();
  const settled = sim.alpha() <= sim.alphaMin();
  const xy = normalise(nodes);
  post({ type: 'positions', gen: g, xy, settled }, [xy.buffer]);
  if (!settled) timer = setTimeout(() => run(g), 20);
}

/** Positions scaled into [0.03, 0.97]² keeping the aspect ratio. */
function normalise(ns: LayoutNode[]): Float32Array {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const d of ns) {
    minX = Math.min(minX, d.x!);
    maxX = Math.max(maxX, d.x!);
    minY = Math.min(minY, d.y!);
    maxY = Math.max(maxY, d.y!);
  }
  const span = Math.max(maxX - minX, maxY - minY, 1e-9);
  const s = 0.94 / span;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const xy = new Float32Array(2 * ns.length);
  for (let k = 0; k < ns.length; k++) {
    xy[2 * k] = 0.5 + (ns[k].x! - cx) * s;
    xy[2 * k + 1] = 0.5 + (ns[k].y! - cy) * s;
  }
  return xy;
}

self.onmessage = (ev: MessageEvent<LayoutRequest>) => {
  const m = ev.data;
  if (m.type === 'graph') start(m);
  else if (m.type === 'stop') {
    gen = -1;
    sim?.stop();
    clearTimeout(timer);
  }
};
