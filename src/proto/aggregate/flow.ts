/**
 * Flow updating (Jesus, Baquero, Almeida, "Fault-tolerant aggregation by flow updating",
 * DAIS 2009; "Flow updating: fault-tolerant aggregation for dynamic networks", JPDC 2015):
 * the loss-robust average.
 *
 * In the paper's terms: node i keeps its input v_i, a *flow* F_ij towards each neighbour j and
 * the last estimate E_j heard from j. Its own estimate is e_i = v_i − Σ_j F_ij. Each round it
 * computes the neighbourhood average a = (e_i + Σ_j E_j) / (deg + 1), moves flows so that each
 * neighbour would hold a (F_ij += a − E_j, E_j := a), and sends each neighbour (F_ij, a). A
 * receiver sets F_ji := −F_ij and E_i := a. Because every message carries the *absolute* flow,
 * not a delta, messages are idempotent: a duplicate changes nothing and a lost one is
 * superseded by the next — no mass is lost when a message is. Σ_i e_i = Σ_i v_i whenever the
 * flows are antisymmetric, which the next message re-establishes.
 *
 * Continuous, without epochs (the flow protocol's self-correction, chosen because it needs no
 * restart and keeps the estimate continuous): a changed input moves e_i at once and spreads
 * like any disagreement; a departed neighbour's flow is deleted (`neighborDown`), so its
 * contribution leaves with it and the survivors re-converge to their own average.
 *
 * Differs from the paper:
 * - Estimates are pairs (value, weight): a node whose input is not set yet has weight 0 and
 *   only relays; the average is value / weight. (The paper averages one scalar.)
 * - Asynchronous rounds: each node recomputes on its own timer with what it heard so far (the
 *   paper's synchronous model waits for every neighbour's message).
 * - Links are flows, not overlay edges: a node opens links to its first MAX_LINKS overlay
 *   neighbours and keeps them while the peer answers (messages travel point to point, neighbour
 *   or not). HyParView reshuffles active views at steady state (measured in the simulator: a
 *   graceful close per node every ~40 s); dropping a flow at each close dumped it back onto both
 *   ends and kept the error near 100 % at 300 nodes. A link is dropped when the overlay reports
 *   it failed, when the peer is unreachable, or after SILENT_ROUNDS rounds without a message
 *   (the failure detector of the flow graph); a peer that sends on a link we dropped gets it
 *   back with its flow (F_ij := −F_ji), so a wrong drop repairs itself.
 *
 * Limits: average only (sum and count use push-sum, which has a unique origin per epoch);
 * convergence is diffusion over about MAX_LINKS links per node, so slower than push-sum's
 * random targets without loss (docs/results.md has both curves); a crashed peer that was not
 * an overlay neighbour any more keeps its flow for SILENT_ROUNDS rounds.
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { relDiff, type AggEvent, type AggMsg, type AggregateConfig, type AggTimer } from './types.js';

interface Link {
  fv: number;
  fw: number;
  ev: number;
  ew: number;
  heard: boolean;
  /** Rounds since the last message from this peer. */
  silent: number;
}

/** Links a node opens itself (on `neighborUp`): the active view's size order (HyParView's
 *  default active view is 5). Peers that open a link to us are accepted up to 4× this. */
export const MAX_LINKS = 6;
/** A link silent this many rounds is dropped (its peer's contribution leaves). 12: at 30 %
 *  loss a live link stays silent that long with probability 0.3^12 ≈ 5e-7 per round, and a
 *  wrongly dropped link is restored, flow intact, by the peer's next message. */
export const SILENT_ROUNDS = 12;

export class FlowUpdating<P> implements App<P, AggMsg<P>, AggTimer> {
  input: number | null = null;
  rounds = 0;
  dropped = 0;
  readonly links = new Map<P, Link>();
  private nextDue = -1;
  private stopped = false;
  private rmin = Infinity;
  private rmax = -Infinity;

  constructor(
    readonly self: P,
    readonly config: AggregateConfig,
    private readonly rng: Rng,
    private readonly io: AppIo<P, AggMsg<P>, AggTimer, AggEvent>,
  ) {}

  /** e_i as the pair (value, weight). */
  local(): [number, number] {
    let v = this.input ?? 0;
    let w = this.input === null ? 0 : 1;
    for (const l of this.links.values()) {
      v -= l.fv;
      w -= l.fw;
    }
    return [v, w];
  }

  current(): number | null {
    const [v, w] = this.local();
    return w > 1e-12 ? v / w : null;
  }

  estimate(): number | null {
    return this.current();
  }

  /** Flow updating talks to its links only: the member list is not used. */
  setMembers(_members: readonly P[], _allRun?: boolean): void {}

  set(value: number, _now: number): void {
    this.input = value;
  }

  start(now: number): void {
    this.arm(now, this.rng.next() * this.config.periodMs);
  }

  /** A new overlay neighbour becomes a flow link (up to MAX_LINKS). */
  neighborUp(peer: P): void {
    if (peer === this.self || this.links.has(peer) || this.links.size >= MAX_LINKS) return;
    this.links.set(peer, newLink());
  }

  /** Links are flows, not overlay edges: a graceful close of the overlay link (eviction,
   *  disconnect — HyParView reshuffles its active view at steady state) keeps the flow, which
   *  travels point to point anyway; dropping it would dump the flow back onto both ends. A
   *  failed link drops it at once (the peer's contribution leaves with it). */
  neighborDown(peer: P, reason: DownReason): void {
    if (reason === 'link-failed') this.links.delete(peer);
  }

  handleUnreachable(peer: P): void {
    this.links.delete(peer);
  }

  handleMessage(from: P, msg: AggMsg<P>, _now?: number): void {
    if (this.stopped) return;
    if (msg.type !== 'flow' || msg.kind !== 'avg' || from === this.self) {
      this.dropped++;
      return;
    }
    let l = this.links.get(from);
    if (l === undefined) {
      // The peer holds a link to us: hold its mirror (flows stay pairwise).
      if (this.links.size >= 4 * MAX_LINKS) {
        this.dropped++;
        return;
      }
      l = newLink();
      this.links.set(from, l);
    }
    l.silent = 0;
    l.fv = -msg.fv;
    l.fw = -msg.fw;
    l.ev = msg.ev;
    l.ew = msg.ew;
    l.heard = true;
    if (msg.ew > 1e-12) {
      const e = msg.ev / msg.ew;
      this.rmin = Math.min(this.rmin, e);
      this.rmax = Math.max(this.rmax, e);
    }
  }

  handleBroadcast(): void {}

  handleTimer(t: AggTimer, now: number): void {
    if (this.stopped || t.type !== 'round' || t.due !== this.nextDue) return;
    this.rounds++;
    const [v, w] = this.local();
    let av = v;
    let aw = w;
    let k = 1;
    for (const [peer, l] of [...this.links]) {
      if (++l.silent > SILENT_ROUNDS) {
        this.links.delete(peer);
        continue;
      }
      k++;
      if (!l.heard) {
        // Nothing heard from this neighbour yet: assume it agrees with us (moves no flow).
        l.ev = v;
        l.ew = w;
      }
      av += l.ev;
      aw += l.ew;
    }
    av /= k;
    aw /= k;
    for (const [peer, l] of this.links) {
      l.fv += av - l.ev;
      l.fw += aw - l.ew;
      l.ev = av;
      l.ew = aw;
      this.io.send(peer, { type: 'flow', kind: 'avg', fv: l.fv, fw: l.fw, ev: av, ew: aw });
    }
    const own = this.current();
    const spread = own === null || this.rmin === Infinity ? null : Math.max(relDiff(own, this.rmin), relDiff(own, this.rmax));
    this.rmin = Infinity;
    this.rmax = -Infinity;
    this.io.event({ type: 'estimate', value: own, rounds: this.rounds, spread, epoch: 0 });
    this.arm(now, this.config.periodMs);
  }

  stop(): void {
    this.stopped = true;
  }

  private arm(now: number, delay: number): void {
    this.nextDue = now + delay;
    this.io.timer(delay, { type: 'round', due: this.nextDue });
  }
}

function newLink(): Link {
  return { fv: 0, fw: 0, ev: 0, ew: 0, heard: false, silent: 0 };
}
