/**
 * Fanout gossip: the talk's model of epidemic dissemination ("Making servers gossip"), kept
 * as a baseline next to Plumtree and flooding.
 *
 * On the first receipt of a message a node delivers it and pushes it to `fanout` peers
 * drawn uniformly from its `PeerSource` (a full membership list, as in the talk and in the
 * epidemic analyses, or a partial view such as HyParView's active view), excluding the peer
 * it came from. With `rounds = 1` this is "infect and die" push gossip (each node forwards
 * once; the HyParView paper's gossip fanout is 4). With `rounds > 1` the node keeps pushing
 * to a fresh sample on each of the next `rounds − 1` ticks of its round timer
 * (`fanout-round`, every `roundIntervalMs`): push gossip with a retransmit limit, like
 * memberlist's broadcast queue.
 *
 * Rounds as in Plumtree: the origin sends round 0; a node forwards round + 1 (retransmits
 * carry the same round); `deliver` reports the received round (origin: 0, `from` null).
 *
 * Differs from the model: the round timer is one node-wide tick (as memberlist's gossip
 * interval), so a message's second push happens on the next tick, up to `roundIntervalMs`
 * after its receipt, not exactly one interval after; ids are remembered for `seenTtlMs`
 * and at most `maxSeenEntries` of them.
 */
import type { BroadcastIo, BroadcastMachine } from './machine.js';
import { checkFields, SeenCache } from './seen.js';
import type { BroadcastMessage, BroadcastTimer, ConfigResult, MsgId, PeerSource, Rng } from './types.js';

export interface FanoutConfig {
  /** Peers each push goes to. */
  fanout: number;
  /** Pushes per node per message, the first on receipt (1: infect and die). */
  rounds: number;
  /** Interval between a node's push rounds (ms). */
  roundIntervalMs: number;
  /** How long ids are remembered for exactly-once delivery (ms). */
  seenTtlMs: number;
  /** Bound on remembered ids; the oldest is evicted first. */
  maxSeenEntries: number;
}

export const DEFAULT_FANOUT_CONFIG: FanoutConfig = Object.freeze({
  // HyParView paper's gossip fanout (4 = active view 5 − 1) [protocols.md §0, RECALL high].
  fanout: 4,
  // Infect and die: forward once (the talk's model and the HyParView paper's experiments).
  rounds: 1,
  // memberlist DefaultLANConfig GossipInterval (200 ms); used only when rounds > 1.
  roundIntervalMs: 200,
  // Same as Plumtree's id retention (iroh-gossip default, 90 s).
  seenTtlMs: 90_000,
  // Same as Plumtree's maxCacheEntries (measured: ≈ 66 B per entry, 10 s of history at
  // 10,000 msgs/s; see plumtree.ts).
  maxSeenEntries: 100_000,
});

/** Validate a fanout-gossip configuration; the reason starts with the offending field. */
export function validateFanoutConfig(c: unknown): ConfigResult<FanoutConfig> {
  return checkFields<FanoutConfig>(c, {
    fanout: { integer: true, min: 1 },
    rounds: { integer: true, min: 1 },
    roundIntervalMs: { above: 0 },
    seenTtlMs: { above: 0 },
    maxSeenEntries: { integer: true, min: 1 },
  });
}

const ROUND_TIMER: BroadcastTimer = Object.freeze({ type: 'fanout-round' });

export class FanoutGossip<P> implements BroadcastMachine<P> {
  private readonly seen: SeenCache;
  /** Sample buffer, reused for every push. */
  private readonly buf: P[] = [];
  /** Messages still to be retransmitted: message, excluded peer, pushes left. */
  private pendingMsgs: BroadcastMessage[] = [];
  private pendingExclude: (P | null)[] = [];
  private pendingLeft: number[] = [];
  private timerArmed = false;

  constructor(
    readonly self: P,
    private readonly config: FanoutConfig,
    private readonly rng: Rng,
    private readonly io: BroadcastIo<P>,
    private readonly peers: PeerSource<P>,
  ) {
    this.seen = new SeenCache(config.seenTtlMs, 0, config.maxSeenEntries);
  }

  /** Number of messages still to be retransmitted. */
  pendingCount(): number {
    return this.pendingMsgs.length;
  }

  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean {
    if (!this.seen.add(id, now)) return false;
    this.seen.armGc(now, this.io);
    this.io.deliver(id, payload, 0, null);
    this.start({ type: 'gossip', id, round: 0, payload }, null);
    return true;
  }

  handleMessage(from: P, msg: BroadcastMessage, now: number): void {
    if (msg.type !== 'gossip') return;
    if (!this.seen.add(msg.id, now)) return;
    this.seen.armGc(now, this.io);
    this.io.deliver(msg.id, msg.payload, msg.round, from);
    this.start({ type: 'gossip', id: msg.id, round: msg.round + 1, payload: msg.payload }, from);
  }

  handleTimer(t: BroadcastTimer, now: number): void {
    if (t.type === 'pt-cache-gc') this.seen.onGcTimer(now, this.io);
    else if (t.type === 'fanout-round') this.onRound();
  }

  // Neighbour changes are the peer source's business (full membership or active view).
  neighborUp(_peer: P, _now: number): void {}

  neighborDown(_peer: P, _now: number): void {}

  /** First push, and registration for the remaining rounds. */
  private start(msg: BroadcastMessage, exclude: P | null): void {
    this.pushOnce(msg, exclude);
    if (this.config.rounds <= 1) return;
    this.pendingMsgs.push(msg);
    this.pendingExclude.push(exclude);
    this.pendingLeft.push(this.config.rounds - 1);
    this.armRound();
  }

  private onRound(): void {
    this.timerArmed = false;
    const msgs = this.pendingMsgs;
    const excl = this.pendingExclude;
    const left = this.pendingLeft;
    let kept = 0;
    for (let i = 0; i < msgs.length; i++) {
      this.pushOnce(msgs[i], excl[i]);
      if (left[i] > 1) {
        msgs[kept] = msgs[i];
        excl[kept] = excl[i];
        left[kept] = left[i] - 1;
        kept++;
      }
    }
    msgs.length = kept;
    excl.length = kept;
    left.length = kept;
    this.armRound();
  }

  private armRound(): void {
    if (this.timerArmed || this.pendingMsgs.length === 0) return;
    this.timerArmed = true;
    this.io.timer(this.config.roundIntervalMs, ROUND_TIMER);
  }

  private pushOnce(msg: BroadcastMessage, exclude: P | null): void {
    const n = this.peers.sample(this.config.fanout, exclude, this.rng, this.buf);
    for (let i = 0; i < n; i++) {
      const p = this.buf[i];
      if (p !== this.self) this.io.send(p, msg);
    }
  }
}
