/**
 * Coalescing of events before they reach handler scripts, with Serf's semantics
 * (hashicorp/serf `serf/coalesce.go`, `coalesce_member.go`, `coalesce_user.go`): events are
 * held from the first one until the *coalesce period* has passed, or until none came for the
 * *quiescent period*, whichever is first; then what is left is flushed.
 *
 * - Member events: per member only the latest event is kept; at the flush one event per type
 *   is dispatched with all its members (a handler gets one line per member on stdin). A member
 *   whose latest event has the type of the last one flushed for it is not dispatched again.
 * - User events: per event name only the events of the highest Lamport time are kept (Serf
 *   keeps all of that time); older ones of the name are dropped.
 *
 * Both are off by default (`memberCoalesceMs`, `userCoalesceMs` = 0: every event is
 * dispatched at once). When on, the quiescent period is Serf's agent's, 1 s, or the coalesce
 * period when that is shorter. The monitor stream is never coalesced.
 */
import type { AgentEvent } from './handlers.js';
import type { Member } from './members.js';
import { EventBuffer } from './user-event.js';

/** Serf agent's `QuiescentPeriod` / `UserQuiescentPeriod` (serf command/agent/command.go). */
export const QUIESCENT_MS = 1000;

type MemberEvent = Extract<AgentEvent, { members: Member[] }>;
type UserEvent = Extract<AgentEvent, { type: 'user' }>;

/** One window: first event → flush after `periodMs`, or after `quiescentMs` without events. */
class Window {
  private first: NodeJS.Timeout | null = null;
  private quiet: NodeJS.Timeout | null = null;

  constructor(
    private readonly periodMs: number,
    private readonly flush: () => void,
  ) {}

  touch(): void {
    if (this.first === null) this.first = setTimeout(() => this.fire(), this.periodMs);
    if (this.quiet !== null) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.fire(), Math.min(QUIESCENT_MS, this.periodMs));
  }

  private fire(): void {
    this.close();
    this.flush();
  }

  close(): void {
    if (this.first !== null) clearTimeout(this.first);
    if (this.quiet !== null) clearTimeout(this.quiet);
    this.first = this.quiet = null;
  }
}

/** Member events, coalesced per member (see the module comment). */
export class MemberCoalescer {
  private readonly latest = new Map<string, MemberEvent['type']>();
  private readonly members = new Map<string, Member>();
  private readonly lastFlushed = new Map<string, MemberEvent['type']>();
  private readonly window: Window;
  /** Events absorbed by coalescing (for metrics and tests). */
  coalesced = 0;

  constructor(periodMs: number, private readonly dispatch: (e: MemberEvent) => void) {
    this.window = new Window(periodMs, () => this.flush());
  }

  push(e: MemberEvent): void {
    for (const m of e.members) {
      if (this.latest.has(m.addr)) this.coalesced++;
      this.latest.set(m.addr, e.type);
      this.members.set(m.addr, m);
    }
    this.window.touch();
  }

  private flush(): void {
    const byType = new Map<MemberEvent['type'], Member[]>();
    for (const [addr, type] of this.latest) {
      if (this.lastFlushed.get(addr) === type) {
        this.coalesced++;
        continue;
      }
      this.lastFlushed.set(addr, type);
      const list = byType.get(type) ?? [];
      list.push(this.members.get(addr)!);
      byType.set(type, list);
    }
    this.latest.clear();
    this.members.clear();
    for (const [type, members] of byType) this.dispatch({ type, members });
  }

  close(): void {
    this.window.close();
  }
}

/** User events, coalesced by name (see the module comment). */
export class UserCoalescer {
  private readonly byName = new Map<string, { ltime: number; events: UserEvent[] }>();
  private readonly window: Window;
  coalesced = 0;

  constructor(periodMs: number, private readonly dispatch: (e: UserEvent) => void) {
    this.window = new Window(periodMs, () => this.flush());
  }

  push(e: UserEvent): void {
    const cur = this.byName.get(e.name);
    if (cur === undefined || e.ltime > cur.ltime) {
      if (cur !== undefined) this.coalesced += cur.events.length;
      this.byName.set(e.name, { ltime: e.ltime, events: [e] });
    } else if (e.ltime === cur.ltime) cur.events.push(e);
    else this.coalesced++;
    this.window.touch();
  }

  private flush(): void {
    const all = [...this.byName.values()].flatMap((x) => x.events);
    this.byName.clear();
    for (const e of all) this.dispatch(e);
  }

  close(): void {
    this.window.close();
  }
}

/** What reaches the handlers, in order: the Lamport buffer drops duplicate and stale user
 *  events, then the optional coalescers hold and merge, then `dispatch`. */
export class EventPipeline {
  readonly buffer = new EventBuffer();
  private readonly member: MemberCoalescer | null;
  private readonly user: UserCoalescer | null;
  /** User events refused by the buffer. */
  readonly dropped = { duplicate: 0, stale: 0 };

  constructor(o: { memberCoalesceMs: number; userCoalesceMs: number; dispatch: (e: AgentEvent) => void }) {
    this.member = o.memberCoalesceMs > 0 ? new MemberCoalescer(o.memberCoalesceMs, o.dispatch) : null;
    this.user = o.userCoalesceMs > 0 ? new UserCoalescer(o.userCoalesceMs, o.dispatch) : null;
    this.dispatch = o.dispatch;
  }

  private readonly dispatch: (e: AgentEvent) => void;

  /** Is this user event new (not a duplicate, not stale)? Remembers it when it is. */
  admit(name: string, payload: Uint8Array, ltime: number): boolean {
    const v = this.buffer.admit(name, payload, ltime);
    if (v !== 'new') this.dropped[v]++;
    return v === 'new';
  }

  /** An event for the handlers (user events already admitted). */
  push(e: AgentEvent): void {
    if (e.type === 'user' && this.user !== null) this.user.push(e);
    else if (e.type !== 'user' && e.type !== 'query' && this.member !== null) this.member.push(e);
    else this.dispatch(e);
  }

  /** Counters for `/v1/info`. */
  stats(): { duplicate: number; stale: number; coalescedMember: number; coalescedUser: number } {
    return { ...this.dropped, coalescedMember: this.member?.coalesced ?? 0, coalescedUser: this.user?.coalesced ?? 0 };
  }

  close(): void {
    this.member?.close();
    this.user?.close();
  }
}
