/**
 * `ProtoNode`: one gossip node as a single sans-IO machine, composing a membership machine
 * (HyParView or Cyclon) with a broadcast machine (Plumtree, flooding or fanout gossip).
 *
 * Drivers (simulator, TCP runtime, browser worker) create one `ProtoNode` per node, hand it
 * an `Io` sink, and feed it inputs. The node routes each message to the machine that owns
 * its type, and turns the membership machine's neighbour changes into (1) `neighborUp` /
 * `neighborDown` inputs of the broadcast machine and (2) `neighbor-up` / `neighbor-down`
 * events for the application.
 */
import { Cyclon, type CyclonConfig, DEFAULT_CYCLON_CONFIG, validateCyclonConfig } from './cyclon.js';
import { FanoutGossip, type FanoutConfig, DEFAULT_FANOUT_CONFIG, validateFanoutConfig } from './fanout.js';
import { Flood } from './flood.js';
import { HyParView, type HyParViewConfig, DEFAULT_HYPARVIEW_CONFIG, validateHyParViewConfig } from './hyparview.js';
import type { ViewStore } from './hyparview-views.js';
import type { BroadcastIo, BroadcastMachine, MembershipIo, MembershipMachine } from './machine.js';
import { Plumtree, type PlumtreeConfig, DEFAULT_PLUMTREE_CONFIG, validatePlumtreeConfig } from './plumtree.js';
import type {
  BroadcastTimer,
  ConfigResult,
  DownReason,
  Io,
  Message,
  MsgId,
  PeerSource,
  Rng,
  Timer,
} from './types.js';

export type MembershipKind = 'hyparview' | 'cyclon';
export type BroadcastKind = 'plumtree' | 'flood' | 'fanout';

export interface NodeConfig {
  /** Overlay membership protocol. Default `hyparview` (DESIGN.md). */
  membership: MembershipKind;
  /** Broadcast protocol. Default `plumtree` (DESIGN.md); `flood`/`fanout` are baselines. */
  broadcast: BroadcastKind;
  hyparview: HyParViewConfig;
  cyclon: CyclonConfig;
  plumtree: PlumtreeConfig;
  fanout: FanoutConfig;
}

export const DEFAULT_NODE_CONFIG: NodeConfig = {
  membership: 'hyparview',
  broadcast: 'plumtree',
  hyparview: DEFAULT_HYPARVIEW_CONFIG,
  cyclon: DEFAULT_CYCLON_CONFIG,
  plumtree: DEFAULT_PLUMTREE_CONFIG,
  fanout: DEFAULT_FANOUT_CONFIG,
};

/** A partial node configuration: any field may be omitted and takes its default. */
export interface NodeConfigInput {
  membership?: MembershipKind;
  broadcast?: BroadcastKind;
  hyparview?: Partial<HyParViewConfig>;
  cyclon?: Partial<CyclonConfig>;
  plumtree?: Partial<PlumtreeConfig>;
  fanout?: Partial<FanoutConfig>;
}

/** Merge `input` over the defaults and validate; the reason names the offending field. */
export function resolveNodeConfig(input: NodeConfigInput = {}): ConfigResult<NodeConfig> {
  const membership = input.membership ?? DEFAULT_NODE_CONFIG.membership;
  if (membership !== 'hyparview' && membership !== 'cyclon') {
    return { ok: false, reason: `membership: expected "hyparview" or "cyclon", got ${JSON.stringify(membership)}` };
  }
  const broadcast = input.broadcast ?? DEFAULT_NODE_CONFIG.broadcast;
  if (broadcast !== 'plumtree' && broadcast !== 'flood' && broadcast !== 'fanout') {
    return { ok: false, reason: `broadcast: expected "plumtree", "flood" or "fanout", got ${JSON.stringify(broadcast)}` };
  }
  const hv = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, ...input.hyparview });
  if (!hv.ok) return { ok: false, reason: `hyparview.${hv.reason}` };
  const cy = validateCyclonConfig({ ...DEFAULT_CYCLON_CONFIG, ...input.cyclon });
  if (!cy.ok) return { ok: false, reason: `cyclon.${cy.reason}` };
  const pt = validatePlumtreeConfig({ ...DEFAULT_PLUMTREE_CONFIG, ...input.plumtree });
  if (!pt.ok) return { ok: false, reason: `plumtree.${pt.reason}` };
  const fo = validateFanoutConfig({ ...DEFAULT_FANOUT_CONFIG, ...input.fanout });
  if (!fo.ok) return { ok: false, reason: `fanout.${fo.reason}` };
  return {
    ok: true,
    config: { membership, broadcast, hyparview: hv.config, cyclon: cy.config, plumtree: pt.config, fanout: fo.config },
  };
}

export interface ProtoNodeOptions<P> {
  self: P;
  config: NodeConfig;
  rng: Rng;
  io: Io<P>;
  /** Peer source for fanout gossip. Default: the membership machine's active view. The
   *  simulator passes a shared full-membership source for the talk's model. */
  peerSource?: PeerSource<P>;
}

export class ProtoNode<P> {
  readonly self: P;
  readonly membership: MembershipMachine<P>;
  readonly broadcaster: BroadcastMachine<P>;
  private readonly io: Io<P>;
  private now = 0;

  constructor(opts: ProtoNodeOptions<P>) {
    const { self, config, rng, io } = opts;
    this.self = self;
    this.io = io;
    // The membership machine's sink (prototype methods, no per-node closures) forwards to
    // `io` and reports neighbour changes to this node. The broadcast machine needs only
    // send / timer / deliver, which it calls on the driver's `io` directly: one object (one
    // memory access: what bounds the simulator at 10^6 nodes) less per broadcast message.
    const mio = new MachineIo<P>(io, this);
    const m = createMachines<P>(self, config, rng, mio, io, opts.peerSource);
    this.membership = m.membership;
    this.broadcaster = m.broadcaster;
  }

  join(contacts: readonly P[], now: number): void {
    this.now = now;
    this.membership.join(contacts, now);
  }

  /** Originate a broadcast. Returns false if `id` was already seen by this node. */
  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean {
    this.now = now;
    return this.broadcaster.broadcast(id, payload, now);
  }

  handleMessage(from: P, msg: Message<P>, now: number): void {
    this.now = now;
    routeMessage(this.membership, this.broadcaster, from, msg, now);
  }

  handleTimer(t: Timer<P>, now: number): void {
    this.now = now;
    routeTimer(this.membership, this.broadcaster, t, now);
  }

  handleLinkDown(peer: P, now: number): void {
    this.now = now;
    this.membership.handleLinkDown(peer, now);
  }

  leave(now: number): void {
    this.now = now;
    this.membership.leave(now);
  }

  /** An application learned that `peer`, which it held failed, answers again: the membership
   *  machine joins through it when it is not a neighbour (HyParView `reconnect`; Cyclon
   *  ignores it). True when a JOIN was sent. */
  reconnect(peer: P, now: number): boolean {
    this.now = now;
    return this.membership.reconnect?.(peer, now) ?? false;
  }

  activeView(): readonly P[] {
    return this.membership.activeView();
  }

  passiveView(): readonly P[] {
    return this.membership.passiveView();
  }

  /** @internal The membership machine reports `peer` entered the active view. */
  _onNeighborUp(peer: P): void {
    this.broadcaster.neighborUp(peer, this.now);
    this.io.event({ type: 'neighbor-up', peer });
  }

  /** @internal The membership machine reports `peer` left the active view. */
  _onNeighborDown(peer: P, reason: DownReason): void {
    this.broadcaster.neighborDown(peer, this.now);
    this.io.event({ type: 'neighbor-down', peer, reason });
  }
}

/** The `MembershipIo` of one node: forwards to the driver's `Io`, and neighbour changes to
 *  the node. */
class MachineIo<P> implements MembershipIo<P> {
  constructor(
    private readonly io: Io<P>,
    private readonly node: ProtoNode<P>,
  ) {}
  send(to: P, msg: Message<P>): void {
    this.io.send(to, msg);
  }
  connect(peer: P): void {
    this.io.connect(peer);
  }
  disconnect(peer: P): void {
    this.io.disconnect(peer);
  }
  timer(delayMs: number, t: Timer<P>): void {
    this.io.timer(delayMs, t);
  }
  neighborUp(peer: P): void {
    this.node._onNeighborUp(peer);
  }
  neighborDown(peer: P, reason: DownReason): void {
    this.node._onNeighborDown(peer, reason);
  }
}

/**
 * The membership and broadcast machines of one node, as `ProtoNode` composes them (exported
 * for drivers that route to the machines themselves: the simulator, which holds 10^6 nodes
 * and saves `ProtoNode`'s two objects per node). `peerSource` defaults to the membership
 * machine's active view (used by fanout gossip only). `views`: where a HyParView machine keeps
 * its views, and its row there (hyparview-views.ts; default: arrays of its own).
 */
export function createMachines<P>(
  self: P,
  config: NodeConfig,
  rng: Rng,
  mio: MembershipIo<P>,
  bio: BroadcastIo<P>,
  peerSource?: PeerSource<P>,
  views?: { store: ViewStore<P>; row: number },
): { membership: MembershipMachine<P>; broadcaster: BroadcastMachine<P> } {
  const membership: MembershipMachine<P> =
    config.membership === 'hyparview'
      ? new HyParView<P>(self, config.hyparview, rng, mio, views?.store, views?.row)
      : new Cyclon<P>(self, config.cyclon, rng, mio);
  let broadcaster: BroadcastMachine<P>;
  if (config.broadcast === 'plumtree') broadcaster = new Plumtree<P>(self, config.plumtree, rng, bio);
  else if (config.broadcast === 'flood') broadcaster = new Flood<P>(self, config.plumtree, bio);
  else broadcaster = new FanoutGossip<P>(self, config.fanout, rng, bio, peerSource ?? activeViewSource(membership));
  return { membership, broadcaster };
}

/** Hand `msg` to the machine it is for: GOSSIP, IHAVE, GRAFT and PRUNE to the broadcast
 *  machine, the rest to the membership machine (a switch on the tag, no Set lookup: this runs
 *  once per simulated message). */
export function routeMessage<P>(membership: MembershipMachine<P>, broadcaster: BroadcastMachine<P>, from: P, msg: Message<P>, now: number): void {
  switch (msg.type) {
    case 'gossip':
    case 'ihave':
    case 'graft':
    case 'prune':
      broadcaster.handleMessage(from, msg, now);
      break;
    default:
      membership.handleMessage(from, msg, now);
  }
}

/** Hand a fired timer to the machine that set it. */
export function routeTimer<P>(membership: MembershipMachine<P>, broadcaster: BroadcastMachine<P>, t: Timer<P>, now: number): void {
  switch (t.type) {
    case 'hv-shuffle':
    case 'hv-repair':
    case 'hv-neighbor-timeout':
    case 'hv-join-retry':
    case 'cyclon-shuffle':
      membership.handleTimer(t, now);
      break;
    default:
      broadcaster.handleTimer(t as BroadcastTimer, now);
  }
}

/** Fanout gossip over the membership machine's current active view. */
function activeViewSource<P>(m: MembershipMachine<P>): PeerSource<P> {
  return {
    sample(k, exclude, rng, out) {
      const view = m.activeView();
      let n = 0;
      // Partial Fisher–Yates over a copy of the (small) view.
      const pool = view.slice();
      for (let i = 0; i < pool.length && n < k; i++) {
        const j = i + rng.int(pool.length - i);
        const t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
        if (pool[i] !== exclude) out[n++] = pool[i];
      }
      return n;
    },
  };
}
