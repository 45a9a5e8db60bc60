/**
 * End-to-end: `rumor aggregate` over 5 agents on loopback (started as a user would), each
 * setting its own input through the CLI; one agent also feeds an aggregate from a command in
 * its config file. Every agent's estimate must reach the exact cluster-wide value; bad input
 * is refused with exit 2 (CLI) or 400 (HTTP) and disturbs nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll, type AgentSpec } from '../../src/cli/cluster.js';
import { ensureBuilt, rumor } from './helpers.js';
import { localSpec, startAgents } from '../support/agents.js';
import { waitUntil as waitFor } from '../support/wait.js';

const N = 5;
const tmp = mkdtempSync(join(tmpdir(), 'rumor-agg-'));
const children: ChildProcess[] = [];
let api: string[] = [];

interface Est {
  name: string;
  kind: string;
  value: number | null;
  rounds: number;
  input: number | null;
}

async function estimate(i: number, name: string): Promise<Est> {
  const r = await rumor(['aggregate', name, '--json', '--api', api[i]]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Est;
}

/** The same estimate through the HTTP API (cheap to poll). */
async function estimateHttp(i: number, name: string): Promise<Est> {
  const res = await fetch(`${api[i]}/v1/aggregates/${name}`);
  assert.equal(res.status, 200, `GET /v1/aggregates/${name} on n${i + 1}`);
  return (await res.json()) as Est;
}

before(async () => {
  ensureBuilt();
  const config = join(tmp, 'n1.toml');
  writeFileSync(config, 'aggregates = [{ name = "cmdsum", kind = "sum", command = "echo 2.5", intervalMs = 500 }]\n');
  const specs: AgentSpec[] = await startAgents(N, children, (i, p) => ({
    ...localSpec('n', tmp, i, p),
    extraArgs: i === 0 ? ['--config', config] : [],
  }));
  api = specs.map((s) => `http://127.0.0.1:${s.apiPort}`);
});

after(async () => {
  await stopAll(children);
});

test('rumor aggregate: avg, count, max and a command-fed sum reach the exact values on all 5 agents', async () => {
  // Inputs through the CLI, the agents in parallel (each CLI run costs 1–2 s of a loaded 2-core
  // machine: twenty in a row, then a CLI run per poll, overran the test's 120 s at load 60).
  await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      for (const args of [['load', '--set', String(10 * (i + 1))], ['nodes', '--kind', 'count'], ['peak', '--kind', 'max', '--set', String(i * i)], ['cmdsum', '--kind', 'sum']]) {
        const r = await rumor(['aggregate', ...args, '--api', api[i]]);
        assert.equal(r.code, 0, `${args.join(' ')} on n${i + 1}: ${r.err}`);
      }
    }),
  );
  const want: [string, number, number][] = [
    ['load', 30, 1e-3],
    ['nodes', 5, 1e-3],
    ['peak', 16, 0],
    ['cmdsum', 2.5, 1e-3],
  ];
  const near = (e: Est, value: number, tol: number): boolean => e.value !== null && Math.abs(e.value - value) <= tol * Math.abs(value);
  // Convergence polled through the HTTP API (the document the CLI prints): every estimate of
  // every agent within its tolerance at once.
  let off: string[] = [];
  await waitFor(
    async () => {
      const rows = await Promise.all(want.flatMap(([name]) => Array.from({ length: N }, (_, i) => estimateHttp(i, name))));
      off = rows.flatMap((e, k) => {
        const [name, value, tol] = want[Math.floor(k / N)];
        return near(e, value, tol) ? [] : [`n${(k % N) + 1} ${name}=${e.value}`];
      });
      return off.length === 0;
    },
    90_000,
    () => `every agent's estimates within tolerance (relative) of load 30 (1e-3), nodes 5 (1e-3), peak 16 (exact), cmdsum 2.5 (1e-3); off: ${off.join(', ')}`,
    500,
  );
  // And through the CLI (`rumor aggregate NAME --json`), at one agent.
  for (const [name, value, tol] of want) {
    let seen: Est | undefined;
    await waitFor(
      async () => {
        seen = await estimate(2, name);
        return seen.name === name && near(seen, value, tol);
      },
      30_000,
      () => `rumor aggregate ${name} --json on n3 within ${tol} of ${value} (last: ${JSON.stringify(seen)})`,
      500,
    );
  }
  const info = (await (await fetch(`${api[2]}/v1/info`)).json()) as { features: string[]; aggregates: Est[] };
  assert.ok(info.features.includes('aggregates'));
  assert.deepEqual(info.aggregates.map((a) => a.name), ['cmdsum', 'load', 'nodes', 'peak']);
  let metrics = '';
  let gauge: string | undefined;
  await waitFor(
    async () => {
      metrics = await (await fetch(`${api[0]}/metrics`)).text();
      gauge = /rumor_aggregate_estimate\{name="load",kind="avg"\} (\S+)/.exec(metrics)?.[1];
      return gauge !== undefined && Math.abs(Number(gauge) - 30) <= 0.03;
    },
    30_000,
    () => `the /metrics gauge of load within 1e-3 of 30 (last: ${gauge})`,
    500,
  );
  assert.match(metrics, /rumor_aggregate_estimate\{name="nodes",kind="count"\} \d/);
});

test('bad input: exit 2 or HTTP 400 with the reason, and the aggregate is undisturbed', async () => {
  const bad: [string[], RegExp][] = [
    [['load', '--set', 'NaN'], /option --set: aggregate value: expected a finite number/],
    [['load', '--set', 'Infinity'], /finite number/],
    [['load', '--kind', 'median'], /option --kind: aggregate kind: expected one of avg, sum, count, min, max/],
    [['x'.repeat(57)], /aggregate name: at most 56 characters/],
  ];
  for (const [args, re] of bad) {
    const r = await rumor(['aggregate', ...args, '--api', api[1]]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.err, re);
  }
  const conflict = await rumor(['aggregate', 'load', '--kind', 'sum', '--api', api[1]]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.err, /already declared as avg, not sum/);
  for (const body of ['{"value":"7"}', '{"value":1e999}', '{"kind":"median"}', '{"value":1,"extra":true}', '[1]']) {
    const res = await fetch(`${api[1]}/v1/aggregates/load`, { method: 'PUT', body, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400, body);
    assert.match(((await res.json()) as { error: string }).error, /^(aggregate value|aggregate kind|body)/);
  }
  assert.equal((await fetch(`${api[1]}/v1/aggregates/nosuch`)).status, 404);
  const e = await estimate(1, 'load');
  assert.equal(e.input, 20, 'the input is unchanged');
  // The estimate is read with a deadline, not once: under load a process silent for longer than
  // the local profile's 1 s heartbeat timeout has its links timed out by its peers (correctly),
  // and flow updating drops a failed link's flow, so every estimate moves for a few rounds and
  // comes back (seen once at load 54: 29.898 read 8 s after such a timeout). A bad input taken
  // as an input would move the average for good (any other value at n2 than 20 gives another
  // mean), which no wait brings back to 30 on every agent.
  let last: Est[] = [];
  await waitFor(
    async () => {
      last = await Promise.all(Array.from({ length: N }, (_, i) => estimateHttp(i, 'load')));
      return last.every((x) => x.value !== null && Math.abs(x.value - 30) <= 0.03) && last[1].input === 20;
    },
    60_000,
    () => `every agent's load estimate within 1e-3 of 30 after the bad input (last, value@rounds: ${last.map((x) => `${x.value}@${x.rounds}`).join(', ')})`,
    500,
  );
});
