// Shared fixtures of the Plumtree unit tests (plumtree.test.ts, plumtree-links.test.ts):
// a recording fake io, a small config and node 0 with its neighbours set up.
import { Plumtree, DEFAULT_PLUMTREE_CONFIG, type PlumtreeConfig } from '../../src/proto/plumtree.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage, BroadcastTimer, MsgId } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

// ---------------------------------------------------------------------------------------
// Recording fake io.
// ---------------------------------------------------------------------------------------

export type Out =
  | { out: 'send'; to: number; msg: BroadcastMessage }
  | { out: 'timer'; delay: number; t: BroadcastTimer }
  | { out: 'deliver'; id: MsgId; round: number; from: number | null };

export function recorder(): { io: BroadcastIo<number>; take(): Out[] } {
  let log: Out[] = [];
  const io: BroadcastIo<number> = {
    send: (to, msg) => log.push({ out: 'send', to, msg: structuredClone(msg) }),
    timer: (delay, t) => log.push({ out: 'timer', delay, t }),
    deliver: (id, _payload, round, from) => log.push({ out: 'deliver', id, round, from }),
  };
  return {
    io,
    take() {
      const r = log;
      log = [];
      return r;
    },
  };
}

export const CFG: PlumtreeConfig = {
  ...DEFAULT_PLUMTREE_CONFIG,
  ihaveTimeoutMs: 100,
  graftTimeoutMs: 50,
  ihaveFlushMs: 5,
  maxIHaveBatch: 3,
  optimizationThreshold: 7,
  cacheTtlMs: 1000,
  seenTtlMs: 2000,
  maxCacheEntries: 100,
  syncOnNeighborUp: false,
};

export const PL = new Uint8Array([7]);
export const gossip = (id: string, round: number): BroadcastMessage => ({ type: 'gossip', id, round, payload: PL });
export const send = (to: number, msg: BroadcastMessage): Out => ({ out: 'send', to, msg });
export const GC = (delay: number): Out => ({ out: 'timer', delay, t: { type: 'pt-cache-gc' } });
export const MISS = (delay: number, id: string, due: number): Out => ({ out: 'timer', delay, t: { type: 'pt-missing', id, due } });
export const MISSING = (id: string, due: number): BroadcastTimer => ({ type: 'pt-missing', id, due });
export const FLUSH: Out = { out: 'timer', delay: 5, t: { type: 'pt-ihave-flush' } };

/** Node 0 with neighbours `peers` (all eager), then `lazy` pruned to lazy. */
export function node(peers: number[], lazy: number[] = [], cfg: PlumtreeConfig = CFG) {
  const r = recorder();
  const pt = new Plumtree<number>(0, cfg, new Sfc32(1), r.io);
  for (const p of peers) pt.neighborUp(p, -1000); // links up long before t = 0: not fresh (see `onIHave`)
  for (const p of lazy) pt.handleMessage(p, { type: 'prune' }, 0);
  r.take();
  return { pt, take: r.take };
}

// ---------------------------------------------------------------------------------------
// Unit tests: exact outputs.
