// Shared by the HyParView test files: a recording MembershipIo and view set-up helpers.
import type { HyParView } from '../../src/proto/hyparview.js';
import type { MembershipIo } from '../../src/proto/machine.js';
import type { DownReason, Message, Timer } from '../../src/proto/types.js';

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
