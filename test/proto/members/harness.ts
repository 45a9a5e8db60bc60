/** Test harness for the membership machine: recording sinks and a tiny in-memory network
 *  with a virtual clock (no simulator), so unit tests see exact inputs and outputs. */
import { Sfc32 } from '../../../src/proto/rng.js';
import { Members } from '../../../src/proto/members/machine.js';
import { MapStore, hashString } from '../../../src/proto/members/map-store.js';
import { keptChanges, pack, resolveMembersConfig, type MembersConfig, type MembersEvent, type MembersMessage, type MembersTimer } from '../../../src/proto/members/types.js';
import type { MembersIo } from '../../../src/proto/members/machine.js';

export interface Sent {
  to: string;
  msg: MembersMessage<string>;
}

/** What the receiver of `msg` gets: an `m-changes` without the entries its `skip` leaves out
 *  (and without the `skip` field), as the codec would encode it; any other message as is. */
export function received(msg: MembersMessage<string>): MembersMessage<string> {
  if (msg.type !== 'm-changes') return msg;
  const { skip: _skip, ...rest } = keptChanges(msg);
  return rest;
}

/** A sink that records every output (`sent`: as received, see `received`; `raw`: as sent). */
export class Rec implements MembersIo<string> {
  sent: Sent[] = [];
  raw: Sent[] = [];
  timers: { delay: number; t: MembersTimer<string> }[] = [];
  events: MembersEvent<string>[] = [];
  /** `peerReconnected` calls (the overlay hint), in order. */
  reconnected: string[] = [];
  broadcasts = 0;
  send(to: string, msg: MembersMessage<string>): void {
    this.sent.push({ to, msg: received(msg) });
    this.raw.push({ to, msg });
  }
  broadcast(): void {
    this.broadcasts++;
  }
  timer(delay: number, t: MembersTimer<string>): void {
    this.timers.push({ delay, t });
  }
  event(e: MembersEvent<string>): void {
    this.events.push(e);
  }
  peerReconnected(peer: string): void {
    this.reconnected.push(peer);
  }
  take(): Sent[] {
    const s = this.sent;
    this.sent = [];
    this.raw = [];
    return s;
  }
  takeTimers(type?: MembersTimer<string>['type']) {
    const t = this.timers.filter((x) => type === undefined || x.t.type === type);
    this.timers = this.timers.filter((x) => !(type === undefined || x.t.type === type));
    return t;
  }
}

export function config(over: Partial<MembersConfig> = {}): MembersConfig {
  const r = resolveMembersConfig(over);
  if (!r.ok) throw new Error(r.reason);
  return r.config;
}

export const addr = (i: number): string => `10.0.0.${i}:7946`;

/** The addresses of nodes 1..n (`addr`). */
export const addrs = (n: number): string[] => Array.from({ length: n }, (_, i) => addr(i + 1));

/** A machine for `self` whose table already lists `members` alive at incarnation 0. */
export function machine(self: string, members: string[], over: Partial<MembersConfig> = {}, seed = 1) {
  // Piggybacking off unless asked for: the other outputs are then exact and short.
  const cfg = config({ piggybackPerMessage: 0, ...over });
  const store = new MapStore<string>(hashString, cfg.rings);
  for (const m of members) {
    store.set(m, pack(0, 0), 0);
    store.setMeta(m, { name: `node-${m}`, tags: {} });
  }
  const io = new Rec();
  const m = new Members<string>(self, { name: `node-${self}`, tags: {} }, cfg, new Sfc32(seed), io, store);
  return { m, io, store, cfg };
}

/** `machine`, started at 0 with `neighbours` up, its first flush done and its outputs cleared. */
export function started(self: string, members: string[], neighbours: string[], over: Partial<MembersConfig> = {}) {
  const r = machine(self, members, over);
  r.m.start(0);
  for (const p of neighbours) r.m.neighborUp(p, 0);
  r.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  r.io.take();
  r.io.timers = [];
  return r;
}

/** An in-memory network of machines with a virtual clock: timers and messages are events. */
export class MiniNet {
  now = 0;
  private seq = 0;
  private q: { at: number; seq: number; run: () => void }[] = [];
  readonly nodes = new Map<string, { m: Members<string>; store: MapStore<string>; events: MembersEvent<string>[] }>();
  down = new Set<string>();
  /** Pairs that cannot talk ("a|b"). */
  cut = new Set<string>();
  latency = 5;

  add(self: string, known: string[], over: Partial<MembersConfig> = {}, seed = 1): Members<string> {
    const cfg = config(over);
    const store = new MapStore<string>(hashString, cfg.rings);
    for (const k of known) {
      store.set(k, pack(0, 0), 0);
      store.setMeta(k, { name: k, tags: {} });
    }
    const events: MembersEvent<string>[] = [];
    const net = this.self();
    const io: MembersIo<string> = {
      send(to, msg) {
        if (net.down.has(to) || net.cut.has(`${self}|${to}`) || net.cut.has(`${to}|${self}`)) return;
        net.at(net.now + net.latency, () => {
          if (!net.down.has(to)) net.nodes.get(to)?.m.handleMessage(self, msg, net.now);
        });
      },
      broadcast() {},
      timer(d, t) {
        net.at(net.now + d, () => {
          if (!net.down.has(self)) net.nodes.get(self)!.m.handleTimer(t, net.now);
        });
      },
      event(e) {
        events.push(e);
      },
    };
    const m = new Members<string>(self, { name: self, tags: {} }, cfg, new Sfc32(seed), io, store);
    this.nodes.set(self, { m, store, events });
    return m;
  }

  private self(): MiniNet {
    return this;
  }

  at(t: number, run: () => void): void {
    this.q.push({ at: t, seq: this.seq++, run });
  }

  runUntil(t: number): void {
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.q.length; i++) {
        const e = this.q[i];
        if (e.at > t) continue;
        if (best < 0 || e.at < this.q[best].at || (e.at === this.q[best].at && e.seq < this.q[best].seq)) best = i;
      }
      if (best < 0) break;
      const e = this.q.splice(best, 1)[0];
      this.now = e.at;
      e.run();
    }
    this.now = t;
  }
}
