/**
 * The library's validate step (issue 13 §2), run by Plumtree before a message from a peer is
 * delivered or forwarded (src/proto/plumtree.ts `validated`), in this order:
 * 1. the envelope must decode (else `reject`: the sender forwarded garbage);
 * 2. channel epochs (reset switch): a message on a channel whose epoch was reset after the
 *    message was sent (envelope timestamp < the reset's timestamp) is `ignore`d — it belongs
 *    to an older epoch;
 * 3. the per-origin broadcast rate (limits.ts `OriginLimits`): over it, `ignore` — and when the
 *    peer it came from is the origin itself, the excess scores against it (`rate-excess`);
 * 4. the application's `validate` hook, if any.
 *
 * Limits: the epoch boundary is the origin's wall clock (the envelope timestamp). A node
 * whose clock runs behind the resetter's by more than the time since the reset has its first
 * messages after the reset refused until its clock passes the reset time; keep clocks in
 * sync (NTP) — the same assumption Serf's user-event coalescing makes.
 */
import type { MsgId, Verdict } from '../proto/types.js';
import { readEnvelopeInto, type Envelope } from '../wire/index.js';
import type { OriginLimits } from './limits.js';

/** What an application validator sees of a message. */
export interface ValidateInput {
  id: MsgId;
  channel: string;
  origin: string;
  seq: number;
  /** Origin's wall clock at broadcast (ms since the Unix epoch). */
  timestamp: number;
  data: Uint8Array;
  /** The peer the message came from (advertised address). */
  from: string;
}

/** `createNode({ validate })`: accept, reject (invalid: counts against `from`) or ignore. */
export type Validator = (msg: ValidateInput) => Verdict;

/** Reserved channel carrying reset announcements. */
export const RESET_CHANNEL = '_rumor.reset';

/** One channel's current epoch: a counter and the reset's origin timestamp. */
export interface Epoch {
  epoch: number;
  since: number;
}

export interface ValidationState {
  epochs: Map<string, Epoch>;
  origins: OriginLimits | null;
  user: Validator | undefined;
  /** A message over its origin's rate arrived from `from` (the origin itself when equal). */
  countOriginExcess(origin: string, from: string): void;
  now(): number;
}

export function buildValidate(s: ValidationState): (id: MsgId, payload: Uint8Array, from: string) => Verdict {
  // One envelope object for every call (validation never nests), and its data decoded only
  // for the application's hook: a flood's messages cost no object here (h31f).
  const e: Envelope = { origin: '', seq: 0, channel: '', timestamp: 0, data: new Uint8Array(0) };
  const withData = s.user !== undefined;
  return (id, payload, from) => {
    if (readEnvelopeInto(payload, e, withData) !== null) return 'reject';
    const ep = s.epochs.get(e.channel);
    if (ep !== undefined && e.timestamp < ep.since) return 'ignore';
    if (s.origins !== null && !s.origins.allow(e.origin, s.now())) {
      s.countOriginExcess(e.origin, from);
      return 'ignore';
    }
    if (s.user === undefined) return 'accept';
    return s.user({ id, channel: e.channel, origin: e.origin, seq: e.seq, timestamp: e.timestamp, data: e.data, from });
  };
}

/** Parse a reset announcement's data (`{"channel":…,"epoch":…}`); null if malformed. */
export function parseReset(data: Uint8Array): { channel: string; epoch: number } | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const { channel, epoch } = v as Record<string, unknown>;
    if (typeof channel !== 'string' || channel === RESET_CHANNEL || !Number.isSafeInteger(epoch) || (epoch as number) < 1) return null;
    return { channel, epoch: epoch as number };
  } catch {
    return null;
  }
}
