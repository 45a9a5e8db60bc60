/**
 * The membership's piggyback buffer (SWIM §4.4: recent changes ride on pings and acks): a ring
 * of `PIGGY_CAP` slots, the oldest overwritten first, read round robin, each change dropped
 * after it was sent `limit` times (λ·log n in the paper; `retransmitMult` × ⌈log10(n + 1)⌉ as
 * memberlist, computed by the caller). Moved out of dissemination.ts unchanged.
 */

/** Slots of the piggyback buffer. */
const PIGGY_CAP = 64;
const NONE: { ids: never[]; states: number[] } = Object.freeze({ ids: [], states: [] }) as unknown as { ids: never[]; states: number[] };

export class PiggybackRing<P> {
  private readonly ids: P[] = [];
  private readonly states: number[] = [];
  private readonly sent: number[] = [];
  private write = 0;
  private read = 0;

  /** Remember that member `m` is now `state`. */
  add(m: P, state: number): void {
    if (this.ids.length < PIGGY_CAP) {
      this.ids.push(m);
      this.states.push(state);
      this.sent.push(0);
      return;
    }
    const i = this.write;
    this.write = (i + 1) % PIGGY_CAP;
    this.ids[i] = m;
    this.states[i] = state;
    this.sent[i] = 0;
  }

  /** True when nothing is buffered (the caller then skips computing `limit`). */
  empty(): boolean {
    return this.ids.length === 0;
  }

  /** Up to `perMessage` changes for the next ping or ack; each is dropped once sent `limit` times. */
  take(perMessage: number, limit: number): { ids: P[]; states: number[] } {
    const n = this.ids.length;
    if (n === 0) return NONE as { ids: P[]; states: number[] };
    const ids: P[] = [];
    const states: number[] = [];
    const k = Math.min(n, perMessage);
    for (let j = 0; j < k; j++) {
      const i = this.read % this.ids.length;
      ids.push(this.ids[i]);
      states.push(this.states[i]);
      if (++this.sent[i] >= limit) this.remove(i);
      else this.read = i + 1;
      if (this.ids.length === 0) break;
    }
    return { ids, states };
  }

  private remove(i: number): void {
    const last = this.ids.length - 1;
    this.ids[i] = this.ids[last];
    this.states[i] = this.states[last];
    this.sent[i] = this.sent[last];
    this.ids.pop();
    this.states.pop();
    this.sent.pop();
    if (this.write > this.ids.length) this.write = 0;
    this.read = i;
  }
}
