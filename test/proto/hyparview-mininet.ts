// Shared by the HyParView test files: a synchronous message queue between seeded HyParView
// instances (zero latency; timers in virtual time), with a count of active-view changes.
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView, type HyParViewConfig } from '../../src/proto/hyparview.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { ViewStore } from '../../src/proto/hyparview-views.js';
import type { MembershipIo } from '../../src/proto/machine.js';
import type { HyParViewMessage, HyParViewTimer, Message, Timer } from '../../src/proto/types.js';

type Ev = { kind: 'msg'; from: number; to: number; msg: Message<number> } | { kind: 'down'; at: number; peer: number };

/** Seeded HyParView nodes 0..n-1 over an in-memory network (see the file comment). */
export class MiniNet {
  readonly nodes: HyParView<number>[] = [];
  readonly alive: boolean[] = [];
  private queue: Ev[] = [];
  private timers: { at: number; seq: number; node: number; t: Timer<number> }[] = [];
  private tseq = 0;
  now = 0;
  /** neighborDown events so far, all nodes together. */
  downs = 0;
  /** The last neighborDown events: [time, node, peer, reason]. */
  downLog: [number, number, number, string][] = [];

  /** @param views where the machines keep their views (default: arrays of their own; a
   *  `RowViews` of at least `n` rows: node i's row i, as in the simulator). */
  constructor(n: number, seed: number, cfg: HyParViewConfig = DEFAULT_HYPARVIEW_CONFIG, views?: ViewStore<number>) {
    const root = new Sfc32(seed);
    for (let i = 0; i < n; i++) {
      this.alive.push(true);
      this.nodes.push(new HyParView<number>(i, cfg, root.fork(), this.ioFor(i), views, i));
    }
  }

  private ioFor(me: number): MembershipIo<number> {
    return {
      send: (to, msg) => {
        if (this.alive[to]) this.queue.push({ kind: 'msg', from: me, to, msg });
        else this.queue.push({ kind: 'down', at: me, peer: to });
      },
      connect: (peer) => {
        if (!this.alive[peer]) this.queue.push({ kind: 'down', at: me, peer });
      },
      disconnect: () => {},
      timer: (delay, t) => {
        this.timers.push({ at: this.now + delay, seq: this.tseq++, node: me, t });
      },
      neighborUp: () => {},
      neighborDown: (peer, reason) => {
        this.downs++;
        if (this.downLog.length >= 20) this.downLog.shift();
        this.downLog.push([this.now, me, peer, reason]);
      },
    };
  }

  drain(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e.kind === 'msg') {
        if (this.alive[e.to]) this.nodes[e.to].handleMessage(e.from, e.msg as HyParViewMessage<number>, this.now);
        else if (this.alive[e.from]) this.nodes[e.from].handleLinkDown(e.to, this.now);
      } else if (this.alive[e.at]) this.nodes[e.at].handleLinkDown(e.peer, this.now);
      assert.ok(i < 1_000_000, 'message storm');
    }
    this.queue = [];
  }

  runUntil(t: number): void {
    this.drain();
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.timers.length; i++) {
        const x = this.timers[i];
        if (best < 0 || x.at < this.timers[best].at || (x.at === this.timers[best].at && x.seq < this.timers[best].seq)) best = i;
      }
      if (best < 0 || this.timers[best].at > t) break;
      const ev = this.timers[best];
      this.timers[best] = this.timers[this.timers.length - 1];
      this.timers.pop();
      this.now = ev.at;
      if (this.alive[ev.node]) this.nodes[ev.node].handleTimer(ev.t as HyParViewTimer<number>, this.now);
      this.drain();
    }
    this.now = t;
  }

  kill(x: number): void {
    this.alive[x] = false;
    for (let i = 0; i < this.nodes.length; i++) {
      if (this.alive[i] && this.nodes[i].activeView().includes(x)) this.queue.push({ kind: 'down', at: i, peer: x });
    }
  }

  /** Asserts symmetry and size bounds among live nodes; returns the mean active-view size. */
  check(maxSize: number): number {
    let sum = 0;
    let live = 0;
    for (let i = 0; i < this.nodes.length; i++) {
      if (!this.alive[i]) continue;
      live++;
      const av = this.nodes[i].activeView();
      sum += av.length;
      assert.ok(av.length >= 1, `node ${i} has an empty active view`);
      assert.ok(av.length <= maxSize, `node ${i} active view too large: ${av.length}`);
      assert.equal(new Set(av).size, av.length, `node ${i} has duplicates`);
      for (const p of av) {
        assert.ok(p !== i, `node ${i} has itself`);
        assert.ok(this.alive[p], `node ${i} keeps dead node ${p}`);
        assert.ok(this.nodes[p].activeView().includes(i), `asymmetric: ${i} has ${p}, not the reverse`);
      }
      for (const p of this.nodes[i].passiveView()) assert.ok(p !== i && !av.includes(p));
    }
    return sum / live;
  }
}

