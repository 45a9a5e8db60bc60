/**
 * The simulation worker: owns the sessions (spread, overlay) and runs convergence
 * experiments, so the page's main thread never runs protocol code. It imports `src/proto`
 * and `src/sim` unchanged, which is the proof that they are free of Node built-ins.
 */
/// <reference lib="webworker" />
import { SpreadSession, joinAndSettle } from './spread.js';
import { OverlaySession } from './overlay.js';
import { runConvergenceAsync } from './converge.js';
import { createEngine } from './engine.js';
import type { Reply, Request } from './protocol.js';

declare const self: DedicatedWorkerGlobalScope;

let spread: SpreadSession | null = null;
let overlay: OverlaySession | null = null;

function post(r: Reply): void {
  const transfer: Transferable[] = [];
  if (r.type === 'spread-state') transfer.push(r.hop.buffer, r.alive.buffer, r.edges.buffer, r.links.buffer);
  if (r.type === 'overlay-state') transfer.push(r.alive.buffer, r.links.buffer);
  self.postMessage(r, transfer);
}

function needSpread(): SpreadSession {
  if (!spread) throw new RangeError('spread: press Build first');
  return spread;
}

function needOverlay(): OverlaySession {
  if (!overlay) throw new RangeError('overlay: press Build first');
  return overlay;
}

function benchPlumtree(seq: number, nodes: number, seed: number): Reply {
  const t0 = performance.now();
  const sim = createEngine({ nodes, seed, protocol: { membership: 'hyparview', broadcast: 'plumtree' }, network: { latency: { kind: 'constant', ms: 10 } } });
  joinAndSettle(sim, nodes);
  const t1 = performance.now();
  let delivered = 0;
  let lastWall = t1;
  let lastVirtual = sim.now;
  sim.observer = {
    onDeliver: (_n, _id, _r, _f, t) => {
      delivered++;
      lastWall = performance.now();
      lastVirtual = t;
    },
  };
  const start = sim.now;
  sim.broadcast(0);
  const alive = sim.liveNodes().length;
  // Run until every live node delivered, or 3 s of virtual time without a delivery.
  while (delivered < alive && sim.now - lastVirtual < 3000) sim.runFor(10);
  return {
    type: 'bench-result',
    seq,
    nodes,
    joinWallMs: t1 - t0,
    broadcastWallMs: lastWall - t1,
    delivered,
    alive,
    virtualMs: lastVirtual - start,
  };
}

function handle(req: Request): Reply {
  switch (req.type) {
    case 'spread-init':
      spread = null;
      spread = new SpreadSession(req.params);
      return spread.state(req.seq);
    case 'spread-start':
      needSpread().start(req.origin);
      return needSpread().state(req.seq);
    case 'spread-step':
      needSpread().step(req.rounds);
      return needSpread().state(req.seq);
    case 'spread-crash':
      needSpread().crash(req.nodes);
      return needSpread().state(req.seq);
    case 'spread-cut':
      needSpread().cut(req.a, req.b);
      return needSpread().state(req.seq);
    case 'spread-fail':
      needSpread().failPercent(req.percent);
      return needSpread().state(req.seq);
    case 'spread-loss':
      needSpread().setLoss(req.loss);
      return needSpread().state(req.seq);
    case 'overlay-init':
      overlay = null;
      overlay = new OverlaySession(req.params);
      return overlay.state(req.seq);
    case 'overlay-fail':
      needOverlay().failPercent(req.percent);
      return needOverlay().state(req.seq);
    case 'overlay-crash':
      needOverlay().crash(req.nodes);
      return needOverlay().state(req.seq);
    case 'overlay-advance':
      needOverlay().advance(req.ms);
      return needOverlay().state(req.seq);
    case 'bench-plumtree':
      return benchPlumtree(req.seq, req.nodes, req.seed);
    case 'converge-run':
    case 'converge-cancel':
      throw new Error(`${req.type}: handled by onmessage`);
  }
}

/** Convergence runs in progress (request seq) and the ones asked to stop. */
const converging = new Set<number>();
const cancelled = new Set<number>();

/** A convergence run: in steps, yielding to this worker's event loop so that a
 *  `converge-cancel` is read while it runs. */
async function converge(req: Extract<Request, { type: 'converge-run' }>): Promise<void> {
  converging.add(req.seq);
  try {
    const r = await runConvergenceAsync(
      req.params,
      req.seq,
      (p) => post({ type: 'progress', seq: req.seq, ...p }),
      () => cancelled.has(req.seq),
    );
    post(r === null ? { type: 'cancelled', seq: req.seq } : r);
  } catch (e) {
    post({ type: 'error', seq: req.seq, reason: e instanceof Error ? e.message : String(e) });
  } finally {
    converging.delete(req.seq);
    cancelled.delete(req.seq);
  }
}

self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  if (req?.type === 'converge-run') return void converge(req);
  if (req?.type === 'converge-cancel') {
    if (converging.has(req.target)) cancelled.add(req.target);
    return;
  }
  try {
    post(handle(req));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    post({ type: 'error', seq: req?.seq ?? -1, reason });
  }
};
