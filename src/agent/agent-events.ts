/**
 * The agent's user events (Serf's `user` events; src/agent/agent.ts wires them): sending one
 * (`send`), receiving one (`receive`: decoded, checked against the restart's Lamport time,
 * de-duplicated by the pipeline, handed to the handlers and the monitor streams), the user-event
 * Lamport clock kept across restarts with a data dir (event-clock.ts), and the receive path's
 * warm-up (`warmReceivePath`). Moved out of agent.ts unchanged, to keep that file short.
 */
import { PayloadTooLargeError, type RumorNode } from '../net/rumor-node.js';
import type { Delivery } from '../net/subscription.js';
import { DEFAULT_WIRE_LIMITS, checkEnvelope, decodeFrame, encodeEnvelope, encodeFrame, messageIdFor, readEnvelope, type WireLimits } from '../wire/index.js';
import type { MonitorEvent } from './api.js';
import type { AgentConfig } from './config.js';
import type { EventPipeline } from './coalesce.js';
import type { EventClockWriter } from './event-clock.js';
import { EventRejectedError, checkEvent } from './event-rules.js';
import type { AgentEvent } from './handlers.js';
import type { AgentLogger } from './log.js';
import type { AgentCounters } from './metrics.js';
import { decodeUserEvent, encodeUserEvent } from './user-event.js';

/** Channel of user events. */
export const EVENT_CHANNEL = '_rumor.event';

/** What the user events need of their agent. */
export interface UserEventsHost {
  node: RumorNode;
  config: AgentConfig;
  log: AgentLogger;
  counters: AgentCounters;
  pipeline: EventPipeline;
  /** The monitor streams: how many listen, and one event to each. */
  listening: () => number;
  publish: (e: MonitorEvent) => void;
  /** An invalid message on `channel` from `from`: counted and logged. */
  bad: (channel: string, from: string, reason: string) => void;
}

/** User events sent and received by one agent, and their Lamport clock. */
export class AgentUserEvents {
  /** The user-event Lamport clock. */
  ltime: number;
  /** User events at or below this Lamport time were delivered before a restart (snapshot.ts). */
  private readonly minLtime: number;
  private readonly clock: EventClockWriter | null;

  constructor(
    private readonly host: UserEventsHost,
    /** The clock at start (event-clock.ts, from the data dir) and its writer (null: none). */
    clock: { ltime: number; writer: EventClockWriter | null },
  ) {
    this.ltime = this.minLtime = clock.ltime;
    this.clock = clock.writer;
  }

  /** A delivery on `EVENT_CHANNEL`. */
  receive(d: Delivery): void {
    const h = this.host;
    const r = decodeUserEvent(d.data);
    if (!r.ok) return h.bad(EVENT_CHANNEL, d.origin, r.reason);
    const { name, payload, ltime } = r.event;
    if (ltime <= this.minLtime) {
      h.counters.userEventsBeforeRestart++;
      return h.log.debug({ event: name, origin: d.origin, ltime, minLtime: this.minLtime }, 'user event from before the restart: not delivered again');
    }
    this.ltime = Math.max(this.ltime, ltime);
    this.clock?.advance(this.ltime); // not delivered again after a restart
    if (!h.pipeline.admit(name, payload, ltime)) {
      h.log.debug({ event: name, origin: d.origin, ltime }, 'user event already delivered (or too old): dropped');
      return;
    }
    h.counters.userEventsReceived++;
    const e: AgentEvent = { type: 'user', id: d.id, name, payload, origin: d.origin, ltime };
    h.pipeline.push(e);
    h.log.info({ event: name, origin: d.origin, bytes: payload.byteLength, hops: d.hops }, 'user event');
    if (h.listening() === 0) return;
    const text = new TextDecoder().decode(payload);
    h.publish({ type: 'user', id: d.id, name, origin: d.origin, ltime, payload: text, payloadBase64: Buffer.from(payload).toString('base64') });
  }

  /** Broadcast a user event; returns its message id. Throws on bad input. */
  send(name: string, payload: Uint8Array): string {
    const h = this.host;
    const bad = checkEvent(h.config, name, payload);
    if (bad !== null) throw new EventRejectedError(name, bad);
    const body = encodeUserEvent({ name, payload, ltime: this.ltime + 1 });
    let id: string;
    try {
      id = h.node.broadcast(body, { channel: EVENT_CHANNEL });
    } catch (err) {
      if (!(err instanceof PayloadTooLargeError)) throw err;
      // The limit the runtime names is the encoded event's; say it in the caller's terms.
      const overhead = body.byteLength - Math.ceil(payload.byteLength / 3) * 4;
      const max = Math.max(0, Math.floor((err.limit - overhead) / 4) * 3);
      throw new Error(`payload: ${payload.byteLength} bytes, at most ${max} fit in one event (it travels base64-encoded in a broadcast of at most ${err.limit} bytes)`, { cause: err });
    }
    this.ltime++;
    this.clock?.advance(this.ltime);
    h.counters.userEventsSent++;
    return id;
  }

  close(): void {
    this.clock?.close();
  }
}

/**
 * Run one synthetic user event through the code a received one runs, without delivering it:
 * the gossip frame's decode (CRC-32C, the SHA-256 id check, node:crypto's first hash), the
 * frame a relay forwards (the received bytes with the next round), the broadcast envelope and
 * the user event's JSON. So the first real event is not the first time each agent runs that
 * code: at N = 50 those first calls were ~1–1.5 ms of each agent's CPU inside event 0's window
 * (docs/results.md, h32p's "What next"). Returns false when a step did not give what it
 * should (an origin the envelope cannot carry, limits too small for the frame; else a bug: the
 * caller logs it). Never throws. No socket, no state, nothing delivered or counted.
 */
export function warmReceivePath(origin: string, limits: WireLimits = DEFAULT_WIRE_LIMITS): boolean {
  const data = encodeUserEvent({ name: 'rumor-warm-up', payload: new Uint8Array(16), ltime: 1 });
  const e0 = { origin, seq: 0, channel: EVENT_CHANNEL, timestamp: Date.now(), data };
  if (checkEnvelope(e0) !== null) return false;
  const envelope = encodeEnvelope(e0);
  const sent = encodeFrame({ type: 'gossip', id: messageIdFor(envelope), round: 0, payload: envelope }, limits);
  if (!sent.ok) return false;
  const got = decodeFrame(sent.frame, limits);
  if (!got.ok || got.msg.type !== 'gossip') return false;
  const relayed = encodeFrame({ ...got.msg, round: got.msg.round + 1 }, limits);
  if (!relayed.ok) return false;
  const e = readEnvelope(got.msg.payload);
  return typeof e !== 'string' && decodeUserEvent(e.data).ok;
}
