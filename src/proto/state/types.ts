/**
 * Types, configuration, limits and errors of the key-value state application (`kv.ts`), and
 * the exact encoded size of its messages (`stateMessageSize`, the one `src/wire/state.ts`
 * produces: the simulator, which may not import `src/wire`, counts bytes with it, and
 * `test/wire/state.test.ts` checks both agree).
 */
import { utf8Bytes } from '../utf8.js';

/** One key of one node as every node stores it. `value === null` is a tombstone. */
export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array | null;
  /** The owner's version counter when it wrote this entry (unique per owner and generation). */
  readonly version: number;
}

/** What a node knows of one owner: `(owner, generation, watermark)` (Scuttlebutt's digest). */
export interface DigestEntry<P> {
  readonly node: P;
  /** The owner's generation (its start time, ms): a restarted owner starts a new history. */
  readonly generation: number;
  /** Every entry of this owner with a version ≤ `maxVersion` has been received. */
  readonly maxVersion: number;
}

/** Entries of one owner for a peer: those with a version above `fromVersion`, ascending. */
export interface NodeDelta<P> {
  readonly node: P;
  readonly generation: number;
  /** The peer is known to hold everything up to here (its digest said so). */
  readonly fromVersion: number;
  /** The sender's watermark for this owner when `entries` is complete, else 0 (truncated). */
  readonly toVersion: number;
  /** Reset: the peer must drop what it holds of this owner first (it is behind a GC). */
  readonly reset: boolean;
  /** Tombstones of this owner with a version ≤ this were garbage-collected at the sender. */
  readonly lastGcVersion: number;
  readonly entries: readonly KvEntry[];
}

/** Messages of the application (`type` tag). */
export type StateMessage<P> =
  /** Anti-entropy, first leg of a round (`digestSums`): a 64-bit sum over my digest (two u32
   *  lanes, `digestSum`) and how many owners it covers. A receiver whose own sum is the same
   *  is in sync and answers nothing; otherwise it starts a full exchange (a `syn`) back. */
  | { readonly type: 'sum'; readonly owners: number; readonly lo: number; readonly hi: number }
  /** Anti-entropy, first leg of a full exchange: what I hold. */
  | { readonly type: 'syn'; readonly digest: readonly DigestEntry<P>[] }
  /** Second leg: what I hold, and what you lack of what I hold. */
  | { readonly type: 'ack'; readonly digest: readonly DigestEntry<P>[]; readonly deltas: readonly NodeDelta<P>[] }
  /** Third leg (and a fresh write broadcast over Plumtree): entries the receiver lacks. */
  | { readonly type: 'delta'; readonly deltas: readonly NodeDelta<P>[] }
  /** A fresh write pushed point to point (rumor mongering): the receiver stores it and, if it
   *  was news here, forwards it once to `pushFanout` random peers. */
  | { readonly type: 'push'; readonly deltas: readonly NodeDelta<P>[] };

/** Timers of the application. */
export type StateTimer =
  | { readonly type: 'gossip' }
  | { readonly type: 'gc' }
  | { readonly type: 'ttl'; readonly key: string; readonly version: number };

/** Events for the user of a node. */
export type StateEvent<P> =
  /** A key of `node` changed here (a set, or a delete when `value` is null). */
  | { readonly type: 'update'; readonly node: P; readonly key: string; readonly value: Uint8Array | null; readonly version: number; readonly local: boolean }
  /** Everything held of `node` was dropped (forgotten, restarted with a new generation, reset). */
  | { readonly type: 'node-dropped'; readonly node: P; readonly reason: 'forgotten' | 'new-generation' | 'reset' };

/** Configuration. Every default says where it comes from. */
export interface StateConfig<P> {
  /** Anti-entropy period (ms). Default 5000: repair only (a lost push, a node that was away,
   *  a new node), fresh writes are pushed at once; chitchat and Cassandra gossip every
   *  1000 ms because gossip is their only path. */
  readonly gossipIntervalMs: number;
  /** Peers per anti-entropy round. Default 1 (Scuttlebutt's one random peer per round);
   *  chitchat and Cassandra: 3. */
  readonly gossipFanout: number;
  /** Push every local write at once to every overlay neighbour (HyParView's active view); a
   *  node that stores a pushed entry as news sends it on, once, to its neighbours but the
   *  sender: a flood over the overlay, which reaches every node of a connected overlay in its
   *  diameter of hops for about (active view size − 1) small messages per node and write.
   *  Default true: measured by `rumor sim kv-staleness` (docs/results.md, "Key-value
   *  staleness"), p99 0.10 s at 10^3 nodes and 0.13 s at 10^4 against the baseline's 2.8 s
   *  and 3.3 s, at a quarter of its bytes (3 seeds each). */
  readonly pushNeighbors: boolean;
  /** Also push every local write to this many peers drawn at random (from `samplePeer` or
   *  the known peers), forwarded the same way (infect-and-die rumor mongering: Demers et al.,
   *  "Epidemic algorithms for replicated database maintenance", PODC 1987). Default 0: the
   *  neighbour flood already reaches every node; random pushes add shortcuts (a smaller
   *  diameter) at (fanout) more messages per node and write — measured at 10^3 nodes with
   *  fanout 2: p99 0.077 s instead of 0.101 s for 1.5× the bytes. For a host without an
   *  overlay (no neighbours), a fanout of about ln(N) + 2 reaches all but a few nodes. */
  readonly pushFanout: number;
  /** Also broadcast every local write over the node's broadcast machine (a `delta`,
   *  Plumtree). Default false: with 100 concurrent sources at 10^4 nodes, Plumtree's last
   *  deliveries are chains of lazy IHAVE → GRAFT repairs (measured p99 3.4 s, no better than
   *  the baseline; docs/results.md), which the flood above does not have. */
  readonly pushWrites: boolean;
  /** The `ack` carries the responder's full digest (the paper's, chitchat's and Cassandra's
   *  exchange; the initiator then also passes on what it learned since its `syn`). Default
   *  false: the `ack` lists only the owners the initiator is ahead on or the responder lacks,
   *  so an exchange between nodes in sync costs one digest instead of two (the agent's idle
   *  traffic); repair of anything else waits for the next exchange. */
  readonly fullAckDigest: boolean;
  /** A periodic round opens with a `sum` (the digest's 64-bit sum, ~15 bytes) instead of the
   *  full digest (~24 bytes per owner: 480 bytes at 20 owners, 1.2 kB at 50); the full
   *  exchange follows only when the sums differ. Default true: measured with `npm run
   *  bench:idle -- --nodes 20 --tags 5` (docs/results.md) the state's idle traffic received
   *  fell from 116 to 12 B/s per node; at 50 nodes, where the 1.2 kB `syn` no longer fit a
   *  datagram and went over a dialed TCP connection, from ~260 B/s plus the dials to 12 B/s.
   *  A new neighbour is still greeted with a full `syn`. False: every round sends the full
   *  digest (the paper's exchange). */
  readonly digestSums: boolean;
  /** Largest encoded message (bytes): deltas are cut to fit. Default 65,000 (chitchat keeps
   *  a message under the UDP maximum of 65,507; we stay below the 1 MiB frame limit too). */
  readonly maxMessageBytes: number;
  /** How long a tombstone is kept before it is garbage-collected (ms). Default 3,600,000
   *  (1 h: chitchat's `marked_for_deletion_grace_period` default is of this order; it must
   *  exceed the time a node may be partitioned and still rejoin with deltas, not a reset). */
  readonly tombstoneGraceMs: number;
  /** How long a forgotten node's state is refused (ms). Default 60,000 (one member reap
   *  cycle: long enough for every peer to forget it too). */
  readonly forgetGraceMs: number;
  /** Limits of the local node's own keys. */
  readonly limits: StateLimits;
  /** Optional: pick an anti-entropy peer (a full-membership driver injects a uniform sampler;
   *  otherwise the machine picks among neighbours, members and owners it knows). */
  readonly samplePeer?: (r: number) => P | undefined;
}

/** Limits on what one node may own. */
export interface StateLimits {
  /** Longest key (UTF-8 bytes). Default 256 (Consul's KV key limit is larger, 512 bytes;
   *  Serf's tags total 512 bytes: a metadata key is short). */
  readonly maxKeyBytes: number;
  /** Largest value (bytes). Default 4096 (a metadata value, not a blob store: Consul
   *  caps values at 512 KiB, chitchat has no cap; 4 KiB keeps a full state small). */
  readonly maxValueBytes: number;
  /** Most keys per node, tombstones included. Default 1024. */
  readonly maxKeys: number;
  /** Most bytes per node (keys + values, tombstones count their key). Default 49,152
   *  (48 KiB): one node's full state, with its per-entry framing, fits one message
   *  (`maxMessageBytes`), so a reset always makes progress. */
  readonly maxBytes: number;
}

export const DEFAULT_STATE_LIMITS: StateLimits = { maxKeyBytes: 256, maxValueBytes: 4096, maxKeys: 1024, maxBytes: 49_152 };

export const DEFAULT_STATE_CONFIG: StateConfig<never> = {
  gossipIntervalMs: 5000,
  gossipFanout: 1,
  pushWrites: false,
  pushFanout: 0,
  pushNeighbors: true,
  fullAckDigest: false,
  digestSums: true,
  maxMessageBytes: 65_000,
  tombstoneGraceMs: 3_600_000,
  forgetGraceMs: 60_000,
  limits: DEFAULT_STATE_LIMITS,
};

/** The fixed-interval anti-entropy baseline: chitchat and Cassandra gossip once per second
 *  with 3 peers, answer with their full digest, and never push. */
export const BASELINE_STATE_CONFIG: StateConfig<never> = { ...DEFAULT_STATE_CONFIG, gossipIntervalMs: 1000, gossipFanout: 3, pushWrites: false, pushFanout: 0, pushNeighbors: false, fullAckDigest: true, digestSums: false };

/** Why a write was refused (nothing stored changes). */
export type StateError =
  | { readonly type: 'bad-key'; readonly message: string }
  | { readonly type: 'key-too-large'; readonly message: string }
  | { readonly type: 'value-too-large'; readonly message: string }
  | { readonly type: 'too-many-keys'; readonly message: string }
  | { readonly type: 'node-too-large'; readonly message: string }
  | { readonly type: 'bad-ttl'; readonly message: string }
  | { readonly type: 'stopped'; readonly message: string };

export type WriteResult = { readonly ok: true; readonly version: number } | { readonly ok: false; readonly error: StateError };

export { utf8Bytes };

/** Bytes of the varint of `n`. */
export function varintBytes(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-prefixed string or byte array of `len` bytes. */
function lp(len: number): number {
  return varintBytes(len) + len;
}

/** Encoded size of one entry. */
export function entryBytes(e: KvEntry): number {
  const k = utf8Bytes(e.key);
  return lp(k) + varintBytes(e.version) + 1 + (e.value === null ? 0 : lp(e.value.byteLength));
}

/** Encoded size of a digest entry, given the size of its node id. */
export function digestEntryBytes<P>(d: DigestEntry<P>, idBytes: (p: P) => number): number {
  return idBytes(d.node) + varintBytes(d.generation) + varintBytes(d.maxVersion);
}

/** Encoded size of a delta header (without entries). */
export function deltaHeaderBytes<P>(d: Omit<NodeDelta<P>, 'entries'>, entries: number, idBytes: (p: P) => number): number {
  return idBytes(d.node) + varintBytes(d.generation) + varintBytes(d.fromVersion) + varintBytes(d.toVersion) + 1 + varintBytes(d.lastGcVersion) + varintBytes(entries);
}

/** Fixed bytes of every message: version byte, type byte, CRC-32C (see src/wire/state.ts). */
export const STATE_MESSAGE_OVERHEAD = 6;

/** Exact encoded size of `msg` (src/wire/state.ts), given the encoded size of a node id. */
export function stateMessageSize<P>(msg: StateMessage<P>, idBytes: (p: P) => number): number {
  let n = STATE_MESSAGE_OVERHEAD;
  if (msg.type === 'sum') return n + varintBytes(msg.owners) + 8;
  if (msg.type === 'syn' || msg.type === 'ack') {
    n += varintBytes(msg.digest.length);
    for (const d of msg.digest) n += digestEntryBytes(d, idBytes);
  }
  if (msg.type !== 'syn') {
    n += varintBytes(msg.deltas.length);
    for (const d of msg.deltas) {
      n += deltaHeaderBytes(d, d.entries.length, idBytes);
      for (const e of d.entries) n += entryBytes(e);
    }
  }
  return n;
}

/** Encoded size of a string node id (`host:port`). */
export function stringIdBytes(p: string): number {
  return lp(utf8Bytes(p));
}
