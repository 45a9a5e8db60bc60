/**
 * Plumtree's lazy push (Epidemic Broadcast Trees, SRDS 2007, §3.3 and Alg. 1): the IHAVE
 * announcements a node owes its `lazyPushPeers`. The paper's `lazyPush` puts each
 * announcement in a `lazyQueue` and leaves open the policy that turns the queue into IHAVE
 * messages ("announcements can be sent immediately or batched"). Plumtree (plumtree.ts)
 * queues them here — the queue itself is two fields of the Plumtree object, so that an idle
 * simulated node holds nothing more — and these functions withdraw and flush them.
 *
 * Differs from the paper:
 * - Batched per neighbour and flushed by one `pt-ihave-flush` timer, `ihaveFlushMs` after the
 *   first queued entry (iroh-gossip and partisan batch too); a batch holds at most
 *   `maxIHaveBatch` entries, and a full one leaves at once.
 * - Withdrawal: an announcement still queued for a peer that meanwhile announced the same id
 *   to us is dropped (never sent): that peer has the message, so our IHAVE could never make
 *   it GRAFT. Both ends of a lazy link usually get a message within one flush interval of
 *   each other on a LAN, so under a stream this removes up to half of the IHAVE entries (the
 *   paper sends every one).
 * - An announcement to a peer that went down before the flush is dropped.
 *
 * The queue is one flat array of pairs `[peer, entry, peer, entry, …]` with a count of used
 * slots, and a parallel array of the entries' cache numbers. `push` queues one id's entries
 * in a row, sharing one entry object: `withdrawIHave` relies on it. A machine holds the two
 * arrays only while something is queued: it takes them from a module-wide pool at its first
 * announcement (`takeQueue`) and gives them back, cleared, when it flushes (`releaseQueue`).
 * Reused arrays, not fresh ones: a queue lives for `ihaveFlushMs`, long enough for the
 * simulator's garbage collector to promote a fresh one at every broadcast on every node. A
 * pool, not a pair per machine (kept until 2026-12-07): in the simulator every node that ever
 * queued kept its two arrays, and the stale entries in them, for good — at 10^4 nodes after
 * the bench's 10 broadcasts 415 B per node in the two arrays, and `heapUsed` 366 B per node
 * less with the pool (docs/results.md, h34s); the pool holds as many pairs as were ever in use
 * at once (the nodes inside one flush interval of a wave: 13 % of them in that run).
 */
import type { BroadcastMessage, IHaveEntry, MsgId } from './types.js';

/** Marks a queued announcement dropped by a withdrawal (never a peer id). */
const WITHDRAWN: unknown = Object.freeze({ withdrawn: true });

/** A flush's bookkeeping (the peers of its entries, in order of first entry, and each one's
 *  entry count), reused by every flush: fresh arrays per flush were the broadcast phase's
 *  largest allocation (two arrays of 17 slots from their first push, ≈ 300 B per flush: 24 %
 *  of the bytes allocated in the bench's broadcast phase at 3·10^4 nodes, docs/results.md
 *  h35s), and at 10^6 nodes a wave outlives a scavenge. `scratchBusy` while a flush reads
 *  them (a driver whose `send` flushed another machine would get fresh ones). */
const scratchKeys: unknown[] = [];
const scratchLeft: number[] = [];
let scratchBusy = false;

/** The queue arrays of one machine while it has announcements queued (see the module comment). */
export interface IHaveQueue<P> {
  /** Pairs `[peer, entry, …]`; slots past the used ones hold 0. */
  q: (P | IHaveEntry)[];
  /** The cache number of each pair's id, pair by pair (see Plumtree's `runEnd`). */
  no: number[];
}

/** Queues given back by machines, ready for reuse. Plain arrays hold no typed peer: every
 *  used slot is overwritten to 0 on release, so a queue of one machine's peer type never
 *  leaks a peer into another's. */
const pool: IHaveQueue<unknown>[] = [];

/** A cleared queue from the pool, or a new one. */
export function takeQueue<P>(): IHaveQueue<P> {
  return (pool.pop() as IHaveQueue<P> | undefined) ?? { q: [], no: [] };
}

/** Give `queue` back to the pool, its first `n` slots cleared (nothing it queued stays
 *  reachable from it). */
export function releaseQueue<P>(queue: IHaveQueue<P>, n: number): void {
  const q = queue.q;
  for (let i = 0; i < n; i++) q[i] = 0 as P;
  pool.push(queue as IHaveQueue<unknown>);
}

/** Number of queues in the pool (for tests and the census). */
export function pooledQueues(): number {
  return pool.length;
}

/** Where a flush sends its IHAVEs (the machine's io). */
export interface IHaveSink<P> {
  send(to: P, msg: BroadcastMessage): void;
}

/**
 * `from` announced `id`, which we have: our queued announcement of `id` to `from` in the
 * first `queued` slots of `q`, if any, is withdrawn. Such an entry was queued when `id`
 * first arrived (an id is pushed once), with one entry object for all of that id's
 * announcements: the search goes from the newest entries back (the announcement is nearly
 * always of a recent id) and stops past that run.
 */
export function withdrawIHave<P>(q: (P | IHaveEntry)[], queued: number, from: P, id: MsgId): void {
  let run: IHaveEntry | null = null;
  for (let i = queued - 2; i >= 0; i -= 2) {
    const e = q[i + 1] as IHaveEntry;
    if (run === null) {
      if (e.id !== id) continue;
      run = e;
    } else if (e !== run) return;
    if (q[i] === from) {
      q[i] = WITHDRAWN as P;
      return;
    }
  }
}

/**
 * Send the first `n` slots of queue `q` to the peers still in `links` (a peer in each `stride`
 * slots from slot 0: Plumtree's `[peer, upAt]` pairs have stride 2): per peer, in arrival
 * order, ≤ `max` entries each. A batch is sent as soon as it is full, in queue order; the
 * partial ones after, in order of each peer's first queued entry. Batches are allocated at
 * their exact size (they travel inside the IHAVE); the per-flush bookkeeping is the module's
 * scratch pair. Withdrawn slots are skipped. The caller resets its count before calling (nothing
 * re-enters the queue while it is read: the messages are collected, then sent).
 */
export function flushIHaves<P>(q: (P | IHaveEntry)[], n: number, max: number, links: readonly (P | number)[], stride: number, io: IHaveSink<P>): void {
  // Pass 1: the peers still neighbours, in order of first entry, and their entry counts.
  // A few peers at most: parallel arrays with a linear search (no Map per flush): the
  // module's scratch pair (see `scratchKeys`), or fresh ones if a flush is already using it.
  const own = scratchBusy;
  const keys = (own ? [] : scratchKeys) as P[];
  const left = own ? [] : scratchLeft;
  scratchBusy = true;
  let nk = 0;
  // The common case: one message announced once to each lazy peer. Every peer then gets
  // the same one-entry IHAVE: one message object, shared (drivers treat messages as immutable).
  let first: P | IHaveEntry | null = null;
  let single = true;
  for (let i = 0; i < n; i += 2) {
    const p = q[i] as P;
    if (p === WITHDRAWN || !isLink(links, stride, p)) continue; // withdrawn, or went down since
    first ??= q[i + 1];
    const k = indexIn(keys, nk, p);
    if (k < 0) {
      keys[nk] = p;
      left[nk++] = 1;
    } else {
      left[k]++;
      single = false;
    }
    if (q[i + 1] !== first) single = false;
  }
  if (!single) sendBatches(q, n, max, keys, left, nk, io);
  else if (nk > 0) {
    const msg: BroadcastMessage = { type: 'ihave', entries: [first as IHaveEntry] };
    for (let k = 0; k < nk; k++) io.send(keys[k], msg);
  }
  if (own) return;
  for (let k = 0; k < nk; k++) keys[k] = 0 as P; // the scratch pair holds no peer between flushes
  scratchBusy = false;
}

/** Index of `p` in the first `n` slots of `keys`, or -1. */
function indexIn<P>(keys: readonly P[], n: number, p: P): number {
  for (let k = 0; k < n; k++) if (keys[k] === p) return k;
  return -1;
}

/** Whether `p` is among the peers of `links`, one in each `stride` slots from slot 0 (the
 *  slots between are other data, which a peer id may equal: Plumtree's link ages). */
function isLink<P>(links: readonly (P | number)[], stride: number, p: P): boolean {
  for (let i = 0; i < links.length; i += stride) if (links[i] === p) return true;
  return false;
}

/** Pass 2 of `flushIHaves`: fill the batches of the first `nk` `keys` (with `left` entries
 *  each), collect the messages, then send. */
function sendBatches<P>(q: (P | IHaveEntry)[], n: number, max: number, keys: readonly P[], left: number[], nk: number, io: IHaveSink<P>): void {
  const batches: IHaveEntry[][] = [];
  const fill: number[] = [];
  const out: P[] = [];
  const msgs: BroadcastMessage[] = [];
  for (let k = 0; k < nk; k++) {
    batches.push(new Array<IHaveEntry>(Math.min(left[k], max)));
    fill.push(0);
  }
  for (let i = 0; i < n; i += 2) {
    const k = indexIn(keys, nk, q[i] as P);
    if (k < 0) continue;
    const batch = batches[k];
    batch[fill[k]++] = q[i + 1] as IHaveEntry;
    left[k]--;
    if (fill[k] === max) {
      out.push(keys[k]);
      msgs.push({ type: 'ihave', entries: batch });
      if (left[k] > 0) batches[k] = new Array<IHaveEntry>(Math.min(left[k], max));
      fill[k] = 0;
    }
  }
  for (let k = 0; k < nk; k++) {
    if (fill[k] === 0) continue;
    out.push(keys[k]);
    msgs.push({ type: 'ihave', entries: batches[k] });
  }
  for (let i = 0; i < out.length; i++) io.send(out[i], msgs[i]);
}
