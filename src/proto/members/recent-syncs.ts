/**
 * `linkSyncOnce` (dissemination.ts): which peers' `m-sync` this node answered lately, and when.
 * A new link whose other end opened a sync round with us in the last few probe periods is not
 * synced again from our side: that round reconciled both tables. A ring of the last
 * `RECENT_SYNCS` senders (links come up a few at a time, and the check looks at most three probe
 * periods back, where a join burst brings a node a few new links a second).
 */
export const RECENT_SYNCS = 16;

export class RecentSyncs<P> {
  private readonly from: (P | undefined)[] = new Array<P | undefined>(RECENT_SYNCS);
  private readonly at: number[] = new Array<number>(RECENT_SYNCS).fill(-Infinity);
  private next = 0;

  /** We answered an `m-sync` of `peer` at `now`. */
  note(peer: P, now: number): void {
    this.from[this.next] = peer;
    this.at[this.next] = now;
    this.next = (this.next + 1) % RECENT_SYNCS;
  }

  /** Whether we answered an `m-sync` of `peer` less than `windowMs` before `now`. */
  within(peer: P, now: number, windowMs: number): boolean {
    for (let i = 0; i < RECENT_SYNCS; i++) if (this.from[i] === peer && now - this.at[i] < windowMs) return true;
    return false;
  }
}
