/**
 * The compact part of a HyParView machine's per-node record (`HyParViewState`,
 * hyparview-state.ts, extends it): the outstanding NEIGHBOR / JOIN requests as two parallel
 * arrays, and the machine's seven yes/no fields as bits of one number behind accessors. No
 * protocol rule lives here (see hyparview.ts for the protocol and where it differs from the
 * paper); the machine reads and writes these fields as it did plain ones.
 *
 * Why: the simulator holds one machine per node, 10^6 of them (issue 17). Each field is 8 bytes
 * of every machine, each array one more object for the garbage collector to copy and mark, and
 * a request used to allocate four arrays (peer, sequence number, kind, priority). Measured:
 * docs/results.md, "Objects per simulated node" (h31s).
 */
import { removeAt } from './hyparview-views.js';

/** Kinds of an outstanding request (`pendKind`). */
export const KIND_NEIGHBOR = 0;
export const KIND_JOIN = 1;

/**
 * The empty value of every request array, of `rejected`, `held` and `walkedIn`, and of
 * `contacts` before `join`: one array shared by every machine and never mutated (each site
 * that adds to one of those lists replaces `NONE` with a new array first; emptying one puts
 * `NONE` back). Those lists are empty nearly all the time, yet read on most inputs (is this
 * peer pending? rejected? held?): a machine's own empty array is a cache miss per read at
 * 10^5–10^6 simulated nodes, this one stays in the processor's cache; and an idle node holds
 * none of them. test/proto/hyparview.test.ts checks that it stays empty.
 */
export const NONE: never[] = [];

// Bits of `flags`.
const LEFT = 1;
const JOINED = 2;
const WAS_FULL = 4;
const SHUFFLE_STARTED = 8;
const REPAIR_ARMED = 16;
const HEARD_OUTSIDE = 32;
const RETRY_LONG = 64;

export abstract class HyParViewRecord<P> {
  /** Outstanding NEIGHBOR / JOIN requests (`NONE` when there is none). A pending peer is in
   *  neither view. Emptied by putting `NONE` back, never with `length = 0` (a runtime call that
   *  also freed the storage the next push allocated again: a few per cent of the simulator's
   *  CPU, docs/results.md "Array churn"). */
  protected pendPeer: P[] = NONE;
  /** Per request, parallel to `pendPeer`: `seq · 4 + kind · 2 + (high ? 1 : 0)` (read with
   *  `pendSeq`, `pendKind`, `joinPending`, `highPending`): one array where there were three. */
  protected pendInfo: number[] = NONE;
  /** The yes/no fields below, one bit each (all false at the start). */
  private flags = 0;

  private flag(bit: number): boolean {
    return (this.flags & bit) !== 0;
  }
  private setFlag(bit: number, v: boolean): void {
    this.flags = v ? this.flags | bit : this.flags & ~bit;
  }

  /** `leave` was called: the machine is inert. */
  protected get left(): boolean {
    return this.flag(LEFT);
  }
  protected set left(v: boolean) {
    this.setFlag(LEFT, v);
  }
  /** A JOIN of ours was accepted, or a configured contact was seen in the active view. */
  protected get joined(): boolean {
    return this.flag(JOINED);
  }
  protected set joined(v: boolean) {
    this.setFlag(JOINED, v);
  }
  /** The active view has been full at least once (see `onShuffleTimer`: such a node does not
   *  escalate when it is only one member short). */
  protected get wasFull(): boolean {
    return this.flag(WAS_FULL);
  }
  protected set wasFull(v: boolean) {
    this.setFlag(WAS_FULL, v);
  }
  /** The shuffle timer is armed (the first `join` arms it). */
  protected get shuffleStarted(): boolean {
    return this.flag(SHUFFLE_STARTED);
  }
  protected set shuffleStarted(v: boolean) {
    this.setFlag(SHUFFLE_STARTED, v);
  }
  /** The healing timer (`hv-repair`) is armed. */
  protected get repairArmed(): boolean {
    return this.flag(REPAIR_ARMED);
  }
  protected set repairArmed(v: boolean) {
    this.setFlag(REPAIR_ARMED, v);
  }
  /** A SHUFFLE started outside our neighbours arrived in this shuffle period (`checkIsolated`). */
  protected get heardOutside(): boolean {
    return this.flag(HEARD_OUTSIDE);
  }
  protected set heardOutside(v: boolean) {
    this.setFlag(HEARD_OUTSIDE, v);
  }
  /** The bootstrap-retry timer armed is the long periodic one (`armRetry`). */
  protected get retryLong(): boolean {
    return this.flag(RETRY_LONG);
  }
  protected set retryLong(v: boolean) {
    this.setFlag(RETRY_LONG, v);
  }

  protected removePending(i: number): void {
    if (this.pendPeer.length === 1) {
      this.clearPending();
      return;
    }
    removeAt(this.pendPeer, i);
    removeAt(this.pendInfo, i);
  }

  protected clearPending(): void {
    this.pendPeer = NONE;
    this.pendInfo = NONE;
  }

  /** The sequence number of request `i` (its timeout timer carries it). */
  protected pendSeq(i: number): number {
    return Math.floor(this.pendInfo[i] / 4);
  }

  /** The kind of request `i` (`KIND_NEIGHBOR` or `KIND_JOIN`). */
  protected pendKind(i: number): number {
    return Math.floor(this.pendInfo[i] / 2) % 2;
  }

  /** A JOIN of ours is outstanding. */
  protected joinPending(): boolean {
    const a = this.pendInfo;
    for (let i = 0; i < a.length; i++) if (Math.floor(a[i] / 2) % 2 === KIND_JOIN) return true;
    return false;
  }

  /** A high-priority request (NEIGHBOR or JOIN) is outstanding. */
  protected highPending(): boolean {
    const a = this.pendInfo;
    for (let i = 0; i < a.length; i++) if (a[i] % 2 === 1) return true;
    return false;
  }
}
