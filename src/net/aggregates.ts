/**
 * Aggregates on a node (the library's `node.aggregate`, and the agent's): one aggregate machine
 * (`src/proto/aggregate`) per name, hosted by `RumorNode.runApp` on the channel
 * `_app.agg.<name>`, with its binary codec (`src/wire/aggregate.ts`). The member list, when
 * the host knows one (the agent's members machine), is handed to the machines every second so
 * push-sum and the extremes pick uniform targets.
 *
 * Bad input (non-finite value, unknown kind, bad name, a kind different from the one
 * declared) is refused with a one-line reason and changes nothing. The agent adds input
 * commands and its API on top (src/agent/aggregates.ts).
 */
import type { RumorNode } from './rumor-node.js';
import type { AppHandle } from './app-host.js';
import {
  checkAggregateName,
  checkKind,
  checkValue,
  createAggregate,
  DEFAULT_AGGREGATE_CONFIG,
  type AggEvent,
  type AggMsg,
  type AggregateKind,
  type AggregateMachine,
  type AggTimer,
} from '../proto/aggregate/index.js';
import { Sfc32 } from '../proto/rng.js';
import { aggregateCodec } from '../wire/aggregate.js';

/** What an aggregate reports (API, CLI, library events, metrics). */
export interface AggregateEstimate {
  name: string;
  kind: AggregateKind;
  /** Current estimate (null: none yet). */
  value: number | null;
  /** Rounds the estimate has been computed over. */
  rounds: number;
  /** Local disagreement with the estimates last heard (relative; null: none heard). */
  spread: number | null;
  /** This node's input (null: not set). */
  input: number | null;
}

export type AggResult<V> = { ok: true; value: V } | { ok: false; reason: string };

/** Aggregates hosted at most per node (each costs a timer and a few messages per second). */
export const MAX_AGGREGATES = 64;
const MEMBERS_REFRESH_MS = 1000;

interface Entry {
  kind: AggregateKind;
  handle: AppHandle<AggMsg<string>, AggTimer>;
  machine: AggregateMachine<string>;
  last: AggregateEstimate;
}

/** The aggregates of one node. */
export class Aggregates {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: AggregateEstimate) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  protected closed = false;

  constructor(
    private readonly node: RumorNode,
    /** Addresses of the live members, when the host knows them. */
    private readonly members: (() => string[]) | null,
  ) {
    if (members !== null) this.every(MEMBERS_REFRESH_MS, () => this.refreshMembers());
  }

  /** Declare (or find) aggregate `name` of `kind`. */
  declare(name: unknown, kind: unknown = 'avg'): AggResult<AggregateEstimate> {
    const n = checkAggregateName(name);
    if (!n.ok) return n;
    const k = checkKind(kind);
    if (!k.ok) return k;
    const have = this.entries.get(n.value);
    if (have !== undefined) {
      if (have.kind !== k.value) return { ok: false, reason: `aggregate ${n.value}: already declared as ${have.kind}, not ${k.value}` };
      return { ok: true, value: { ...have.last } };
    }
    if (this.closed) return { ok: false, reason: 'aggregate: node is stopping' };
    if (this.entries.size >= MAX_AGGREGATES) return { ok: false, reason: `aggregate: at most ${MAX_AGGREGATES} per node` };
    const rng = new Sfc32((Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0);
    let machine!: AggregateMachine<string>;
    const last: AggregateEstimate = { name: n.value, kind: k.value, value: null, rounds: 0, spread: null, input: null };
    const handle = this.node.runApp<AggMsg<string>, AggTimer, AggEvent>({
      name: `agg.${n.value}`,
      codec: aggregateCodec,
      create: (self, io) => (machine = createAggregate(self, k.value, DEFAULT_AGGREGATE_CONFIG, rng, io)),
      onEvent: (e) => {
        last.value = e.value;
        last.rounds = e.rounds;
        last.spread = e.spread;
        for (const l of this.listeners) l({ ...last });
      },
    });
    this.entries.set(n.value, { kind: k.value, handle, machine, last });
    this.refreshMembers();
    return { ok: true, value: { ...last } };
  }

  /** Set this node's input of aggregate `name` (declared as `kind` if new). */
  set(name: unknown, value: unknown, kind?: unknown): AggResult<AggregateEstimate> {
    const v = checkValue(value);
    if (!v.ok) return v;
    const d = this.declare(name, kind ?? this.entries.get(String(name))?.kind ?? 'avg');
    if (!d.ok) return d;
    const e = this.entries.get(d.value.name)!;
    e.last.input = v.value;
    e.handle.drive((now) => e.machine.set(v.value, now));
    return { ok: true, value: { ...e.last } };
  }

  get(name: string): AggregateEstimate | undefined {
    const e = this.entries.get(name);
    return e === undefined ? undefined : { ...e.last };
  }

  list(): AggregateEstimate[] {
    return [...this.entries.values()].map((e) => ({ ...e.last })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Every estimate as it is made (after each round of each aggregate). */
  subscribe(listener: (e: AggregateEstimate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stop every aggregate (their machines go quiet; the node runs on). */
  close(): void {
    this.closed = true;
    // Wake the async iterators (they end once closed).
    for (const l of this.listeners) l({ name: '', kind: 'avg', value: null, rounds: 0, spread: null, input: null });
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const e of this.entries.values()) e.handle.stop();
    this.listeners.clear();
  }

  private refreshMembers(): void {
    if (this.members === null) return;
    const list = this.members().filter((a) => a !== this.node.address);
    for (const e of this.entries.values()) e.handle.drive(() => e.machine.setMembers(list));
  }

  protected every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }
}

/** The library's handle of one aggregate (`node.aggregate(name, { kind })`). */
export interface AggregateHandle extends AsyncIterable<AggregateEstimate> {
  readonly name: string;
  readonly kind: AggregateKind;
  /** Set this node's input. Throws a `TypeError` on a non-finite value. */
  set(value: number): void;
  /** The latest estimate. */
  estimate(): AggregateEstimate;
  /** Call `fn` with every estimate (after each round); returns the unsubscribe function. */
  on(event: 'estimate', fn: (e: AggregateEstimate) => void): () => void;
}

/** Build the library handle of aggregate `name` on `aggs` (throws a `TypeError` on bad input). */
export function aggregateHandle(aggs: Aggregates, name: string, kind: AggregateKind = 'avg'): AggregateHandle {
  const d = aggs.declare(name, kind);
  if (!d.ok) throw new TypeError(d.reason);
  const n = d.value.name;
  return {
    name: n,
    kind: d.value.kind,
    set(value: number): void {
      const r = aggs.set(n, value);
      if (!r.ok) throw new TypeError(r.reason);
    },
    estimate: () => aggs.get(n)!,
    on(_event: 'estimate', fn: (e: AggregateEstimate) => void): () => void {
      return aggs.subscribe((e) => {
        if (e.name === n) fn(e);
      });
    },
    [Symbol.asyncIterator](): AsyncIterator<AggregateEstimate> {
      const queue: AggregateEstimate[] = [];
      let wake: (() => void) | null = null;
      const off = aggs.subscribe((e) => {
        if (e.name === n) {
          if (queue.length >= 64) queue.shift(); // a slow reader sees the latest estimates
          queue.push(e);
        }
        if (e.name === n || aggs.isClosed) wake?.();
      });
      return {
        async next(): Promise<IteratorResult<AggregateEstimate>> {
          while (queue.length === 0) {
            if (aggs.isClosed) return { done: true, value: undefined };
            await new Promise<void>((r) => (wake = r));
            wake = null;
          }
          return { done: false, value: queue.shift()! };
        },
        async return(): Promise<IteratorResult<AggregateEstimate>> {
          off();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
