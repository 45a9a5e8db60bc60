/**
 * Accounting of dropped frames and datagrams for the transport (transport.ts): counted by
 * reason, per sender label (bounded), scored against the peer once it is known (guard.ts),
 * and logged at most once a minute per label with the number suppressed since.
 *
 * Limits: at most `MAX_BAD_LABELS` labels are kept in `droppedFramesByPeer`; beyond, drops
 * are counted under `(other)`. Constants that decide what a bad frame does to its connection
 * live here too, next to the accounting.
 */
import type { DecodeResult } from '../wire/index.js';
import type { PeerGuard } from './guard.js';
import type { Connection } from './connection.js';
import { bump, type StatsCounters } from './stats.js';
import { RateLimiter, type Logger } from './util.js';

/** Decode errors of the encryption layer that refuse an inbound connection with a reason. */
export const CRYPTO_REFUSALS = new Set<string>(['decrypt-failed', 'plaintext-refused', 'encryption-unsupported', 'malformed']);

/** Close a connection after this many non-fatal bad frames (they score against the peer). */
export const MAX_BAD_FRAMES_PER_CONN = 16;

/** Labels kept in `droppedFramesByPeer`; beyond, drops are counted under `OTHER_LABEL`. */
const MAX_BAD_LABELS = 1024;
const OTHER_LABEL = '(other)';

/** Counts, scores and logs dropped frames (see the module comment). */
export class BadFrames {
  private readonly badLog = new RateLimiter(60_000);

  constructor(
    private readonly counters: StatsCounters,
    private readonly defences: PeerGuard,
    private readonly logger: Logger,
  ) {}

  /** A frame of `c` the decoder rejected (transport.ts `onBadFrame`): a dialer without our key
   *  (or speaking plaintext to an enforcing node) is refused with the reason, in plaintext
   *  (`refuse`), so that its log says why; anything else is counted and scored, and closes the
   *  connection when fatal, before it is open, or past MAX_BAD_FRAMES_PER_CONN. */
  onDecodeError(c: Connection, r: Extract<DecodeResult, { ok: false }>, now: number, refuse: (reason: string) => void): void {
    if (CRYPTO_REFUSALS.has(r.error) && c.direction === 'in' && c.state === 'handshaking') {
      bump(this.counters.droppedFrames, r.error);
      refuse(`${r.error}: ${r.detail}`);
      return;
    }
    this.count(c, r.error, r.detail, now);
    c.badFrames++;
    if (r.fatal || c.state === 'handshaking' || c.state === 'connecting' || c.badFrames > MAX_BAD_FRAMES_PER_CONN) {
      c.destroy('bad-frame', false);
    }
  }

  /** Count a dropped frame or datagram from a connection or a label (e.g. `udp:ip:port`). */
  count(from: Connection | string, reason: string, detail: string, now: number): void {
    const label = typeof from === 'string' ? from : from.label();
    bump(this.counters.droppedFrames, reason);
    // Per peer, at most MAX_BAD_LABELS labels: an unidentified sender is labelled by its
    // ip:port, so a stream of hostile connections would otherwise grow this table (and every
    // stats() copy) without bound (found by bench/fuzz.ts: +20 MB over 25,000 connections).
    const byPeer = this.counters.droppedFramesByPeer;
    const key = byPeer[label] !== undefined || Object.keys(byPeer).length < MAX_BAD_LABELS ? label : OTHER_LABEL;
    bump((byPeer[key] ??= {}), reason);
    // Scored against the peer once it is known (after the handshake). `decrypt-failed` is the
    // encryption layer's reason (issue 13 §1) and scores as a failed decryption.
    if (typeof from !== 'string' && from.peer !== null) this.defences.offence(from.peer, reason === 'decrypt-failed' ? 'decrypt-fail' : 'bad-frame', now);
    const suppressed = this.badLog.allow(label, now);
    if (suppressed >= 0) {
      this.logger.warn({ peer: label, reason, detail, suppressedSinceLast: suppressed }, 'rumor: dropped bad frame');
    }
  }
}
