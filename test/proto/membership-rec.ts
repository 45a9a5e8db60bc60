// Shared by the HyParView test files: a recording MembershipIo and view set-up helpers.
import type { HyParView } from '../../src/proto/hyparview.js';
import type { MembershipIo } from '../../src/proto/machine.js';
import type { DownReason, Message, Rng, Timer } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

export type Out = unknown[];

/** Records every output of a membership machine in order. */
export class Rec implements MembershipIo<number> {
  log: Out[] = [];
  send(to: number, msg: Message<number>): void {
    this.log.push(['send', to, msg]);
  }
  connect(peer: number): void {
    this.log.push(['connect', peer]);
  }
  disconnect(peer: number): void {
    this.log.push(['disconnect', peer]);
  }
  timer(delayMs: number, t: Timer<number>): void {
    this.log.push(['timer', delayMs, t]);
  }
  neighborUp(peer: number): void {
    this.log.push(['up', peer]);
  }
  neighborDown(peer: number, reason: DownReason): void {
    this.log.push(['down', peer, reason]);
  }
  take(): Out[] {
    const l = this.log;
    this.log = [];
    return l;
  }
}

const HIGH_NEIGHBOR = { type: 'neighbor', priority: 'high' } as const;

/** Give `hv` the active view `peers` (each sends a high-priority NEIGHBOR). */
export function withActive(hv: HyParView<number>, io: Rec, peers: number[]): void {
  for (const p of peers) hv.handleMessage(p, HIGH_NEIGHBOR, 0);
  io.take();
}

/** Give `hv` passive entries [origin, ...rest] through an accepted SHUFFLE from `origin`. */
export function withPassive(hv: HyParView<number>, io: Rec, origin: number, rest: number[]): void {
  hv.handleMessage(origin, { type: 'shuffle', origin, peers: rest, ttl: 1 }, 0);
  io.take();
}

/** Seeded Sfc32 that remembers its draws, so expected outputs can be derived from them. */
export class TapRng implements Rng {
  private readonly inner: Sfc32;
  ints: number[] = [];
  nexts: number[] = [];
  constructor(seed: number) {
    this.inner = new Sfc32(seed);
  }
  next(): number {
    const v = this.inner.next();
    this.nexts.push(v);
    return v;
  }
  int(n: number): number {
    const v = Math.floor(this.next() * n);
    this.ints.push(v);
    return v;
  }
  /** The last `next()` drawn. */
  last(): number {
    return this.nexts[this.nexts.length - 1];
  }
}
