/**
 * Runtime profiles: the timings of the TCP runtime (heartbeats, connect and handshake
 * timeouts, idle close of short-lived connections) and the protocol timers
 * that depend on the network's round-trip time, for three environments:
 *
 * - `lan` (default): one data centre, RTT well under 1 ms, silent failure detected in ≤ 3 s.
 * - `wan`: several regions, RTT up to ~300 ms, tolerate long pauses and slow handshakes.
 * - `local`: every node on one machine (tests, demos): aggressive timers.
 *
 * Every value and its source is listed in docs/library.md ("Profiles").
 */
import type { NodeConfigInput } from '../proto/node.js';

/** Name of a runtime profile. */
export type ProfileName = 'lan' | 'wan' | 'local';

/** Timings and limits of the TCP runtime (all durations in milliseconds). */
export interface NetTimings {
  /** Heartbeat a link (UDP `hb-ping`, else TCP PING) that was quiet for this long. */
  heartbeatIntervalMs: number;
  /** Declare a link dead when nothing at all (TCP or matching UDP heartbeat) was received on
   *  it for this long. */
  heartbeatTimeoutMs: number;
  /** Heartbeat idle links over UDP (a socket bound on the TCP listener's host:port), with TCP
   *  PING as the fallback; false: TCP PINGs only. Default true. */
  udpHeartbeats: boolean;
  /** Give up a TCP connect (SYN without answer) after this long. */
  connectTimeoutMs: number;
  /** Disconnect a connection that has not completed the hello/welcome exchange in this time. */
  handshakeTimeoutMs: number;
  /** Close a short-lived (non-neighbour) connection after this long without protocol traffic. */
  idleCloseMs: number;
  /** On leave(), wait at most this long for send queues to flush before closing. */
  leaveFlushMs: number;
}

/** A profile: runtime timings plus protocol overrides merged under the user's `protocol`. */
export interface Profile {
  net: NetTimings;
  protocol: NodeConfigInput;
}

/**
 * HyParView's re-JOIN after losing the last contact during the bootstrap window, for `lan` and
 * `wan`: only when no neighbour reached this node through the contact's walks (`cut-off`;
 * hyparview-config.ts). A fleet started against one seed (every agent `--join SEED`) is a star:
 * the seed evicts a random member for each JOIN it accepts, and under the simulator's rule
 * (`contact-lost`) each evicted agent JOINed the seed again, evicting another, for the whole
 * window, each accepted JOIN starting four FORWARDJOIN walks (docs/results.md, "Start-up and
 * join of a fleet (h22s)"). `local` (tests) keeps the simulator's rule. measured (`rumor sim
 * bootstrap` rules compared, 20 nodes seeds 1–3 and 1,000 nodes seeds 1–2, in docs/results.md):
 * the star's views fill sooner; a ring of 1,000 took up to 11.6 s instead of 2.2 s to become one
 * component.
 */
const BOOTSTRAP_REJOIN = 'cut-off' as const;

/**
 * HyParView's FORWARDJOIN walk ends at a node with a free slot once its TTL is down to this
 * (hyparview-config.ts `walkEndWithRoom`; the simulator keeps the paper's walks, 0), for `lan`
 * and `wan`: in a fleet's join most walk ends were full and evicted a neighbour, who then asked
 * a passive peer on a new connection. measured: see docs/results.md (h36j).
 */
const WALK_END_WITH_ROOM = 3;

/** The three profiles. Sources for each number are in docs/library.md. */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  lan: {
    // heartbeat 2000 / 2900 — measured: UDP heartbeats (2 × 47 B per link per interval) at 2 s
    // cost ≈ 110 B/s per node; bench/cluster N = 20 idle 638 → 124 B/s, 9.1 → 2 packets/s per
    // node (Serf: 268–272 B/s). A lost datagram's TCP fallback leaves at 2000 + 450 ms (the
    // sweep is armed for it) and is answered before the 2.9 s timeout; silence is detected
    // at 2.9 s plus the event loop's delay, within issue 3's 3 s.
    // shuffleIntervalMs 30 s: memberlist's LAN PushPullInterval (hashicorp/memberlist config.go).
    // ihaveFlushMs 100: IHAVEs land after the eager push has reached everyone (measured, bench
    // cluster N = 50: event p50 101–106 → 93 ms; see docs/library.md "Profiles").
    net: {
      heartbeatIntervalMs: 2000,
      heartbeatTimeoutMs: 2900,
      udpHeartbeats: true,
      connectTimeoutMs: 2000,
      handshakeTimeoutMs: 5000,
      idleCloseMs: 1000,
      leaveFlushMs: 2000,
    },
    protocol: {
      // joinTimeoutMs 5000: a contact that stops or dies fails its link in 2.9 s (heartbeats);
      // one that is only slow answers later (measured, 50 agents started at once on 2 cores
      // against one seed: with 1000 ms, the seed received 98–142 JOINs for 49 joiners, each
      // given-up JOIN sent again on a new connection).
      // bootstrapRejoin 'cut-off': see BOOTSTRAP_REJOIN below.
      hyparview: { neighborTimeoutMs: 1000, joinTimeoutMs: 5000, shuffleIntervalMs: 30_000, bootstrapRejoin: BOOTSTRAP_REJOIN, walkEndWithRoom: WALK_END_WITH_ROOM },
      plumtree: { ihaveTimeoutMs: 50, graftTimeoutMs: 25, ihaveFlushMs: 100 },
    },
  },
  wan: {
    net: {
      heartbeatIntervalMs: 2000,
      heartbeatTimeoutMs: 10_000,
      udpHeartbeats: true,
      connectTimeoutMs: 10_000,
      handshakeTimeoutMs: 10_000,
      idleCloseMs: 5000,
      leaveFlushMs: 5000,
    },
    protocol: {
      // joinRetryMs 2000: a bootstrap retry every ~7 RTTs of 300 ms rather than every one.
      // joinTimeoutMs 10 000: the heartbeat timeout, as `lan`'s 5000 is above its 2.9 s.
      hyparview: { neighborTimeoutMs: 3000, joinTimeoutMs: 10_000, shuffleIntervalMs: 30_000, repairBaseMs: 2000, joinRetryMs: 2000, bootstrapRejoin: BOOTSTRAP_REJOIN, walkEndWithRoom: WALK_END_WITH_ROOM },
      plumtree: { ihaveTimeoutMs: 1000, graftTimeoutMs: 500, ihaveFlushMs: 50 },
    },
  },
  local: {
    net: {
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 1000,
      udpHeartbeats: true,
      connectTimeoutMs: 1000,
      handshakeTimeoutMs: 2000,
      idleCloseMs: 1000,
      leaveFlushMs: 1000,
    },
    protocol: {
      hyparview: { neighborTimeoutMs: 500, joinTimeoutMs: 2000, shuffleIntervalMs: 2000, repairBaseMs: 200, repairMaxMs: 5000 },
      plumtree: { ihaveTimeoutMs: 100, graftTimeoutMs: 30, ihaveFlushMs: 5 },
    },
  },
};

/** The connection sweep's tick (sweep.ts): the sweep is armed for the earliest connection
 *  deadline, and a change that may bring one forward (a new connection, a close, a link that
 *  stops being a neighbour's) gets a sweep within this long. A fifth of the shortest of those
 *  timings, at most 100 ms (the UDP heartbeat's TCP fallback must fit between interval and
 *  timeout, heartbeat.ts), at least 10 ms. */
export function checkTickMs(t: NetTimings): number {
  return Math.max(10, Math.min(100, Math.min(t.heartbeatIntervalMs, t.idleCloseMs, t.connectTimeoutMs) / 5));
}

/** Merge overrides over a profile's timings and validate them (reason names the field). */
export function resolveTimings(
  profile: ProfileName,
  overrides: Partial<NetTimings> = {},
): { ok: true; timings: NetTimings } | { ok: false; reason: string } {
  const base = PROFILES[profile];
  if (base === undefined) {
    return { ok: false, reason: `profile: expected "lan", "wan" or "local", got ${JSON.stringify(profile)}` };
  }
  const t: NetTimings = { ...base.net, ...overrides };
  if (typeof t.udpHeartbeats !== 'boolean') {
    return { ok: false, reason: `net.udpHeartbeats: expected true or false, got ${String(t.udpHeartbeats)}` };
  }
  for (const [k, v] of Object.entries(t)) {
    if (k === 'udpHeartbeats') continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return { ok: false, reason: `net.${k}: expected a positive number of milliseconds, got ${String(v)}` };
    }
  }
  if (t.heartbeatTimeoutMs <= t.heartbeatIntervalMs) {
    return { ok: false, reason: 'net.heartbeatTimeoutMs: must be greater than net.heartbeatIntervalMs' };
  }
  return { ok: true, timings: t };
}

/** Merge the user's protocol input over the profile's protocol overrides (one level deep). */
export function mergeProtocol(profile: ProfileName, user: NodeConfigInput = {}): NodeConfigInput {
  const p = PROFILES[profile].protocol;
  return {
    membership: user.membership ?? p.membership,
    broadcast: user.broadcast ?? p.broadcast,
    hyparview: { ...p.hyparview, ...user.hyparview },
    cyclon: { ...p.cyclon, ...user.cyclon },
    plumtree: { ...p.plumtree, ...user.plumtree },
    fanout: { ...p.fanout, ...user.fanout },
  };
}
