/**
 * The membership machine (src/proto/members/) as a simulator application: the `AppSpec` that
 * builds one `Members<number>` per node over a view of one `SharedMembers` table, and the
 * measurements the membership experiments share.
 *
 * Bytes are charged with the membership codec's exact `direct`-frame size
 * (`src/wire/members.ts`), each peer id as the 13-character address it stands for
 * ("10.0.12.34:7946") plus its length byte: `PEER_BYTES` = 14.
 */
import { Members } from '../proto/members/machine.js';
import { FAILED, SUSPECT, isUp, pack, resolveMembersConfig, statusOf, ALIVE, type MembersConfig, type MembersEvent, type MembersMessage, type MembersTimer } from '../proto/members/types.js';
import { changeEntryBytes, changesFrameBytes, membersSize } from '../wire/members.js';
import type { AppSpec } from './app-host.js';
import { SharedMembers } from './members-store.js';
import { Simulation, type SimOptions } from './simulation.js';

/** Charged bytes of one peer id (see the module comment). */
export const PEER_BYTES = 14;
const peerBytes = (): number => PEER_BYTES;

/** Codec size of `msg`, computed once per message object: a flush sends the same batch object
 *  to its overlay links one after the other, and sizing it is O(entries). The last batch
 *  sized is remembered (a WeakMap of every batch cost more: 3.9 % of a failure wave's CPU at
 *  10^4 nodes, and ephemeron work in every GC). */
let lastMsg: object | null = null;
let lastSize = 0;
function sizeOf(msg: MembersMessage<number>): number {
  if (msg.type !== 'm-changes' && msg.type !== 'm-digest') return membersSize(msg, peerBytes);
  if (msg !== lastMsg) {
    lastSize = membersSize(msg, peerBytes);
    lastMsg = msg;
  }
  return lastSize;
}

export type MembersSpec = AppSpec<MembersMessage<number>, MembersTimer<number>, MembersEvent<number>>;

/** A simulation of `nodes` nodes running HyParView + Plumtree and the membership machine,
 *  every table bootstrapped with every node alive at incarnation 0 (members-store.ts). */
export class MembersSim {
  readonly sim: Simulation;
  readonly shared: SharedMembers;
  readonly config: MembersConfig;
  readonly machines: (Members<number> | null)[];
  /** First time any node marked member m failed / suspect (NaN: never), from `watchFrom` on. */
  readonly firstFailed: Float64Array;
  readonly firstSuspect: Float64Array;
  /** Time every live node held member m failed (NaN: not yet). */
  readonly allFailed: Float64Array;
  watchFrom = 0;

  /** `overlayHint` false: the machines get no `io.peerReconnected` (an answered reconnect
   *  does not make the overlay JOIN; the control runs of `membership-partition`). */
  constructor(o: Omit<SimOptions, 'apps'> & { members?: Partial<MembersConfig>; overlayHint?: boolean }) {
    const cfg = resolveMembersConfig(o.members ?? {});
    if (!cfg.ok) throw new Error(`members.${cfg.reason}`);
    this.config = cfg.config;
    const n = o.nodes;
    this.shared = new SharedMembers(n, this.config.rings, pack(0, ALIVE));
    this.machines = new Array<Members<number> | null>(n).fill(null);
    this.firstFailed = new Float64Array(n).fill(NaN);
    this.firstSuspect = new Float64Array(n).fill(NaN);
    this.allFailed = new Float64Array(n).fill(NaN);
    this.shared.hooks = {
      onCreate: (m, s, now) => {
        if (now < this.watchFrom) return;
        const st = statusOf(s);
        if (st === FAILED && Number.isNaN(this.firstFailed[m])) this.firstFailed[m] = now;
        if (st === SUSPECT && Number.isNaN(this.firstSuspect[m])) this.firstSuspect[m] = now;
      },
      onCollapse: (m, s, now) => {
        if (statusOf(s) === FAILED && Number.isNaN(this.allFailed[m])) this.allFailed[m] = now;
      },
    };
    const spec: MembersSpec = {
      name: 'members',
      create: (self, rng, io) => {
        const view = this.shared.register(self);
        const c = { ...this.config, incarnation: Math.floor(this.sim.now / 1000) };
        const sink = o.overlayHint === false ? (Object.create(io, { peerReconnected: { value: undefined } }) as typeof io) : io;
        const m = new Members<number>(self, { name: `n${self}`, tags: {} }, c, rng, sink, view);
        this.machines[self] = m;
        return m;
      },
      size: (msg) => this.messageSize(msg),
      dispose: (node) => {
        this.shared.release(node, this.sim.now);
        this.machines[node] = null;
      },
    };
    const { members: _m, overlayHint: _h, ...simOpts } = o;
    this.sim = new Simulation({ ...simOpts, apps: [spec] });
  }

  /** Entries sent so far in flooded batches (`m-changes` of a flush, those its `skip` leaves
   *  out not counted) and in anti-entropy (`m-digest`, and `m-changes` answering a sync):
   *  the copies a failure wave costs (bench:members). */
  floodEntries = 0;
  syncEntries = 0;

  private countEntries(msg: Extract<MembersMessage<number>, { type: 'm-changes' | 'm-digest' }>): void {
    if (msg.type === 'm-digest' || msg.sync) {
      this.syncEntries += msg.ids.length;
      return;
    }
    let n = msg.ids.length;
    const skip = msg.skip;
    if (skip != null) for (const w of skip) n -= popcount(w);
    this.floodEntries += n;
  }

  /** Charged bytes of `msg` (the codec's exact frame size), counting the entries of batches
   *  and digests (`floodEntries`, `syncEntries`): the simulator's `size` of every message. */
  messageSize(msg: MembersMessage<number>): number {
    if (msg.type === 'm-changes' && !msg.sync && msg.metas === null) return this.floodSize(msg);
    if (msg.type === 'm-changes' || msg.type === 'm-digest') this.countEntries(msg);
    return sizeOf(msg);
  }

  /** The flush batch sized last (its `ids` array, shared by every link's message of one
   *  flush: sendBatch, dissemination.ts), each entry's bytes, and their sum. */
  private batchIds: readonly number[] | null = null;
  private entryBytes = new Uint8Array(1024);
  private batchBytes = 0;

  /** Bytes of a flooded `m-changes` without metas (counting its entries, as `countEntries`):
   *  the batch's entry sizes are summed once per flush, and each link's message subtracts those
   *  its `skip` leaves out — the same figure as `membersSize`, which walked every entry of
   *  every link's message (3.5 % of a failure wave's CPU at 10^4 nodes). */
  private floodSize(msg: Extract<MembersMessage<number>, { type: 'm-changes' }>): number {
    const { ids, states } = msg;
    const n = ids.length;
    if (ids !== this.batchIds) {
      if (this.entryBytes.length < n) this.entryBytes = new Uint8Array(n);
      let t = 0;
      for (let i = 0; i < n; i++) {
        const b = changeEntryBytes(ids[i], states[i], peerBytes);
        this.entryBytes[i] = b;
        t += b;
      }
      this.batchIds = ids;
      this.batchBytes = t;
    }
    let kept = n;
    let bytes = this.batchBytes;
    const skip = msg.skip;
    if (skip != null) {
      for (let w = 0; w < skip.length; w++) {
        let x = skip[w];
        while (x !== 0) {
          const low = x & -x;
          bytes -= this.entryBytes[(w << 5) + 31 - Math.clz32(low)];
          kept--;
          x ^= low;
        }
      }
    }
    this.floodEntries += kept;
    return changesFrameBytes(kept, bytes);
  }

  /** Membership bytes sent so far by every node (point to point). */
  bytes(): number {
    return this.sim.apps!.trafficOf('members').bytes;
  }

  /** Changes queued for the next flushes, summed over the live nodes and at the busiest one,
   *  and those the queue bound (change-queue.ts) kept out so far (memory figures of
   *  bench:members; read from each machine's dissemination, which `Members` keeps private). */
  queuedChanges(): { sum: number; max: number; dropped: number } {
    let sum = 0;
    let max = 0;
    let dropped = 0;
    for (const m of this.machines) {
      if (m === null) continue;
      const d = (m as unknown as { spread: { pending(): number; droppedChanges: number } }).spread;
      const p = d.pending();
      sum += p;
      if (p > max) max = p;
      dropped += d.droppedChanges;
    }
    return { sum, max, dropped };
  }

  /** With `tallyRepair` (tally.ts): tallies sent, pulls asked and entries sent in answer,
   *  summed over the live nodes (bench:members). */
  tallies(): { sent: number; pulls: number; answered: number } {
    const t = { sent: 0, pulls: 0, answered: 0 };
    for (const m of this.machines) {
      if (m === null) continue;
      const r = (m as unknown as { spread: { tally: { sent: number; pulls: number; answered: number } | null } }).spread.tally;
      if (r === null) continue;
      t.sent += r.sent;
      t.pulls += r.pulls;
      t.answered += r.answered;
    }
    return t;
  }

  /** Crashed members (among `crashed`) that some live node still lists up (alive or suspect). */
  stuckAlive(crashed: readonly number[]): number {
    const live = this.sim.liveNodes();
    let stuck = 0;
    for (const m of crashed) {
      const agreed = this.shared.agreed(m);
      if (!Number.isNaN(agreed)) {
        if (isUp(agreed)) stuck++;
        continue;
      }
      for (const x of live) {
        if (isUp(this.shared.get(x, m))) {
          stuck++;
          break;
        }
      }
    }
    return stuck;
  }

  /** Live members that some live node lists other than alive (at any incarnation). */
  notAliveSomewhere(): number {
    let c = 0;
    const live = this.sim.liveNodes();
    for (const m of live) {
      const a = this.shared.agreed(m);
      if (!Number.isNaN(a)) {
        if (statusOf(a) !== ALIVE) c++;
        continue;
      }
      for (const x of live) {
        if (statusOf(this.shared.get(x, m)) !== ALIVE) {
          c++;
          break;
        }
      }
    }
    return c;
  }
}

/** Bits set in a 32-bit word. */
function popcount(w: number): number {
  let x = w - ((w >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Quantile `q` (0..1) of sorted `xs` (nearest rank); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))];
}

/** memberlist's suspicion timeout, SuspicionMult · max(1, log10 n) · ProbeInterval (util.go
 *  suspicionTimeout, DefaultLANConfig: 4 and 1 s), in seconds. */
export function memberlistSuspicionS(n: number): number {
  return 4 * Math.max(1, Math.log10(n));
}

/** SWIM's expected time to the first probe of a failed member by random probing,
 *  1/(1 − e^(−1)) ≈ 1.58 protocol periods (Das et al. 2002, §3.1), in seconds at 1 s. */
export const SWIM_FIRST_PROBE_S = 1 / (1 - Math.exp(-1));

/** Round to 3 decimals (JSON figures). */
export function r3(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
