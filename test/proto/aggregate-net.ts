/** A tiny synchronous driver for the aggregate machines' unit tests: messages are queued and
 *  delivered one at a time (or dropped) under the test's control; rounds are fired by hand. */
import type { AppIo } from '../../src/proto/app.js';
import { createAggregate, type AggEvent, type AggMsg, type AggregateConfig, type AggregateKind, type AggregateMachine, type AggregateProtocol, type AggTimer } from '../../src/proto/aggregate/index.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { Rng } from '../../src/proto/types.js';

export interface InFlight {
  from: number;
  to: number;
  msg: AggMsg<number>;
}

/** An Rng that always picks index 0 (for exact hand-computed outputs). */
export const firstRng: Rng = { next: () => 0, int: () => 0 };

export class Net {
  readonly nodes = new Map<number, AggregateMachine<number>>();
  readonly due = new Map<number, number>();
  readonly events = new Map<number, AggEvent[]>();
  inflight: InFlight[] = [];
  now = 0;

  constructor(
    readonly kind: AggregateKind,
    readonly config: AggregateConfig,
    readonly protocol?: AggregateProtocol,
    readonly rng: (i: number) => Rng = (i) => new Sfc32(1000 + i),
    readonly membersRun = true,
  ) {}

  add(id: number, neighbors: number[] = [], value: number | null = null): AggregateMachine<number> {
    const io: AppIo<number, AggMsg<number>, AggTimer, AggEvent> = {
      send: (to, msg) => this.inflight.push({ from: id, to, msg }),
      broadcast: () => {
        throw new Error('aggregates never broadcast');
      },
      timer: (_d, t) => this.due.set(id, t.due),
      event: (e) => {
        const l = this.events.get(id) ?? [];
        l.push(e);
        this.events.set(id, l);
      },
    };
    const m = createAggregate(id, this.kind, this.config, this.rng(id), io, this.protocol);
    this.nodes.set(id, m);
    for (const p of neighbors) m.neighborUp(p, this.now);
    // Every node of these tests runs the aggregate: push to the neighbours as members.
    if (this.membersRun) m.setMembers(neighbors, true);
    if (value !== null) m.set(value, this.now);
    m.start(this.now);
    return m;
  }

  /** Fire node `id`'s pending round timer. */
  round(id: number): void {
    const due = this.due.get(id)!;
    this.now = Math.max(this.now, due);
    this.nodes.get(id)!.handleTimer({ type: 'round', due }, this.now);
  }

  /** Deliver (or drop) the oldest message in flight. */
  deliverOne(drop = false): InFlight | undefined {
    const m = this.inflight.shift();
    if (m !== undefined && !drop) this.nodes.get(m.to)?.handleMessage(m.from, m.msg, this.now);
    return m;
  }

  deliverAll(dropIf: (m: InFlight) => boolean = () => false): void {
    while (this.inflight.length > 0) this.deliverOne(dropIf(this.inflight[0]));
  }

  /** One round at every node (in id order), every message delivered after each. */
  roundAll(dropIf?: (m: InFlight) => boolean): void {
    for (const id of [...this.nodes.keys()]) {
      this.round(id);
      this.deliverAll(dropIf);
    }
  }
}

/** A ring plus chords: node i's neighbours (symmetric). */
export function ringGraph(n: number): number[][] {
  const adj: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  const link = (a: number, b: number): void => {
    if (a === b) return;
    adj[a].add(b);
    adj[b].add(a);
  };
  for (let i = 0; i < n; i++) {
    link(i, (i + 1) % n);
    link(i, (i + 7) % n);
  }
  return adj.map((s) => [...s].sort((a, b) => a - b));
}
