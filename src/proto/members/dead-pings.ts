/**
 * Pings to the dead (memberlist's "gossip to the dead", its `GossipToTheDeadTime`), the part
 * of the failure detector (detector.ts) that talks to members it has already given up on.
 *
 * SWIM stops probing a member once it is declared failed; memberlist keeps gossiping to dead
 * members for 30 s so that a member that was only cut off learns of its verdict and refutes.
 * Here a member marked `failed` is still pinged, one such member per half probe interval (on
 * its own timer, not stretched by local health: such a ping accuses no one), for
 * `reconnectIntervalMs` after its verdict (after that Serf's reconnect loop, dissemination.ts,
 * takes over). The ping carries the member's own `failed` entry and ours, and nothing waits
 * for its answer (no timeout, no suspicion): a member that was only cut off hears it is
 * failed and refutes, and its ack carries the refutation back. The other way, a ping from a
 * member we hold `failed` is answered with its entry and ours (`tellFailed`, used by the
 * detector's `onPing`). Why: a host cut off for a few seconds (bench:faults `rejoin_ms`) or a
 * partition healed (`heal_ms`) otherwise waits for a new overlay link (HyParView's repair,
 * backed off while the links were down) or the 30 s reconnect loop; measured rejoin
 * 284–1,330 ms and heal 1–17 s over the runs of docs/results.md.
 *
 * Differs from memberlist: memberlist picks its gossip targets at random among alive and
 * recently dead members alike; we keep the dead on their own round robin (at most
 * `DEAD_CAP` of them, the newest), and add two shortcuts (`afterMessage`): a node that
 * refutes on the ack of its own ping to the dead sends the refutation straight back to the
 * acker (which holds it failed and is no link of it), and a failed member coming back sets
 * off pings to up to `RETURN_BURST` more of our dead at once (a healed partition brings its
 * whole side back).
 *
 * The overlay after a short partition (issue 20; absent from memberlist, which has no partial
 * view): the pings to the dead bring the lists back within a second of the heal, before any
 * reconnect tick finds a member still `failed` (dissemination.ts `reconnectTick`, which is
 * what tells HyParView to JOIN through the other side). Each side's overlay had dropped the
 * other side's peers (their links failed) and nothing else joins them again: bench:faults
 * (10 hosts, 5/5, rumor only) measured the lists whole 343 ms after a 5 s partition but the
 * overlay one connected graph only 51 s after (escalations through the original contact).
 * So when members suspect or failed here come back at least `RETURNS_FOR_HINT` times within
 * `RETURN_WINDOW_PERIODS` probe periods (a side coming back, not one host: a host that was
 * cut off repairs its own links, and every node JOINing through it would be a storm), the
 * overlay is told (`reconnected`, the same hint as an answered reconnect: HyParView JOINs
 * through that member unless it is a neighbour already) — by `HINTS_PER_RETURN` nodes of
 * the cluster on average (each node that sees the side return draws with probability
 * HINTS_PER_RETURN / members: every node hinting made 299 JOINs at the heal of `rumor sim
 * membership-partition --nodes 300 --seed 2`, against 12 from the reconnect loop alone), and
 * at most one draw per `HINT_PERIODS` probe periods. With once per `reconnectIntervalMs` (30 s) instead, the second of two
 * partitions 23 s apart (bench:faults `--partition-s 5,15`) was not hinted and its overlay
 * took 5.6 s to merge.
 *
 * Limits: only the `DEAD_CAP` most recent failures are pinged (after a larger mass failure
 * the older ones wait for the reconnect loop); a ping lost on the way is not retried until
 * the member's next turn in the round robin.
 */
import { DeadList } from './dead-list.js';
import type { Rng } from '../types.js';
import { ALIVE, FAILED, statusOf, type MembersConfig, type MembersMessage, type MembersTimer, type MemberStore } from './types.js';

/** What the pings to the dead need from the detector. */
export interface DeadPingHost<P> {
  readonly self: P;
  datagram(to: P, msg: MembersMessage<P>): void;
  timer(delayMs: number, t: MembersTimer<P>): void;
  /** A member failed here came back as one of a side (see the module comment): the overlay
   *  may be split from it (`AppIo.peerReconnected`). */
  reconnected(m: P): void;
  /** The next probe sequence number (shared with the detector's probes, so that an ack to a
   *  ping to the dead is never taken for the ack of a probe). */
  nextSeq(): number;
}

/** Most recently failed members remembered for pings to the dead (the newest are kept: a
 *  mass failure costs one extra ping per node and probe period, not one per failure). */
const DEAD_CAP = 64;

/** Members pinged at once when a member failed here comes back (see `afterMessage`). */
const RETURN_BURST = 8;

/** Returns of suspect or failed members within `RETURN_WINDOW_PERIODS` probe periods that make a node
 *  hint its overlay (see the module comment): 2, so one host coming back hints nothing at the
 *  other nodes. */
const RETURNS_FOR_HINT = 2;
const RETURN_WINDOW_PERIODS = 5;
/** Overlay hints expected in the whole cluster when a side comes back (see the module
 *  comment): with 4, no node of N hints with probability (1 − 4/N)^N < 2 % (e^−4); the
 *  reconnect loop and HyParView's escalations remain behind it. */
const HINTS_PER_RETURN = 4;
/** Probe periods between two overlay hints of one node (its JOINs: one per 10 s on `lan`). */
const HINT_PERIODS = 10;

/** Period of the pings to the dead: half a probe interval (memberlist gossips to a dead
 *  member for 30 s, every 200 ms to 3 random members, dead ones included: about 1.7 times a
 *  second per node at N = 10; one per probe interval left bench:faults' rejoin slower than
 *  Serf's in some runs, docs/results.md). */
function deadPingPeriod(probeIntervalMs: number): number {
  return Math.max(1, Math.round(probeIntervalMs / 2));
}

/** Changes for a message to `m`, which `self` holds `failed` at `s`: `m`'s entry and ours,
 *  after the recent changes `pg` when given. */
export function tellFailed<P>(
  store: MemberStore<P>,
  self: P,
  m: P,
  s: number,
  pg: { ids: P[]; states: number[] } | null,
): { ids: P[]; states: number[] } {
  // Two slots left under the codec's 64 changes per ping or ack (src/wire/members.ts).
  const ids = pg === null ? [] : pg.ids.slice(0, 62);
  const states = pg === null ? [] : pg.states.slice(0, 62);
  ids.push(m);
  states.push(s);
  const mine = store.get(self);
  if (mine >= 0) {
    ids.push(self);
    states.push(mine);
  }
  return { ids, states };
}

export class DeadPings<P> {
  /** Members failed here lately, oldest first, and when. */
  private readonly dead = new DeadList<P>(DEAD_CAP);
  private deadTurn = 0;
  /** An `m-dead-tick` is armed. */
  private deadArmed = false;
  /** A member failed here came back during the message being handled (see `afterMessage`). */
  private returned = false;
  /** When the last burst of pings to the dead on a return was sent. */
  private burstAt = -Infinity;
  /** When the last returns of members suspect or failed here happened (newest last, at most
   *  `RETURNS_FOR_HINT`). */
  private readonly returnTimes: number[] = [];
  /** When the overlay was last hinted (`reconnected`). */
  private hintAt = -Infinity;

  constructor(
    private readonly host: DeadPingHost<P>,
    private readonly config: MembersConfig,
    private readonly store: MemberStore<P>,
    private readonly rng: Rng,
  ) {}

  /** Every half probe interval while the dead list is not empty (its own timer: not stretched
   *  by local health, and not held up by a stalled tick — a ping to the dead accuses no one),
   *  one member failed here within `reconnectIntervalMs`, round robin, gets a ping with its own
   *  `failed` entry and ours (see the module comment); its answer is not awaited. */
  deadTick(now: number): void {
    this.deadArmed = false;
    const window = this.config.reconnectIntervalMs;
    while (this.dead.length > 0 && now - this.dead.failedAt(0) > window) this.dropDead(0);
    this.pingDeadOnes(1);
    this.armDead(now);
  }

  private armDead(now: number): void {
    if (this.deadArmed || this.dead.length === 0) return;
    this.deadArmed = true;
    const d = deadPingPeriod(this.config.probeIntervalMs);
    this.host.timer(d, { type: 'm-dead-tick', due: now + d });
  }

  /** Ping the next `count` members of the dead list (round robin: `deadTurn` is the index of
   *  the next one), each with its own `failed` entry and ours; entries no longer failed leave
   *  the list. */
  private pingDeadOnes(count: number): void {
    const first = new Set<P>();
    while (this.dead.length > 0 && first.size < count) {
      if (this.deadTurn >= this.dead.length) this.deadTurn = 0;
      const i = this.deadTurn;
      const m = this.dead.member(i);
      const s = this.store.get(m);
      if (s < 0 || statusOf(s) !== FAILED) {
        this.dropDead(i);
        continue;
      }
      if (first.has(m)) return; // went round the whole list
      first.add(m);
      this.deadTurn = i + 1;
      const seq = this.host.nextSeq();
      this.host.datagram(m, { type: 'm-ping', seq, ...tellFailed(this.store, this.host.self, m, s, null) });
    }
  }

  /** Remove entry `i` of the dead list, keeping the round robin's place. */
  private dropDead(i: number): void {
    this.dead.removeAt(i);
    if (i < this.deadTurn) this.deadTurn--;
  }

  /**
   * After a message from `from` was merged. Two shortcuts for a host that was cut off, or a
   * partition that healed, where each side holds the other `failed`:
   * - `refuted`: the message (an ack to our ping to the dead) said we are failed and we
   *   refuted. The refutation goes back to `from` at once (a ping carrying our entry, its
   *   answer not awaited): `from` holds us failed and is not among our links, so otherwise it
   *   would wait for our next ping to it or another route.
   * - a member failed here came back (alive at a higher incarnation): the ones that failed
   *   with it may well be back too, so the next `RETURN_BURST` of our dead are pinged now,
   *   each with its own entry and our current one — at most once per probe interval. A real
   *   crash never comes back, so this costs nothing then.
   * Measured with bench:faults, docs/results.md.
   */
  afterMessage(from: P, refuted: boolean, now: number): void {
    const self = this.host.self;
    if (refuted && from !== self) {
      const mine = this.store.get(self);
      if (mine >= 0) this.host.datagram(from, { type: 'm-ping', seq: this.host.nextSeq(), ids: [self], states: [mine] });
    }
    if (!this.returned) return;
    this.returned = false;
    if (now < this.burstAt + this.config.probeIntervalMs) return;
    this.burstAt = now;
    this.pingDeadOnes(RETURN_BURST);
  }

  /** `m`, suspect or failed here, is alive again: the overlay hint when a side is coming back
   *  (module comment). */
  private back(m: P, now: number): void {
    const times = this.returnTimes;
    times.push(now);
    if (times.length > RETURNS_FOR_HINT) times.shift();
    const window = RETURN_WINDOW_PERIODS * this.config.probeIntervalMs;
    if (times.length < RETURNS_FOR_HINT || now - times[0] > window) return;
    if (now < this.hintAt + HINT_PERIODS * this.config.probeIntervalMs) return;
    this.hintAt = now;
    const n = Math.max(1, this.store.size());
    if (n > HINTS_PER_RETURN && this.rng.next() * n >= HINTS_PER_RETURN) return;
    this.host.reconnected(m);
  }

  /** `m` (not this node) changed to status `st` in the table (`wasDown`: it was suspect or
   *  failed before): it leaves the dead list when back alive or failed anew, and enters it
   *  (newest) when failed. */
  changed(m: P, st: number, now: number, wasDown: boolean): void {
    if (st === ALIVE && wasDown) this.back(m, now);
    if (st !== ALIVE && st !== FAILED) return;
    const i = this.dead.indexOf(m);
    if (i >= 0) {
      this.dropDead(i);
      // A member failed here is back: see `afterMessage`.
      if (st === ALIVE) this.returned = true;
    }
    if (st === FAILED) {
      this.dead.push(m, now);
      if (this.dead.length > DEAD_CAP) this.dropDead(0);
      this.armDead(now);
    }
  }
}
