/**
 * Vocabulary of the rumor wire format: protocol versions, control messages (handshake and
 * heartbeats, which only the network runtime speaks), the append-only table of numeric type
 * codes, and the limits every decoder enforces before it allocates anything.
 *
 * The full specification is `docs/protocol.md`; keep the two in step.
 */
import type { Message } from '../proto/types.js';

/** Version this build speaks (the version byte of every frame it sends). */
export const PROTOCOL_VERSION = 1;
/** Oldest version this build still understands. */
export const MIN_PROTOCOL_VERSION = 1;

/** Connection-level messages of the TCP runtime (not seen by the protocol machines). */
export type ControlMessage =
  /** First frame on a new connection: the versions the dialer speaks, its cluster and identity. */
  | { type: 'hello'; versionMin: number; versionMax: number; cluster: string; id: string; addr: string }
  /** Positive answer to `hello`: the version chosen for the connection and the acceptor's identity. */
  | { type: 'welcome'; version: number; id: string; addr: string }
  /** Negative answer to `hello` (wrong cluster, no common version, ...); the acceptor then closes. */
  | { type: 'refuse'; reason: string }
  /** Heartbeat request; answered with a `pong` carrying the same `seq`. */
  | { type: 'ping'; seq: number }
  | { type: 'pong'; seq: number }
  /** Point-to-point application data to a connected peer (not forwarded; used by the agent's
   *  membership anti-entropy). `channel` names the consumer. */
  | { type: 'direct'; channel: string; data: Uint8Array }
  /** Sent by the acceptor of a connection that has a UDP socket: the link's 64-bit token
   *  (16 hex digits) that UDP heartbeat datagrams for this link carry (see `datagram.ts`). */
  | { type: 'udp-token'; token: string };

/** Everything that travels in a frame. Peer ids are strings ("host:port"). */
export type WireMessage = Message<string> | ControlMessage;
export type WireType = WireMessage['type'];

/**
 * Numeric type codes. APPEND-ONLY: a code, once released, is never reused nor renumbered;
 * new messages take new codes. Gaps group codes by protocol.
 */
export const TYPE_CODES = {
  hello: 1,
  welcome: 2,
  refuse: 3,
  ping: 4,
  pong: 5,
  direct: 6,
  'udp-token': 7,
  // 8, 9: reserved for the UDP heartbeat datagrams `hb-ping`, `hb-pong` (datagram.ts), 10 for
  // application datagrams (datagram-app.ts); never valid in a TCP stream.
  join: 16,
  'forward-join': 17,
  neighbor: 18,
  'neighbor-reply': 19,
  disconnect: 20,
  shuffle: 21,
  'shuffle-reply': 22,
  gossip: 32,
  ihave: 33,
  graft: 34,
  prune: 35,
  'cyclon-shuffle': 48,
  'cyclon-reply': 49,
} as const satisfies Record<WireType, number>;

/** Code → type tag (undefined for unknown codes). */
export const TYPE_BY_CODE: ReadonlyArray<WireType | undefined> = (() => {
  const out: Array<WireType | undefined> = new Array(256).fill(undefined);
  for (const [tag, code] of Object.entries(TYPE_CODES)) out[code] = tag as WireType;
  return out;
})();

/** Bounds enforced at encode (refused with a reason) and at decode (rejected, typed error). */
export interface WireLimits {
  /** Largest frame, counted after the 4-byte length prefix. Larger prefix ⇒ fatal. */
  maxFrameBytes: number;
  /** Largest `gossip` payload (the broadcast envelope). */
  maxPayloadBytes: number;
  /** Most peers in `shuffle`, `shuffle-reply`, `cyclon-shuffle`, `cyclon-reply`. */
  maxPeersPerMessage: number;
  /** Most entries in one `ihave`. */
  maxIHaveEntries: number;
  /** Longest peer id / address / message id string, in UTF-8 bytes. */
  maxIdBytes: number;
  /** Longest free-text string (cluster name, refusal reason), in UTF-8 bytes. */
  maxStringBytes: number;
}

/**
 * Default limits.
 * - maxPayloadBytes 1 MiB: large enough for metadata deltas and small model-averaging
 *   shards, small enough that one frame never stalls a link for long (1 MiB at 1 Gbit/s ≈
 *   8 ms) nor lets a peer make us buffer much. Larger data should be chunked by the app.
 * - maxFrameBytes 1 MiB + 64 KiB: the largest payload plus headroom for a gossip header
 *   and for the largest non-payload frames (an `ihave` at its limit is ≈ 21 KiB; a shuffle
 *   at its limit ≤ 21 KiB). Every valid frame under these limits fits.
 * - maxPeersPerMessage 64: a HyParView shuffle carries ka + kp + 1 = 8 peers (DSN 2007,
 *   §4.4, ka=3, kp=4) and a Cyclon shuffle ℓ ≤ cache size (typ. 20–50); 64 leaves room for
 *   larger configurations while bounding the frame.
 * - maxIHaveEntries 1024: Plumtree batches IHAVEs per flush interval; 1024 ids per frame
 *   (≈ 20 KiB) covers > 10k broadcasts/s at a 100 ms flush; larger batches are split.
 * - maxIdBytes 320: "host:port" with a maximal DNS name is 253 + 1 + 5 = 259 bytes
 *   (RFC 1035); rounded up for bracketed IPv6 literals with zone ids.
 * - maxStringBytes 1024: cluster names and refusal reasons are short human text.
 */
export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({
  maxFrameBytes: 1024 * 1024 + 64 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxPeersPerMessage: 64,
  maxIHaveEntries: 1024,
  maxIdBytes: 320,
  maxStringBytes: 1024,
});

/** Fixed bounds of integer fields (not configurable: they are part of the format). */
export const FIELD_MAX = {
  /** ttl fields are one byte. */
  ttl: 0xff,
  /** Plumtree hop count (varint); far above any real tree depth. */
  round: 0xffff,
  /** Cyclon entry age in shuffle periods (varint). */
  age: 0xffff,
  /** Heartbeat sequence number (varint, 32 bits: 136 years at 1 Hz). */
  seq: 0xffffffff,
  /** Protocol version numbers are one byte. */
  version: 0xff,
} as const;

/** Result of `encodeFrame`. */
export type EncodeResult = { ok: true; frame: Uint8Array } | { ok: false; reason: string };

/** Why a frame was rejected. */
export type DecodeError =
  | 'bad-checksum'
  | 'bad-length'
  | 'frame-too-large'
  | 'unsupported-version'
  | 'unknown-type'
  | 'malformed'
  | 'limit-exceeded'
  | 'bad-id'
  /** The stream switches to encrypted records here (first byte 0xFF, see crypto.ts): the
   *  decoder stops, `FrameDecoder.rest()` hands the bytes to a `StreamOpener`. */
  | 'encrypted'
  /** Encrypted traffic that no installed key opens (another key or cluster name, tampering). */
  | 'decrypt-failed'
  /** Plaintext refused: this node's keyring is in `enforce` mode. */
  | 'plaintext-refused'
  /** Encrypted traffic to a node that has no key. */
  | 'encryption-unsupported'
  /** The key of an open encrypted stream was removed from the keyring. */
  | 'key-removed'
  /** An encrypted datagram replayed (counter not above the last one accepted). */
  | 'replayed';

/**
 * Result of decoding one frame. `bytes`: bytes consumed (length prefix included).
 * `fatal`: framing is lost and the connection must be closed; otherwise only this frame
 * is dropped and decoding continues with the next one.
 */
export type DecodeResult =
  | { ok: true; msg: WireMessage; bytes: number }
  | { ok: false; error: DecodeError; detail: string; fatal: boolean };
