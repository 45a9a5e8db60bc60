/**
 * One-entry encode cache for the transport's sends (transport.ts). The protocol machines hand
 * the same (immutable) message object to every recipient of a broadcast step (one GOSSIP for
 * all eager peers), so a cache keyed by object identity encodes — and checksums — it once.
 * Frames are never mutated after encoding, so one buffer can be queued on several sockets.
 *
 * Limits: one entry only (the last message); a message that cannot be encoded is logged and
 * yields null every time it is sent.
 */
import type { Message } from '../proto/types.js';
import { allocBytes, encodeFrame, type WireLimits } from '../wire/index.js';
import type { Logger } from './util.js';

/** The frame of the last message encoded, reused while the same object is sent again. */
export class SharedEncoder {
  private lastMsg: Message<string> | null = null;
  private lastFrame: Uint8Array | null = null;

  constructor(
    private readonly limits: WireLimits,
    private readonly logger: Logger,
  ) {}

  /** The frame of `msg`, encoded once per message object; null when it cannot be encoded. */
  encode(msg: Message<string>): Uint8Array | null {
    if (msg === this.lastMsg) return this.lastFrame;
    const enc = encodeFrame(msg, this.limits, allocBytes);
    if (!enc.ok) {
      this.logger.error({ type: msg.type, reason: enc.reason }, 'rumor: cannot encode message');
      return null;
    }
    this.lastMsg = msg;
    this.lastFrame = enc.frame;
    return enc.frame;
  }
}
