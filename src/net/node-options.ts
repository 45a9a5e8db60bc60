/**
 * The options of `createNode` (rumor-node.ts) and their validation, the typed events of a
 * `RumorNode`, and `PayloadTooLargeError`, split out of rumor-node.ts to keep it short;
 * rumor-node.ts re-exports the public ones, so importers are unchanged.
 *
 * Limits: `validateOptions` checks types and ranges only; an address that parses but cannot
 * be bound is reported by `start()` when it listens.
 */
import type { NodeConfigInput } from '../proto/node.js';
import type { DownReason } from '../proto/types.js';
import { ENVELOPE_MAX_CHANNEL_BYTES, ENVELOPE_MAX_ORIGIN_BYTES, type WireLimits } from '../wire/index.js';
import { Keyring, type EncryptMode } from '../wire/crypto.js';
import { validateDefences, type DefenceOptions } from './guard.js';
import type { NetTimings, ProfileName } from './profiles.js';
import type { Delivery } from './subscription.js';
import { parseAddr, type Logger } from './util.js';
import type { Validator } from './validation.js';

/** Options of `createNode`. Every field is optional. */
export interface NodeOptions {
  /** Address to bind. Default `127.0.0.1`. A wildcard (`0.0.0.0`, `::`) requires `advertise`. */
  host?: string;
  /** Port to bind; `0` (default) picks a free port. */
  port?: number;
  /** Address other nodes use to reach this one (`host:port`); it is also the node's peer id.
   *  Default: `host:port` as bound. */
  advertise?: string;
  /** Cluster name; nodes refuse connections from other clusters. Default `rumor`. */
  cluster?: string;
  /** Node name, sent in the handshake and used as `id`. Default: 16 random hex digits. */
  name?: string;
  /** Runtime profile (timers). Default `lan`. See docs/library.md. */
  profile?: ProfileName;
  /** Protocol configuration, merged over the profile's (see `NodeConfigInput`). */
  protocol?: NodeConfigInput;
  /** Overrides of single runtime timings of the profile. */
  net?: Partial<NetTimings>;
  /** Wire limits, merged over `DEFAULT_WIRE_LIMITS`. */
  limits?: Partial<WireLimits>;
  /** Logger (pino-compatible subset). Default: warnings and errors to stderr. */
  logger?: Logger;
  /** Hard bound of one connection's send queue in bytes; a peer above it is disconnected.
   *  Default 8 MiB. */
  maxQueueBytes?: number;
  /** Queue size above which lazy traffic (IHAVE) is shed. Default `maxQueueBytes / 2`. */
  shedQueueBytes?: number;
  /** Most simultaneous connections (inbound + outbound). Default 1024. */
  maxConnections?: number;
  /** Seed of the node's random generator (jitter, protocol choices). Default: crypto-random. */
  seed?: number;
  /** Validate before forward: called for every new broadcast from a peer before it is
   *  delivered or forwarded; `reject` (invalid, scored against the sender) or `ignore` drop
   *  it. Synchronous. See docs/library.md. */
  validate?: Validator;
  /** Peer scoring, token buckets, per-origin rate limit and rate alarms (defaults in
   *  src/net/scoring.ts and src/net/limits.ts; `false` turns scoring or limits off). */
  defences?: DefenceOptions;
  /** Cluster keyring: authenticated encryption of every frame and heartbeat datagram
   *  (AES-256-GCM, docs/protocol.md §10). A `Keyring` (shared, mutable at run time) or its keys
   *  (base64, primary first) and rollout mode (default `enforce`). Default: no key (plaintext;
   *  a key installed later with `node.keyring.install` starts in mode `accept`). */
  keyring?: Keyring | { keys: string[]; mode?: EncryptMode };
  /** Resolves the DNS names of `join` seeds to IP addresses. Default: `dns.lookup` with
   *  `all: true` (the system resolver, /etc/hosts included). */
  resolver?: (hostname: string) => Promise<string[]>;
}

/** Upper bound of an envelope's size without its data: version, origin (varint length ≤ 2 +
 *  320 bytes), seq (≤ 8), channel (≤ 2 + 255), timestamp (≤ 8). */
export const ENVELOPE_MAX_HEADER = 1 + 2 + ENVELOPE_MAX_ORIGIN_BYTES + 8 + 2 + ENVELOPE_MAX_CHANNEL_BYTES + 8;

/** Thrown by `broadcast` when the payload does not fit in one message. */
export class PayloadTooLargeError extends Error {
  /** Size of the rejected payload in bytes. */
  readonly size: number;
  /** Largest payload accepted for this channel, in bytes. */
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(`payload of ${size} bytes exceeds the limit of ${limit} bytes (limits.maxPayloadBytes minus the envelope)`);
    this.name = 'PayloadTooLargeError';
    this.size = size;
    this.limit = limit;
  }
}

/** Events of a `RumorNode` and their listener arguments. */
export interface RumorNodeEvents {
  /** A broadcast was delivered (exactly once per message id, own broadcasts included). */
  message: [delivery: Delivery];
  /** A peer entered the active view. */
  neighborUp: [peer: string];
  /** A peer left the active view, and why. */
  neighborDown: [peer: string, reason: DownReason];
  /** A subscription's buffer overflowed: `missed` deliveries were dropped (oldest first). */
  lagged: [info: { channel: string; missed: number }];
  /** Point-to-point data sent by a connected peer with `sendTo`. */
  direct: [from: string, channel: string, data: Uint8Array, datagram: boolean];
  /** A dial to `peer` was refused, or a connection to it was reset. */
  unreachable: [peer: string];
  /** A cluster-wide reset of `channel` took effect here: drop its application state. */
  reset: [channel: string, epoch: number];
}

/** The node's keyring from its `keyring` option (none: an empty keyring in mode `accept`). */
export function makeKeyring(k: NodeOptions['keyring']): Keyring {
  if (k === undefined) return new Keyring([], 'accept');
  if (k instanceof Keyring) return k;
  try {
    return new Keyring(k.keys, k.mode ?? 'enforce');
  } catch (err) {
    throw new Error(`createNode: ${(err as Error).message}`, { cause: err });
  }
}

/** The first problem of `o` (with the merged wire `limits`) as a one-line message, or null. */
export function validateOptions(o: NodeOptions, limits: WireLimits): string | null {
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0) return 'host: expected a non-empty string';
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    return `port: expected an integer 0..65535, got ${String(o.port)}`;
  }
  if (o.advertise !== undefined) {
    const a = parseAddr(o.advertise);
    if (!a.ok) return `advertise: ${a.reason}`;
  } else if (host === '0.0.0.0' || host === '::') {
    return `advertise: required when host is the wildcard ${host} (give the address peers should dial)`;
  }
  if (o.cluster !== undefined && (typeof o.cluster !== 'string' || o.cluster.length === 0)) return 'cluster: expected a non-empty string';
  if (o.resolver !== undefined && typeof o.resolver !== 'function') return 'resolver: expected a function (hostname) => Promise<string[]>';
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length === 0)) return 'name: expected a non-empty string';
  for (const k of ['maxQueueBytes', 'shedQueueBytes', 'maxConnections'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) return `${k}: expected a positive integer, got ${String(v)}`;
  }
  if (o.shedQueueBytes !== undefined && o.shedQueueBytes > (o.maxQueueBytes ?? 8 * 1024 * 1024)) {
    return 'shedQueueBytes: must be ≤ maxQueueBytes';
  }
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isInteger(v) || v <= 0) return `limits.${k}: expected a positive integer, got ${String(v)}`;
  }
  if (limits.maxFrameBytes <= limits.maxPayloadBytes) return 'limits.maxFrameBytes: must exceed limits.maxPayloadBytes';
  // The first byte of a frame's length prefix must be 0: 0xFF marks encrypted records (crypto.ts).
  if (limits.maxFrameBytes >= 2 ** 24) return `limits.maxFrameBytes: must be below 16 MiB (${2 ** 24}), got ${limits.maxFrameBytes}`;
  if (o.keyring !== undefined && !(o.keyring instanceof Keyring) && (typeof o.keyring !== 'object' || o.keyring === null || !Array.isArray(o.keyring.keys))) {
    return 'keyring: expected a Keyring or { keys: [base64 key, ...], mode? }';
  }
  return validateDefences(o.defences);
}
