/**
 * `node.state`: the key-value state application (`src/proto/state`) on a running node, with
 * its binary codec (`src/wire/state.ts`), hosted by `RumorNode.runApp` on `_app.state`.
 * Library API (docs/library.md, "Key-value state"): `set`, `get`, `delete`, `entries`,
 * `watch(prefix)` (async iterator and events), plus the host inputs `memberUp` / `forgetNode`
 * that the agent wires from membership.
 */
import { EventEmitter } from 'node:events';
import { Sfc32 } from '../proto/rng.js';
import { StateMachine } from '../proto/state/kv.js';
import { DEFAULT_STATE_CONFIG, stringIdBytes, type StateConfig, type StateError, type StateEvent, type StateMessage, type StateTimer } from '../proto/state/types.js';
import { decodeStateMessage, encodeStateMessage } from '../wire/state.js';
import type { AppHandle, AppSpec } from './app-host.js';

/** One key of one node, as the library returns it. */
export interface StateEntry {
  /** Owner (`host:port`). */
  node: string;
  key: string;
  value: Uint8Array;
  version: number;
}

/** A change of a key somewhere (a set, or a delete when `value` is null). */
export interface StateChange {
  node: string;
  key: string;
  value: Uint8Array | null;
  version: number;
  /** Written by this node. */
  local: boolean;
}

/** A write refused by the state's limits (nothing stored changed). `code` says which. */
export class StateLimitError extends Error {
  readonly code: StateError['type'];
  constructor(e: StateError) {
    super(e.message);
    this.name = 'StateLimitError';
    this.code = e.type;
  }
}

/** Most changes a `watch` iterator buffers for a slow consumer (older ones are dropped). */
export const WATCH_BUFFER = 10_000;

/** An async-iterable watch of keys under a prefix; `close()` ends it. */
export interface StateWatch extends AsyncIterable<StateChange> {
  /** Changes dropped because the consumer fell more than `WATCH_BUFFER` behind. */
  readonly dropped: number;
  close(): void;
}

/** What `NodeState` needs of its node. */
export interface StateHostNode {
  readonly address: string;
  runApp<M, T, E>(spec: AppSpec<M, T, E>): AppHandle<M, T>;
}

/** `node.state` (see the module comment). Events: `change` (StateChange). */
export class NodeState extends EventEmitter {
  private readonly handle: AppHandle<StateMessage<string>, StateTimer>;
  private readonly machine: StateMachine<string>;

  constructor(node: StateHostNode, config: StateConfig<string> = DEFAULT_STATE_CONFIG) {
    super();
    let machine: StateMachine<string> | undefined;
    const seed = (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
    this.handle = node.runApp<StateMessage<string>, StateTimer, StateEvent<string>>({
      name: 'state',
      // Anti-entropy (syn, ack, delta) to a random member every few seconds: a datagram when it
      // fits, so that a quiet cluster does not dial (and close) a connection per round.
      datagrams: true,
      codec: { encode: encodeStateMessage, decode: (b) => decodeStateMessage(b, config.limits) },
      create: (self, io) => (machine = new StateMachine<string>(self, Date.now(), config, new Sfc32(seed), io, stringIdBytes)),
      onEvent: (e) => {
        if (e.type === 'update') this.emit('change', { node: e.node, key: e.key, value: e.value, version: e.version, local: e.local } satisfies StateChange);
      },
    });
    this.machine = machine!;
  }

  /** This node's address (the owner id of its keys). */
  get self(): string {
    return this.machine.self;
  }

  /** Set one of this node's keys; returns its new version. Throws `StateLimitError`. */
  set(key: string, value: string | Uint8Array, opts: { ttlMs?: number } = {}): number {
    const v = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    let r: ReturnType<StateMachine<string>['set']> | undefined;
    this.handle.drive((now) => (r = this.machine.set(key, v, now, opts.ttlMs)));
    if (r === undefined) throw new StateLimitError({ type: 'stopped', message: 'state: the node has stopped' });
    if (!r.ok) throw new StateLimitError(r.error);
    return r.version;
  }

  /** Delete one of this node's keys (a tombstone); returns its version (0: it was absent). */
  delete(key: string): number {
    let r: ReturnType<StateMachine<string>['delete']> | undefined;
    this.handle.drive((now) => (r = this.machine.delete(key, now)));
    if (r === undefined || !r.ok) throw new StateLimitError({ type: 'stopped', message: 'state: the node has stopped' });
    return r.version;
  }

  /** The value of `key` at `node` (default: this node), or undefined. */
  get(node: string, key: string): StateEntry | undefined {
    const e = this.machine.get(node, key);
    return e === undefined ? undefined : { node, key, value: e.value!, version: e.version };
  }

  /** Every live key held, of every node (optionally of one node, or under a key prefix).
   *  With `node`, only that owner's keys are visited (the agent's member list asks once per
   *  member: visiting every owner's keys made a list of N members cost O(N²)). */
  entries(filter: { node?: string; prefix?: string } = {}): StateEntry[] {
    const out: StateEntry[] = [];
    const all = filter.node === undefined ? this.machine.entries() : this.machine.entriesOf(filter.node).map((entry) => ({ node: filter.node!, entry }));
    for (const { node, entry } of all) {
      if (filter.prefix !== undefined && !entry.key.startsWith(filter.prefix)) continue;
      out.push({ node, key: entry.key, value: entry.value!, version: entry.version });
    }
    return out.sort((a, b) => (a.node === b.node ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.node < b.node ? -1 : 1));
  }

  /** Changes of keys under `prefix` (every node's), from now on, as an async iterator. */
  watch(prefix = ''): StateWatch {
    const queue: StateChange[] = [];
    let wake: (() => void) | null = null;
    let closed = false;
    let dropped = 0;
    const listener = (c: StateChange): void => {
      if (!c.key.startsWith(prefix)) return;
      if (queue.length >= WATCH_BUFFER) {
        queue.shift();
        dropped++;
      }
      queue.push(c);
      wake?.();
    };
    this.on('change', listener);
    const close = (): void => {
      closed = true;
      this.off('change', listener);
      wake?.();
    };
    return {
      get dropped() {
        return dropped;
      },
      close,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<StateChange>> => {
          while (queue.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
          wake = null;
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          return { value: undefined, done: true };
        },
        return: async (): Promise<IteratorResult<StateChange>> => {
          close();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  /** A member this node may gossip with (membership's join events). */
  memberUp(node: string): void {
    this.handle.drive(() => this.machine.memberUp(node));
  }

  /** Membership reaped `node`: drop its keys here (their deletions are emitted as changes). */
  forgetNode(node: string): void {
    this.handle.drive((now) => this.machine.forgetNode(node, now));
  }

  /** Counters of the machine and of its transport. */
  stats(): { machine: StateMachine<string>['counters']; app: ReturnType<AppHandle<unknown, unknown>['stats']> } {
    return { machine: { ...this.machine.counters }, app: this.handle.stats() };
  }
}
