/**
 * A delivered batch merged by runs (machine.ts `mergeBatch`, with a store that has `getMany`:
 * the simulator's shared table) must leave exactly what merging its entries one by one leaves:
 * the same table, events (in order), queue (the flushes' batches), piggyback ring (the pings'
 * entries) and timers (sends and timers in the same order). Two identical shared tables, one
 * machine over each — one view with `getMany`, one without (the per-entry path) — fed the
 * same random batches: duplicates
 * within a batch, entries about the machine itself, every status, syncs (whose `failed` over
 * `alive` is a suspicion), skip masks and, now and then, metas (which take the per-entry path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Members, type MembersIo } from '../../../src/proto/members/machine.js';
import { ALIVE, FAILED, LEFT, SUSPECT, pack, type MembersEvent, type MembersMessage, type MembersTimer } from '../../../src/proto/members/types.js';
import { Sfc32 } from '../../../src/proto/rng.js';
import { SharedMembers, type StoreView } from '../../../src/sim/members-store.js';
import { config } from './harness.js';

/** Sends and timers in one list (their order sets the simulator's), events in another (a
 *  host counts or logs them: their order among timers is not observable). */
class Log implements MembersIo<number> {
  out: unknown[] = [];
  events: MembersEvent<number>[] = [];
  send(to: number, msg: MembersMessage<number>): void {
    this.out.push(['send', to, structuredClone(msg)]);
  }
  broadcast(): void {
    this.out.push(['broadcast']);
  }
  timer(delay: number, t: MembersTimer<number>): void {
    this.out.push(['timer', delay, t]);
  }
  event(e: MembersEvent<number>): void {
    this.events.push(e);
  }
}

const N = 80;
const SELF = 1;

function node(batched: boolean): { m: Members<number>; io: Log; view: StoreView; reads: () => number } {
  const cfg = config({});
  const shared = new SharedMembers(N, cfg.rings, pack(0, ALIVE));
  let view: StoreView | undefined;
  for (let x = 0; x < N; x++) {
    const v = shared.register(x);
    if (x === SELF) view = v;
  }
  let reads = 0;
  if (batched) {
    const getMany = view!.getMany.bind(view);
    view!.getMany = (ids, out) => {
      reads++;
      getMany(ids, out);
    };
  } else (view as { getMany?: unknown }).getMany = undefined;
  const io = new Log();
  const m = new Members<number>(SELF, { name: `n${SELF}`, tags: {} }, { ...cfg, incarnation: 0 }, new Sfc32(3), io, view!);
  m.start(0);
  for (let p = 2; p <= 6; p++) m.neighborUp(p, 0);
  return { m, io, view: view!, reads: () => reads };
}

test('merge by runs: the same table, events, flushes, piggybacks and timers as entry by entry', () => {
  const a = node(true);
  const b = node(false);
  const rng = new Sfc32(9);
  const statuses = [ALIVE, SUSPECT, FAILED, FAILED, FAILED, LEFT];
  let now = 100;
  let failedEvents = 0;
  for (let step = 0; step < 600; step++) {
    now += 1 + rng.int(150);
    const k = 1 + rng.int(rng.int(5) === 0 ? 200 : 30);
    const ids = Array.from({ length: k }, () => (rng.int(40) === 0 ? SELF : rng.int(N)));
    // Incarnations rise with the steps: members come back alive, and fail again.
    const states = ids.map(() => pack((step >> 4) + rng.int(2), statuses[rng.int(statuses.length)]));
    const metas = rng.int(10) === 0 ? ids.map((m, i) => (i % 3 === 0 ? { name: `n${m}`, tags: {} } : null)) : null;
    let skip: number[] | null = null;
    if (rng.int(3) === 0) skip = Array.from({ length: (k + 31) >>> 5 }, () => rng.int(0x7fffffff));
    const msg: MembersMessage<number> = { type: 'm-changes', ids, states, metas, sync: rng.int(5) === 0, skip };
    const from = 2 + rng.int(5);
    a.m.handleMessage(from, structuredClone(msg), now);
    b.m.handleMessage(from, structuredClone(msg), now);
    if (rng.int(3) === 0) {
      a.m.handleTimer({ type: 'm-flush', due: 0 }, now);
      b.m.handleTimer({ type: 'm-flush', due: 0 }, now);
    }
    if (rng.int(4) === 0) {
      // A probe tick: its pings carry the piggyback ring's entries.
      a.m.handleTimer({ type: 'm-tick', due: now }, now);
      b.m.handleTimer({ type: 'm-tick', due: now }, now);
    }
    failedEvents += a.io.events.filter((e) => e.type === 'member-failed').length;
    assert.deepEqual(a.io.out, b.io.out, `step ${step}: the same sends and timers in the same order`);
    assert.deepEqual(a.io.events, b.io.events, `step ${step}: the same events in the same order`);
    a.io.out = [];
    b.io.out = [];
    a.io.events = [];
    b.io.events = [];
    for (let x = 0; x < N; x++) assert.equal(a.view.get(x), b.view.get(x), `step ${step}: member ${x}`);
    assert.equal(a.m.currentIncarnation, b.m.currentIncarnation);
  }
  assert.ok(a.reads() > 300, `the batched path ran ${a.reads()} times`);
  assert.ok(failedEvents > 100, `only ${failedEvents} verdicts adopted`);
});
