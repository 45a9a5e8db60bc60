// Seeded simulation of the query application (src/proto/query) on 300 nodes, hosted by the
// simulator unchanged: a query to every matching member ends as soon as all answered (well
// before its timeout); members the asker still believes alive but that crashed are reported
// missing at the timeout; under loss the relay factor recovers responses; same seed, same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/sim/simulation.js';
import type { AppSpec } from '../../src/sim/app-host.js';
import { QueryMachine } from '../../src/proto/query/machine.js';
import { DEFAULT_QUERY_CONFIG, queryMessageSize, type QueryEvent, type QueryMessage, type QuerySummary, type QueryTimer } from '../../src/proto/query/types.js';

const N = 300;
const SEED = Number(process.env.SEED ?? 14);
const role = (i: number): string => (i % 3 === 0 ? 'db' : 'web');

interface Run {
  summary: QuerySummary<number>;
  responses: number;
  /** The asker's counters. */
  counters: QueryMachine<number>['counters'];
  /** Queries the other nodes took from a direct copy. */
  receivedDirect: number;
}

/** `small`: ask only the first 30 db members by name (the direct path's size); `lossFor`: the
 *  loss rate holds for this many ms after the ask (the query's datagrams), then none. */
function run(opts: { seed: number; loss?: number; relayFactor?: number; crash?: number[]; small?: boolean; lossFor?: number }): Run {
  const machines: QueryMachine<number>[] = [];
  let done: QuerySummary<number> | null = null;
  let responses = 0;
  const ref: { sim?: Simulation } = {};
  const spec: AppSpec<QueryMessage<number>, QueryTimer, QueryEvent<number>> = {
    name: 'query',
    create: (self, rng, io) =>
      (machines[self] = new QueryMachine<number>(self, DEFAULT_QUERY_CONFIG, rng, io, {
        self: () => ({ name: `n${self}`, tags: { role: role(self) } }),
        relayPeers: () => ref.sim!.liveNodes(),
        key: String,
      })),
    size: (m) => queryMessageSize(m, () => 16),
    onEvent: (node, e, now) => {
      // A handler that takes 20 ms (virtual) and prints the node's name.
      if (e.type === 'query') ref.sim!.at(now + 20, () => machines[node].respond(e.key, new TextEncoder().encode(`n${node}`), '', ref.sim!.now));
      else if (e.type === 'query-response') responses++;
      else if (e.type === 'query-done') done = e.summary;
    },
  };
  const sim = (ref.sim = new Simulation({ nodes: N, seed: opts.seed, apps: [spec], network: { loss: 0 } }));
  sim.joinAll(5);
  sim.runFor(10_000);
  const dbs = [...Array(N).keys()].filter((i) => role(i) === 'db').slice(0, opts.small === true ? 30 : undefined);
  if (opts.crash !== undefined) sim.crash(opts.crash, { silent: true });
  sim.setLoss(opts.loss ?? 0);
  const nodes = opts.small === true ? dbs.map((i) => `n${i}`) : [];
  const asked = machines[1].ask({ name: 'who', payload: new Uint8Array(0), filter: { nodes, tags: [{ key: 'role', pattern: 'db' }] }, timeoutMs: 5000, ack: true, relayFactor: opts.relayFactor ?? 0, expect: dbs }, sim.now);
  assert.ok(asked.ok);
  if (opts.lossFor !== undefined) {
    sim.runFor(opts.lossFor);
    sim.setLoss(0);
  }
  sim.runFor(6000 - (opts.lossFor ?? 0));
  assert.ok(done !== null, 'the query finished within its timeout');
  return { summary: done, responses, counters: { ...machines[1].counters }, receivedDirect: machines.reduce((n, m) => n + m.counters.receivedDirect, 0) };
}

test(`query sim: ${N} nodes, a query to the 100 db members ends when all answered, long before its 5 s timeout (seed ${SEED})`, () => {
  const a = run({ seed: SEED });
  assert.equal(a.summary.reason, 'complete');
  assert.equal(a.summary.answered.length, 100);
  assert.ok(a.summary.answered.every((i) => role(i) === 'db'), 'only matching members answered');
  assert.deepEqual(a.summary.missing, []);
  assert.ok(a.summary.durationMs < 1000, `finished in ${a.summary.durationMs} ms of virtual time (timeout 5000)`);
  const b = run({ seed: SEED });
  assert.deepEqual(b, a, 'same seed, same run');
});

test('query sim: crashed members the asker still expects are reported missing at the timeout', () => {
  const crashed = [3, 30, 60, 99, 150];
  const a = run({ seed: SEED, crash: crashed });
  assert.equal(a.summary.reason, 'timeout');
  assert.deepEqual([...a.summary.missing].sort((x, y) => x - y), crashed);
  assert.equal(a.summary.answered.length, 95);
});

test('query sim: under 10 % loss a relay factor of 2 brings back responses the direct path lost', () => {
  const direct = run({ seed: SEED, loss: 0.1 });
  const relayed = run({ seed: SEED, loss: 0.1, relayFactor: 2 });
  assert.ok(direct.summary.answered.length < 100, `without relays some responses are lost (${direct.summary.answered.length}/100)`);
  assert.ok(relayed.summary.answered.length > direct.summary.answered.length, `relayed ${relayed.summary.answered.length} > direct ${direct.summary.answered.length}`);
});

test('query sim: 30 expected members get the query directly (one hop, no broadcast); with its datagrams lost at 30 %, the fallback broadcast reaches the rest', () => {
  const a = run({ seed: SEED, small: true });
  assert.equal(a.summary.reason, 'complete');
  assert.equal(a.summary.answered.length, 30);
  assert.deepEqual([a.counters.direct, a.counters.directSent, a.counters.directFallbacks, a.receivedDirect], [1, 30, 0, 30]);
  // Handlers take 20 ms: one hop there and one back, well under a broadcast's depth at 300.
  assert.ok(a.summary.durationMs < 200, `finished in ${a.summary.durationMs} ms`);
  assert.deepEqual(run({ seed: SEED, small: true }), a, 'same seed, same run');

  const lossy = run({ seed: SEED, small: true, loss: 0.3, lossFor: 30 });
  assert.equal(lossy.counters.directFallbacks, 1);
  assert.ok(lossy.receivedDirect < 30, `some copies were lost (${lossy.receivedDirect} of 30 arrived)`);
  // Acks and responses lost in the first 30 ms are lost for good (as on the broadcast path);
  // every member the query reached late answered after the fallback.
  assert.equal(lossy.summary.answered.length + lossy.summary.missing.length + lossy.summary.ackedOnly.length, 30);
  assert.ok(lossy.summary.answered.length >= 30 - Math.round(0.3 * 30) - 3, `answered ${lossy.summary.answered.length} of 30`);
  assert.ok(lossy.summary.durationMs >= DEFAULT_QUERY_CONFIG.directFallbackMs || lossy.summary.reason === 'timeout');
});
