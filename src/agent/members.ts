/**
 * The agent's membership: the sans-IO machine of `src/proto/members/` (SWIM probes over K
 * observer rings, Lifeguard suspicion and local health, batched dissemination, digest
 * anti-entropy, reconnect, tombstones) hosted on the agent's node by the runtime's application
 * host (`RumorNode.runApp`, src/net/app-host.ts), its messages encoded by `src/wire/members.ts`
 * on the channel `_rumor.m`. This module only adapts: it turns the machine's table (keyed by
 * advertised address, names and tags as metadata) into the `Member` rows the API, the CLI and
 * the handlers show, and the machine's events into agent events. Nothing here decides who is
 * alive.
 *
 * A member can enter the table before its name and tags (learned from a state piggybacked on a
 * ping or listed in a digest: the machine then asks the member for its meta, machine.ts
 * "Names"). Until they come it is listed under its address; its `member-join` is held until
 * then (`JoinHold`), so that handlers, `rumor monitor` and the log never report a join under
 * an address (seen under load in test/e2e/operator.test.ts: `member-join member.name=127.0.0.1:…`).
 * A member that goes down before its meta came gets its held join first, under its address.
 */
import type { RumorNode } from '../net/rumor-node.js';
import type { AppHandle } from '../net/app-host.js';
import {
  MapStore,
  hashString,
  Members,
  STATUS_NAMES,
  incOf,
  resolveMembersConfig,
  statusOf,
  type MemberStatus,
  type MembersConfig,
  type MembersEvent,
  type MembersMessage,
  type MembersTimer,
} from '../proto/members/index.js';
import { Sfc32 } from '../proto/rng.js';
import { MEMBERS_CHANNEL, MEMBERS_LIMITS, decodeMembers, encodeMembers } from '../wire/members.js';
import { VERSION_KEY } from './version.js';

export type { MemberStatus };

/**
 * Ring subjects probed per second in a quiet cluster (the machine's `quietProbes`; its default 2
 * is measured in the simulator). 1 in the agent, as memberlist and Serf probe one member per
 * second: each member is still probed about once a second by its K observers together. When
 * probes travelled over TCP, a ring subject probed less often than the transport's idle close
 * (1 s) cost a fresh connection per probe; measured then, `npm run bench:cluster -- --nodes 20
 * --only rumor` (load 18–20): idle 1,097 B/s and 16.7 packets/s per node with every subject
 * every second (K = 4), 1,450 and 21.6 with 2, 894 and 12.5 with 1. Probes are now UDP
 * datagrams (src/net/app-host.ts), one packet each: with 1, idle 536 B/s and 5.6 packets/s per
 * node (`npm run bench:cluster -- --nodes 20`, load 33–37; Serf in the same run 275 and 2).
 */
export const MEMBERS_QUIET_PROBES = 1;

/**
 * The membership's flush period while members join in a burst (`FlushPacer`): a fleet started
 * at once adds its members to every table within a few seconds, and each flush sends one
 * `m-changes` to every neighbour and ring subject, so a 10 ms period sent most changes in
 * batches of one or two. At 50 agents on 2 cores that flood is what the join waits for (the
 * fleet's CPU, 8–10 s, is the join's wall time twice over); at 20 the join waits for its hops,
 * and each hop of a change waits one flush period, so the burst is a large one:
 * `MEMBERS_BURST_JOINS` within `MEMBERS_BURST_WINDOW_MS`. Measured with `npm run
 * bench:join-cost -- --nodes 50` and `npm run bench:cluster -- --nodes 20`: docs/results.md
 * (h29e): 100 ms for every burst of 3 cut m-changes by ~22 % at N = 50 but lengthened the
 * N = 20 join; 50 ms cut m-changes by ~6 % only.
 */
export const MEMBERS_BURST_FLUSH_MS = 100;
/** A burst: at least this many members joined our table within `MEMBERS_BURST_WINDOW_MS`
 *  (so a fleet of 20 or fewer started at once never makes one). */
export const MEMBERS_BURST_JOINS = 20;
export const MEMBERS_BURST_WINDOW_MS = 2000;

/** Stretches the membership's flush period (the machine's `m-flush` timer) to
 *  `MEMBERS_BURST_FLUSH_MS` while members join in a burst, so that a fleet's joins leave in
 *  fewer, larger batches; any other change (a single join, a leave, a tag update) keeps the
 *  configured period, and a failure verdict does not wait for a flush at all (the machine
 *  sends it at once). */
export class FlushPacer {
  /** When the last `MEMBERS_BURST_JOINS` joins were seen (a ring). */
  private readonly joins: number[] = new Array<number>(MEMBERS_BURST_JOINS).fill(-Infinity);
  private next = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A member joined our table. */
  joined(): void {
    this.joins[this.next] = this.now();
    this.next = (this.next + 1) % this.joins.length;
  }

  /** The flush delay to use instead of the machine's `ms`. */
  delay(ms: number): number {
    // The oldest of the last MEMBERS_BURST_JOINS joins is the slot `next` points at.
    return this.now() - this.joins[this.next] <= MEMBERS_BURST_WINDOW_MS ? Math.max(ms, MEMBERS_BURST_FLUSH_MS) : ms;
  }
}
export { MEMBERS_CHANNEL };

/** One row of the member list (API, CLI, handlers). */
export interface Member {
  name: string;
  addr: string;
  status: MemberStatus;
  incarnation: number;
  tags: Record<string, string>;
  /** When this agent saw the member's current state (ms since the epoch). */
  updatedAt: number;
}

/** A membership event as the agent reports it (`member` as listed right after the change). */
export type AgentMembersEvent =
  | { type: 'member-join' | 'member-update' | 'member-failed' | 'member-leave'; member: Member }
  | { type: 'member-reap'; member: Member }
  | { type: 'member-conflict'; name: string; winner: string; loser: string; self: boolean };

/** What the agent gives its membership. */
export interface AgentMembersOptions {
  name: string;
  tags: Record<string, string>;
  /** First incarnation (the agent passes one above any previous run's, see agent.ts). */
  incarnation: number;
  /** Machine configuration over `DEFAULT_MEMBERS_CONFIG`. */
  config: Partial<MembersConfig>;
  seed: number;
  /** This agent's versions (`versionText`), carried in its membership meta as the reserved tag
   *  `VERSION_KEY`, hidden from the rows (`row`); left out when the user's tags fill the meta. */
  version?: string;
  onEvent(e: AgentMembersEvent): void;
}

/** A `MapStore` that says when a member's meta is first recorded. */
class NamedStore extends MapStore<string> {
  onNamed: (m: string) => void = () => {};

  override setMeta(m: string, meta: Parameters<MapStore<string>['setMeta']>[1]): void {
    const first = this.meta(m) === undefined;
    super.setMeta(m, meta);
    if (first && this.meta(m) !== undefined) this.onNamed(m);
  }
}

/**
 * Holds the `member-join` of a member whose meta (name, tags) has not come yet, and releases it
 * (`emitJoin`) when it comes (`named`); any later event of a held member releases the join
 * first. Other events pass in the machine's order.
 */
export class JoinHold {
  private readonly held = new Set<string>();

  constructor(
    private readonly hasName: (addr: string) => boolean,
    private readonly emitJoin: (addr: string) => void,
  ) {}

  /** Whether to report event `type` of `addr` now (false: a join, held). */
  pass(type: MembersEvent<string>['type'], addr: string): boolean {
    if (type === 'member-join' && !this.hasName(addr)) {
      this.held.add(addr);
      return false;
    }
    if (this.held.delete(addr)) this.emitJoin(addr);
    return true;
  }

  /** `addr`'s meta was recorded. */
  named(addr: string): void {
    if (this.held.delete(addr)) this.emitJoin(addr);
  }

  /** Members whose join is held (tests). */
  get size(): number {
    return this.held.size;
  }
}

/** The membership machine running on `node` (see the module comment). */
export class AgentMembers {
  private readonly handle: AppHandle<MembersMessage<string>, MembersTimer<string>>;
  private readonly machine: Members<string>;
  private readonly store: NamedStore;
  private readonly joins: JoinHold;
  /** Whether our meta carries our versions (`AgentMembersOptions.version`). */
  readonly carriesVersion: boolean;
  private readonly sentByType: Record<string, number> = {};
  /** The last message the codec encoded and its bytes (a flush's batch, sent to several links). */
  private lastEncoded: { msg: MembersMessage<string>; data: Uint8Array } | undefined = undefined;
  private readonly receivedByType: Record<string, number> = {};
  private readonly pacer = new FlushPacer();

  constructor(
    private readonly node: RumorNode,
    private readonly o: AgentMembersOptions,
  ) {
    const cfg = resolveMembersConfig({ quietProbes: MEMBERS_QUIET_PROBES, ...o.config, incarnation: o.incarnation });
    if (!cfg.ok) throw new Error(`membership: ${cfg.reason}`);
    this.store = new NamedStore(hashString, cfg.config.rings);
    this.joins = new JoinHold(
      (m) => this.store.meta(m) !== undefined,
      (m) => this.o.onEvent({ type: 'member-join', member: this.row(m) }),
    );
    this.store.onNamed = (m) => this.joins.named(m);
    this.carriesVersion = o.version !== undefined && Object.keys(o.tags).length < MEMBERS_LIMITS.maxTags;
    const meta = { name: o.name, tags: this.carriesVersion ? { ...o.tags, [VERSION_KEY]: o.version! } : o.tags };
    const rng = new Sfc32(o.seed);
    this.handle = node.runApp<MembersMessage<string>, MembersTimer<string>, MembersEvent<string>>({
      name: 'members',
      channel: MEMBERS_CHANNEL,
      codec: {
        encode: (m) => {
          this.sentByType[m.type] = (this.sentByType[m.type] ?? 0) + 1;
          // Anti-entropy answers (a whole table to a joiner, a digest's reply), apart from the flood.
          if (m.type === 'm-changes' && m.sync) this.sentByType['m-changes.sync'] = (this.sentByType['m-changes.sync'] ?? 0) + 1;
          // A flush gives every link that gets the whole batch the same message object
          // (dissemination.ts `sendBatch`), and the machine never changes a message it sent:
          // encode it once (the frame and the datagram copy the bytes).
          if (m === this.lastEncoded?.msg) return { ok: true, value: this.lastEncoded.data };
          const r = encodeMembers(m);
          if (!r.ok) return r;
          this.lastEncoded = { msg: m, data: r.data };
          return { ok: true, value: r.data };
        },
        decode: (b) => {
          const r = decodeMembers(b);
          if (r.ok) this.receivedByType[r.msg.type] = (this.receivedByType[r.msg.type] ?? 0) + 1;
          return r.ok ? { ok: true, value: r.msg } : r;
        },
      },
      // The flush timer goes through the pacer (see FlushPacer).
      create: (self, io) => new Members<string>(self, meta, cfg.config, rng, { ...io, timer: (ms, t) => io.timer(t.type === 'm-flush' ? this.pacer.delay(ms) : ms, t) }, this.store),
      onEvent: (e) => this.onEvent(e),
    });
    this.machine = this.handle.app as Members<string>;
  }

  /** The member list, sorted by address. */
  members(): Member[] {
    const out: Member[] = [];
    this.store.forEach((m) => out.push(this.row(m)));
    return out.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  /** This agent's own row. */
  self(): Member {
    return this.row(this.node.address);
  }

  /** Current incarnation (persisted by the agent). */
  get incarnation(): number {
    return this.machine.currentIncarnation;
  }

  /** Lifeguard local health score (0: healthy). */
  get health(): number {
    return this.machine.health;
  }

  /** The membership's messages by type (`m-ping`, `m-changes`, ...), sent and received since
   *  the start (`GET /v1/info`, `membership`; bench/join-cost.ts adds them up over a fleet). */
  traffic(): { sent: Record<string, number>; received: Record<string, number> } {
    return { sent: { ...this.sentByType }, received: { ...this.receivedByType } };
  }

  /** Frames dropped by the codec, per peer, and other host counters. */
  stats(): ReturnType<AppHandle<unknown, unknown>['stats']> {
    return this.handle.stats();
  }

  /** Serf's force-leave of `addr` on this table (the machine's `forceLeave`): `left`, or with
   *  `prune` removed at once; refused for an up member, ourselves or an unknown one. */
  forceLeave(addr: string, prune: boolean): ReturnType<Members<string>['forceLeave']> {
    let r: ReturnType<Members<string>['forceLeave']> = { ok: false, reason: 'unknown' };
    this.handle.drive((now) => (r = this.machine.forceLeave(addr, prune, now)));
    return r;
  }

  /** Leave: the machine marks itself `left` and sends it to its neighbours; then it is inert. */
  leave(): void {
    this.handle.stop();
  }

  /** Stop without telling anyone (the node is closing: peers will see a failure). */
  close(): void {
    this.handle.stop(false);
  }

  /** The versions member `addr` carries in its meta (`versionText`), if it does. */
  versionText(addr: string): string | undefined {
    return this.store.meta(addr)?.tags[VERSION_KEY];
  }

  private row(addr: string): Member {
    const st = this.store.get(addr);
    const meta = this.store.meta(addr);
    const tags = { ...(meta?.tags ?? {}) };
    delete tags[VERSION_KEY];
    return {
      name: meta?.name ?? addr,
      addr,
      status: st < 0 ? 'left' : STATUS_NAMES[statusOf(st)],
      incarnation: st < 0 ? 0 : incOf(st),
      tags,
      updatedAt: st < 0 ? Date.now() : this.store.since(addr),
    };
  }

  private onEvent(e: MembersEvent<string>): void {
    if (e.type === 'member-join') this.pacer.joined();
    switch (e.type) {
      case 'member-conflict':
        return this.o.onEvent(e);
      case 'member-reap':
        if (this.joins.pass(e.type, e.member)) this.o.onEvent({ type: 'member-reap', member: { ...this.row(e.member), status: e.status } });
        return;
      default:
        if (this.joins.pass(e.type, e.member)) this.o.onEvent({ type: e.type, member: this.row(e.member) });
    }
  }
}
