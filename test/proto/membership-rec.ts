// Shared by the HyParView test files: a recording MembershipIo.
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
