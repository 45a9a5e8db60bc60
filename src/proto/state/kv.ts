/**
 * Versioned key-value state per node: every node owns a few keys (metadata: tags, addresses,
 * capacities, settings) and every node converges to every node's latest keys. Scuttlebutt
 * reconciliation (van Renesse, Dumitriu, Gough, Tavares, "Efficient Reconciliation and Flow
 * Control for Anti-Entropy Protocols", LADIS 2008), as an `App` (`src/proto/app.ts`), so the
 * simulator and the TCP runtime host the same machine.
 *
 * In the paper's terms: each participant `p` owns a mapping `key → (value, version)`; its
 * versions come from one counter incremented on every write of `p`, so `(p, version)`
 * orders every update of `p`. A participant's knowledge of another `q` is summarised by one
 * number, the largest version of `q` it holds ("max version"), and a gossip exchange between
 * `a` and `b` is: `a` sends its *digest* `{(q, max version)}` (`syn`); `b` answers with its own
 * digest and every entry `a` lacks — entries of `q` with a version above `a`'s max version
 * (`ack`); `a` sends back what `b` lacks (`delta`). By default our `ack` lists only the owners
 * `b` needs (where `a`'s digest is ahead, or `b` holds nothing: generation 0), so an exchange
 * between nodes in sync costs one digest, not two (`fullAckDigest` gives the paper's). Entries of one owner are sent in ascending
 * version order, so a receiver that got a prefix of them may raise its max version to the
 * last one it got (the *watermark invariant*: everything of `q` at or below my max version
 * that still exists, I hold). Deltas are cut to fit one message (`maxMessageBytes`).
 *
 * Differs from the paper:
 * - Fresh writes are pushed at once (`pushNeighbors`): the owner sends the one-entry delta as
 *   a `push` to its overlay neighbours (HyParView's active view), and every node that stores
 *   it as news sends it on, once, to its own neighbours but the one it came from — a flood
 *   over the overlay, reaching every node of a connected overlay in its diameter of hops.
 *   Anti-entropy runs only every `gossipIntervalMs` (5 s, one peer) as repair. The paper
 *   (and chitchat, Cassandra) have anti-entropy only, so a write waits for rounds; no push
 *   with 1 s / 3 peers is that baseline (`BASELINE_STATE_CONFIG`, measured by `rumor sim
 *   kv-staleness`). Optional: a push to `pushFanout` random peers as well (rumor mongering),
 *   or a broadcast over Plumtree (`pushWrites`). A pushed entry whose predecessor a node
 *   missed is stored (it is newer than the key held) but does not raise the watermark; the
 *   next exchange fills the gap. A push is forwarded only when it stored something, so each
 *   node forwards a write at most once (a hostile push is amplified at most by the number of
 *   neighbours, and only once per new entry). A new neighbour is reconciled with at once
 *   (a `syn`), so it holds what the flood brought before the link existed, and writes made
 *   before the node had any neighbour (an agent's start-up tags) are pushed when the first
 *   one comes up.
 * - A periodic round opens with a 64-bit sum of the digest (`sum`, ~15 bytes; `digestSums`),
 *   not the digest itself (~24 bytes per owner): a peer in sync, the usual case once the
 *   pushes have done their work, answers nothing, and one that is not starts the paper's
 *   exchange back (`syn`, `ack`, `delta`): one message more, half a round trip later, for a
 *   repair. The paper's digest is cheap to compare, not to send; an idle cluster of 50 sent
 *   1.2 kB per round and node for nothing.
 * - Order within the size bound: the paper sorts participants by how far behind the peer is
 *   ("scuttle-depth"); we send the owner whose newest missing entry we learned most recently
 *   first (freshest first), so under a tight bound fresh metadata wins over old backlog.
 * - Deletes are tombstones (value `null`, a new version), kept `tombstoneGraceMs` then
 *   collected; the paper has no delete. No resurrection (quickwit-oss/chitchat's rule): a node
 *   collects only tombstones at or below its watermark and records the highest collected
 *   version as `lastGcVersion`; a peer whose max version for that owner is below it cannot be
 *   brought up to date by deltas (it would never hear of the delete), so it gets a *reset*: the
 *   owner's full state, replacing what it holds. An entry for a key not held, at or below the
 *   watermark, is refused (it was superseded or its tombstone collected here).
 * - Generations: an owner's history is `(owner, generation)`, the generation being its start
 *   time; a restarted owner starts a new generation and every node drops the older one.
 * - TTL is kept by the owner alone: when a key's TTL runs out at its owner, the owner deletes
 *   it (a tombstone like any delete), so clocks of other nodes do not matter.
 * - Which nodes exist is learned from the state received; `forgetNode` (wired by the host from
 *   membership's reaps) drops an owner's state and refuses it for `forgetGraceMs`.
 *
 * Limits:
 * - The push reaches every node only over a connected overlay and without loss; a node cut
 *   off from the flood (a lost message, a link down at that moment) gets the write from
 *   anti-entropy, within a few `gossipIntervalMs` (the tail of `rumor sim kv-staleness`
 *   under loss is that period, not the flood's).
 * - One node's state must fit one message for a reset to make progress: `maxBytes` (48 KiB)
 *   plus 12 bytes of framing per key and 1 KiB fit `maxMessageBytes` (checked at construction).
 * - A digest lists every owner held and is not cut: its size grows with the cluster (about
 *   20 bytes per owner over TCP, so ~200 KB at 10^4 owners, under the codec's 1 MiB bound).
 *   Deltas are cut to `maxMessageBytes`; digests by ranges for far larger clusters are not
 *   implemented.
 * - A collected tombstone is forgotten: a node partitioned for longer than `tombstoneGraceMs`
 *   gets resets, not deltas, for the owners that deleted keys meanwhile.
 * - Remote owners' entries are checked against the same limits; an entry over them is refused
 *   and counted (`refused`), the watermark moves on (a hostile owner cannot stall others).
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { LANE_SEEDS, digestSum, idHash, type DigestSum } from './digest-sum.js';
import { OwnerState, applyDelta, deltasFor, storedBytes } from './store.js';
import type { DigestEntry, KvEntry, NodeDelta, StateConfig, StateError, StateEvent, StateMessage, StateTimer, WriteResult } from './types.js';
import { digestEntryBytes, utf8Bytes, varintBytes, STATE_MESSAGE_OVERHEAD } from './types.js';

export type StateIo<P> = AppIo<P, StateMessage<P>, StateTimer, StateEvent<P>>;

/** Counters of one machine. */
export interface StateCounters {
  /** `sum` messages received, and of those, the ones equal to ours (no exchange needed). */
  sums: number;
  sumsMatched: number;
  syns: number;
  acks: number;
  deltas: number;
  pushes: number;
  /** Remote entries stored / refused (limits, resurrection guard). */
  applied: number;
  refused: number;
  resets: number;
  collected: number;
}

/** The key-value state application of one node. */
export class StateMachine<P> implements App<P, StateMessage<P>, StateTimer> {
  private readonly owners = new Map<P, OwnerState>();
  private readonly forgotten = new Map<P, { generation: number; until: number }>();
  /** Anti-entropy candidates (neighbours, members, owners), with their index for removal. */
  private readonly peers: P[] = [];
  private readonly peerIndex = new Map<P, number>();
  /** The overlay's neighbours (HyParView's active view): the push floods over them. */
  private readonly neighbors = new Set<P>();
  /** This node's writes that no peer was sent (made before it had a neighbour): the version
   *  before the first of them, or -1. They are pushed when the first neighbour comes up. */
  private unpushedFrom = -1;
  private readonly own: OwnerState;
  private running = false;
  private stopped = false;
  private gossipDue = 0;
  readonly counters: StateCounters = { sums: 0, sumsMatched: 0, syns: 0, acks: 0, deltas: 0, pushes: 0, applied: 0, refused: 0, resets: 0, collected: 0 };

  /**
   * @param generation this run's generation (the driver's start time in ms; must grow across
   *   restarts of one node id).
   * @param idBytes encoded size of a node id (the wire codec's), for the size bound.
   */
  constructor(
    readonly self: P,
    readonly generation: number,
    readonly config: StateConfig<P>,
    private readonly rng: Rng,
    private readonly io: StateIo<P>,
    private readonly idBytes: (p: P) => number,
  ) {
    const L = config.limits;
    if (L.maxBytes + 12 * L.maxKeys + 1024 > config.maxMessageBytes) {
      throw new RangeError('state: limits.maxBytes + 12 × limits.maxKeys + 1024 must not exceed maxMessageBytes (a reset is one message)');
    }
    this.own = new OwnerState(generation);
    this.owners.set(self, this.own);
  }

  // ---- inputs (App) ----

  start(now: number): void {
    this.running = true;
    this.gossipDue = now + this.config.gossipIntervalMs;
    this.io.timer(this.rng.int(this.config.gossipIntervalMs) + 1, { type: 'gossip' });
    this.io.timer(this.gcPeriod(), { type: 'gc' });
    for (const p of this.neighbors) this.greet(p);
  }

  neighborUp(peer: P): void {
    if (peer === this.self || this.neighbors.has(peer)) return;
    this.neighbors.add(peer);
    this.addPeer(peer);
    if (this.running) this.greet(peer);
  }

  neighborDown(peer: P, _reason: DownReason): void {
    // A neighbour that goes is still a member (it may be reachable directly): kept as a peer.
    this.neighbors.delete(peer);
  }

  handleUnreachable(peer: P): void {
    this.removePeer(peer);
  }

  handleMessage(from: P, msg: StateMessage<P>, now: number): void {
    if (!this.running) return;
    this.addPeer(from);
    switch (msg.type) {
      case 'sum': {
        this.counters.sums++;
        const mine = this.sum();
        if (mine.owners === msg.owners && mine.lo === msg.lo && mine.hi === msg.hi) this.counters.sumsMatched++;
        // Out of sync: a full exchange, started from here (its `ack` and `delta` repair both sides).
        else this.io.send(from, { type: 'syn', digest: this.digest() });
        return;
      }
      case 'syn': {
        this.counters.syns++;
        const digest = this.config.fullAckDigest ? this.digest() : this.wanted(msg.digest);
        const budget = this.config.maxMessageBytes - STATE_MESSAGE_OVERHEAD - this.digestBytes(digest) - 4;
        this.io.send(from, { type: 'ack', digest, deltas: deltasFor(this.owners, msg.digest, budget, this.idBytes) });
        return;
      }
      case 'ack': {
        this.counters.acks++;
        this.applyAll(msg.deltas, now);
        const deltas = deltasFor(this.owners, msg.digest, this.config.maxMessageBytes - STATE_MESSAGE_OVERHEAD - 4, this.idBytes, !this.config.fullAckDigest);
        if (deltas.length > 0) this.io.send(from, { type: 'delta', deltas });
        return;
      }
      case 'delta':
        this.counters.deltas++;
        this.applyAll(msg.deltas, now);
        return;
      case 'push': {
        this.counters.pushes++;
        const news = msg.deltas.filter((d) => this.applyOne(d, now) > 0);
        if (news.length > 0) this.push({ type: 'push', deltas: news }, from);
        return;
      }
    }
  }

  handleBroadcast(msg: StateMessage<P>, now: number): void {
    if (!this.running || msg.type !== 'delta') return;
    this.counters.pushes++;
    this.applyAll(msg.deltas, now);
  }

  handleTimer(t: StateTimer, now: number): void {
    if (!this.running) return;
    switch (t.type) {
      case 'gossip':
        this.io.timer(this.config.gossipIntervalMs, { type: 'gossip' });
        this.gossipDue = now + this.config.gossipIntervalMs;
        return this.gossip();
      case 'gc':
        this.io.timer(this.gcPeriod(), { type: 'gc' });
        return this.collect(now);
      case 'ttl': {
        const s = this.own.entries.get(t.key);
        if (s !== undefined && s.entry.version === t.version && s.entry.value !== null) this.write(t.key, null, now);
        return;
      }
    }
  }

  stop(): void {
    this.running = false;
    this.stopped = true;
  }

  // ---- typed inputs of the host ----

  /** A member this node may gossip with (from the membership machine). */
  memberUp(peer: P): void {
    this.addPeer(peer);
  }

  /** Membership reaped `node`: drop its state and refuse it for `forgetGraceMs`. */
  forgetNode(node: P, now: number): void {
    if (node === this.self) return;
    const st = this.owners.get(node);
    this.removePeer(node);
    if (st === undefined) return;
    this.forgotten.set(node, { generation: st.generation, until: now + this.config.forgetGraceMs });
    this.drop(node, 'forgotten');
  }

  /** Set one of this node's keys. Over a limit, nothing changes and the error says why. */
  set(key: string, value: Uint8Array, now: number, ttlMs?: number): WriteResult {
    const bad = this.check(key, value, ttlMs);
    if (bad !== null) return { ok: false, error: bad };
    const version = this.write(key, value, now);
    if (ttlMs !== undefined) this.io.timer(ttlMs, { type: 'ttl', key, version });
    return { ok: true, version };
  }

  /** Delete one of this node's keys (a tombstone). Deleting an absent key is a no-op (`version` 0). */
  delete(key: string, now: number): WriteResult {
    if (this.stopped) return fail('stopped', 'state: the node has stopped');
    const s = this.own.entries.get(key);
    if (s === undefined || s.entry.value === null) return { ok: true, version: 0 };
    return { ok: true, version: this.write(key, null, now) };
  }

  // ---- reads ----

  /** The live value of `key` at `node` (not a tombstone), or undefined. */
  get(node: P, key: string): KvEntry | undefined {
    const s = this.owners.get(node)?.entries.get(key);
    return s === undefined || s.entry.value === null ? undefined : s.entry;
  }

  /** Every live entry held, by owner (tombstones excluded). */
  *entries(): IterableIterator<{ node: P; entry: KvEntry }> {
    for (const [node, st] of this.owners) {
      for (const s of st.entries.values()) if (s.entry.value !== null) yield { node, entry: s.entry };
    }
  }

  /** Live entries of one owner. */
  entriesOf(node: P): KvEntry[] {
    const st = this.owners.get(node);
    if (st === undefined) return [];
    return [...st.entries.values()].filter((s) => s.entry.value !== null).map((s) => s.entry);
  }

  /** Owners held, with their digest (generation, watermark). */
  digest(): DigestEntry<P>[] {
    const out: DigestEntry<P>[] = [];
    for (const [node, st] of this.owners) out.push(st.digest(node));
    return out;
  }

  /** Owner state summary (tests, diagnostics). */
  ownerInfo(node: P): { generation: number; maxVersion: number; lastGcVersion: number; keys: number; bytes: number } | undefined {
    const st = this.owners.get(node);
    return st === undefined ? undefined : { generation: st.generation, maxVersion: st.maxVersion, lastGcVersion: st.lastGcVersion, keys: st.entries.size, bytes: st.bytes };
  }

  /** When the next anti-entropy round is due (ms). */
  nextGossipAt(): number {
    return this.gossipDue;
  }

  // ---- internals ----

  private check(key: string, value: Uint8Array, ttlMs: number | undefined): StateError | null {
    const L = this.config.limits;
    if (this.stopped) return { type: 'stopped', message: 'state: the node has stopped' };
    const k = utf8Bytes(key);
    if (typeof key !== 'string' || k < 1) return { type: 'bad-key', message: 'state: a key must be a non-empty, well-formed UTF-8 string' };
    if (k > L.maxKeyBytes) return { type: 'key-too-large', message: `state: key of ${k} bytes is over the limit of ${L.maxKeyBytes}` };
    if (value.byteLength > L.maxValueBytes) return { type: 'value-too-large', message: `state: value of ${value.byteLength} bytes is over the limit of ${L.maxValueBytes}` };
    if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0 && ttlMs <= 2 ** 31 - 1)) return { type: 'bad-ttl', message: `state: ttlMs must be an integer in 1..${2 ** 31 - 1}, got ${String(ttlMs)}` };
    const old = this.own.entries.get(key);
    if (old === undefined && this.own.entries.size + 1 > L.maxKeys) return { type: 'too-many-keys', message: `state: this node holds ${this.own.entries.size} keys (tombstones included), the limit is ${L.maxKeys}` };
    const bytes = this.own.bytes - (old === undefined ? 0 : storedBytes(old.entry)) + k + value.byteLength;
    if (bytes > L.maxBytes) return { type: 'node-too-large', message: `state: this node's keys and values would take ${bytes} bytes, the limit is ${L.maxBytes}` };
    return null;
  }

  private write(key: string, value: Uint8Array | null, now: number): number {
    const from = this.own.maxVersion;
    const entry: KvEntry = { key, value, version: from + 1 };
    this.own.put(entry, now);
    this.own.maxVersion = entry.version;
    this.io.event({ type: 'update', node: this.self, key, value, version: entry.version, local: true });
    if (this.running && (this.config.pushWrites || this.config.pushNeighbors || this.config.pushFanout > 0)) {
      const d: NodeDelta<P> = { node: this.self, generation: this.generation, fromVersion: from, toVersion: entry.version, reset: false, lastGcVersion: this.own.lastGcVersion, entries: [entry] };
      if (this.config.pushWrites) this.io.broadcast({ type: 'delta', deltas: [d] });
      if (this.push({ type: 'push', deltas: [d] }, this.self) === 0 && this.unpushedFrom < 0) this.unpushedFrom = from;
    }
    return entry.version;
  }

  private applyAll(deltas: readonly NodeDelta<P>[], now: number): void {
    for (const d of deltas) this.applyOne(d, now);
  }

  /** Apply one owner's delta; returns how many entries it stored. */
  private applyOne(d: NodeDelta<P>, now: number): number {
    if (d.node === this.self) return 0;
    const f = this.forgotten.get(d.node);
    if (f !== undefined && d.generation <= f.generation) return 0;
    let st = this.owners.get(d.node);
    if (st !== undefined && d.generation < st.generation) return 0;
    if (st !== undefined && d.generation > st.generation) {
      this.drop(d.node, 'new-generation');
      st = undefined;
    }
    if (d.reset && st !== undefined) {
      const reach = d.toVersion > 0 ? d.toVersion : d.entries.length > 0 ? d.entries[d.entries.length - 1].version : 0;
      if (reach <= st.maxVersion) return 0;
      this.counters.resets++;
      this.drop(d.node, 'reset');
      st = undefined;
    }
    if (st === undefined) {
      st = new OwnerState(d.generation);
      this.owners.set(d.node, st);
      this.addPeer(d.node);
    }
    const r = applyDelta(st, d, this.config.limits, now);
    this.counters.refused += r.refused;
    this.counters.applied += r.changed.length;
    for (const e of r.changed) this.io.event({ type: 'update', node: d.node, key: e.key, value: e.value, version: e.version, local: false });
    return r.changed.length;
  }

  private drop(node: P, reason: 'forgotten' | 'new-generation' | 'reset'): void {
    const st = this.owners.get(node);
    if (st === undefined) return;
    this.owners.delete(node);
    for (const s of st.entries.values()) {
      if (s.entry.value !== null) this.io.event({ type: 'update', node, key: s.entry.key, value: null, version: s.entry.version, local: false });
    }
    this.io.event({ type: 'node-dropped', node, reason });
  }

  private gossip(): void {
    const chosen = this.pick(this.config.gossipFanout, this.self);
    if (chosen.length === 0) return;
    let msg: StateMessage<P>;
    if (this.config.digestSums) {
      const s = this.sum();
      msg = { type: 'sum', owners: s.owners, lo: s.lo, hi: s.hi };
    } else msg = { type: 'syn', digest: this.digest() };
    for (const p of chosen) this.io.send(p, msg);
  }

  /** Send a fresh write on: to every neighbour (`pushNeighbors`) and to `pushFanout` random
   *  peers, never back to `from`. */
  private push(msg: StateMessage<P>, from: P): number {
    const sent = this.config.pushNeighbors ? [...this.neighbors].filter((p) => p !== from) : [];
    for (const p of this.pick(this.config.pushFanout, from)) if (!sent.includes(p)) sent.push(p);
    for (const p of sent) this.io.send(p, msg);
    return sent.length;
  }

  /** A new neighbour (with `pushNeighbors`): push this node's writes that nobody was sent
   *  (the start-up keys of a node that wrote before it joined), then reconcile with the
   *  neighbour at once, so that it holds what the flood brought before the link existed. */
  private greet(peer: P): void {
    if (!this.config.pushNeighbors) return;
    if (this.unpushedFrom >= 0) {
      const from = this.unpushedFrom;
      const entries = [...this.own.entries.values()].map((s) => s.entry).filter((e) => e.version > from).sort((a, b) => a.version - b.version);
      this.unpushedFrom = -1;
      const d: NodeDelta<P> = { node: this.self, generation: this.generation, fromVersion: from, toVersion: this.own.maxVersion, reset: false, lastGcVersion: this.own.lastGcVersion, entries };
      if (entries.length > 0) this.push({ type: 'push', deltas: [d] }, this.self);
    }
    this.io.send(peer, { type: 'syn', digest: this.digest() });
  }

  /** Up to `n` distinct random peers, never this node nor `except` (4n draws at most). */
  private pick(n: number, except: P): P[] {
    const chosen: P[] = [];
    if (n <= 0 || (this.peers.length === 0 && this.config.samplePeer === undefined)) return chosen;
    for (let tries = 0; chosen.length < n && tries < 4 * n; tries++) {
      const p = this.config.samplePeer !== undefined ? this.config.samplePeer(this.rng.next()) : this.peers[this.rng.int(this.peers.length)];
      if (p === undefined || p === this.self || p === except || chosen.includes(p)) continue;
      chosen.push(p);
    }
    return chosen;
  }

  private collect(now: number): void {
    for (const st of this.owners.values()) this.counters.collected += st.collect(now, this.config.tombstoneGraceMs);
    for (const [node, f] of this.forgotten) if (now >= f.until) this.forgotten.delete(node);
  }

  private gcPeriod(): number {
    return Math.max(1000, Math.floor(this.config.tombstoneGraceMs / 10));
  }

  /** The ack's digest: only the owners of the syn's digest that the initiator is ahead on
   *  (our entry), or that we lack (generation 0: "nothing"); in sync, it is empty. */
  private wanted(theirs: readonly DigestEntry<P>[]): DigestEntry<P>[] {
    const out: DigestEntry<P>[] = [];
    for (const d of theirs) {
      if (d.node === this.self) continue;
      const st = this.owners.get(d.node);
      if (st === undefined) {
        const f = this.forgotten.get(d.node);
        if (d.maxVersion > 0 && (f === undefined || d.generation > f.generation)) out.push({ node: d.node, generation: 0, maxVersion: 0 });
      } else if (d.generation > st.generation || (d.generation === st.generation && d.maxVersion > st.maxVersion)) out.push(st.digest(d.node));
    }
    return out;
  }

  /** The sum of this node's digest (digest-sum.ts); owner id hashes are cached. */
  sum(): DigestSum {
    for (const [node, st] of this.owners) if (st.idH === null) st.idH = [idHash(node, LANE_SEEDS[0]), idHash(node, LANE_SEEDS[1])];
    return digestSum(this.owners.values() as Iterable<OwnerState & { idH: readonly [number, number] }>);
  }

  private digestBytes(d: readonly DigestEntry<P>[]): number {
    let n = varintBytes(d.length);
    for (const e of d) n += digestEntryBytes(e, this.idBytes);
    return n;
  }

  private addPeer(p: P): void {
    // With an injected sampler (full membership) the machine keeps no peer list.
    if (this.config.samplePeer !== undefined || p === this.self || this.peerIndex.has(p)) return;
    this.peerIndex.set(p, this.peers.length);
    this.peers.push(p);
  }

  private removePeer(p: P): void {
    const i = this.peerIndex.get(p);
    if (i === undefined) return;
    const last = this.peers.pop()!;
    if (i < this.peers.length) {
      this.peers[i] = last;
      this.peerIndex.set(last, i);
    }
    this.peerIndex.delete(p);
  }
}

function fail(type: StateError['type'], message: string): WriteResult {
  return { ok: false, error: { type, message } as StateError };
}
