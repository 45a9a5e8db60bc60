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
}

function run(opts: { seed: number; loss?: number; relayFactor?: number; crash?: number[] }): Run {
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
  const dbs = [...Array(N).keys()].filter((i) => role(i) === 'db');
  if (opts.crash !== undefined) sim.crash(opts.crash, { silent: true });
  sim.setLoss(opts.loss ?? 0);
  const asked = machines[1].ask({ name: 'who', payload: new Uint8Array(0), filter: { nodes: [], tags: [{ key: 'role', pattern: 'db' }] }, timeoutMs: 5000, ack: true, relayFactor: opts.relayFactor ?? 0, expect: dbs }, sim.now);
  assert.ok(asked.ok);
  sim.runFor(6000);
  assert.ok(done !== null, 'the query finished within its timeout');
  return { summary: done, responses };
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
