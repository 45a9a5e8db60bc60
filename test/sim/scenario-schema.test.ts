import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario, DEFAULT_NETWORK } from '../../src/sim/scenario-schema.js';

const JOIN = '[[timeline]]\nat = 0\ntype = "join-all"\n';

function reason(text: string, file = 'scenarios/x.toml'): string {
  const r = parseScenario(text, file);
  assert.equal(r.ok, false, 'expected a parse failure');
  return r.ok ? '' : r.reason;
}

test('example scenarios parse', () => {
  for (const f of ['plumtree-failures', 'partition-heal', 'churn', 'partition-heal-small']) {
    const path = `scenarios/${f}.toml`;
    const r = parseScenario(readFileSync(path, 'utf8'), path);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.scenario.name, f);
    assert.ok(r.scenario.timeline.length >= 4);
  }
});

test('omitted fields take their documented defaults', () => {
  const r = parseScenario(`${JOIN}[[timeline]]\nat = 5000\ntype = "broadcast"\n[[timeline]]\nat = 6000\ntype = "partition"\n`, 'dir/minimal.toml');
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.scenario, {
    name: 'minimal',
    nodes: 1000,
    seed: 1,
    protocol: {},
    network: DEFAULT_NETWORK,
    timeline: [
      { at: 0, type: 'join-all', intervalMs: 10 },
      { at: 5000, type: 'broadcast', count: 1, intervalMs: 1000 },
      { at: 6000, type: 'partition', groups: 2 },
    ],
  });
});

test('JSON scenarios are accepted and network fields merge over defaults', () => {
  const doc = { nodes: 50, seed: 9, network: { loss: 0.1 }, timeline: [{ at: 0, type: 'join-all', intervalMs: 1 }], endMs: 100 };
  const r = parseScenario(JSON.stringify(doc), 'a/b.json');
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.scenario.name, 'b');
  assert.equal(r.scenario.endMs, 100);
  assert.deepEqual(r.scenario.network, { ...DEFAULT_NETWORK, loss: 0.1 });
});

test('out-of-range value names file, path, expectation and value', () => {
  const text = `${JOIN}[[timeline]]\nat = 1\ntype = "broadcast"\n[[timeline]]\nat = 2\ntype = "fail"\npercent = 150\n`;
  assert.equal(reason(text), 'scenarios/x.toml: timeline[2].percent: expected a number between 0 and 100, got 150');
});

test('each kind of error gives one exact line', () => {
  const cases: [string, string][] = [
    ['nodes = 0\n' + JOIN, 'nodes: expected an integer between 1 and 10000000, got 0'],
    ['nodes = "many"\n' + JOIN, 'nodes: expected an integer between 1 and 10000000, got "many"'],
    ['seed = 1.5\n' + JOIN, 'seed: expected an integer >= 0, got 1.5'],
    ['colour = 1\n' + JOIN, 'colour: unknown field (expected one of name, nodes, seed, protocol, network, timeline, endMs)'],
    ['nodes = 10', 'timeline: expected a non-empty array of events ([[timeline]] tables in TOML), got nothing'],
    ['[[timeline]]\nat = 0\ntype = "boom"\n', 'timeline[0].type: expected one of "join-all", "fail", "crash", "partition", "heal", "broadcast", "churn", "slow", "loss", "snapshot", got "boom"'],
    ['[[timeline]]\ntype = "heal"\n', 'timeline[0].at: expected a time in ms >= 0, got nothing'],
    ['[[timeline]]\nat = -1\ntype = "heal"\n', 'timeline[0].at: expected a time in ms >= 0, got -1'],
    ['[[timeline]]\nat = 0\ntype = "fail"\npercnt = 5\n', 'timeline[0].percnt: unknown field (expected one of at, type, percent)'],
    ['nodes = 10\n' + JOIN + '[[timeline]]\nat = 1\ntype = "crash"\nnodes = [3, 10]\n', 'timeline[1].nodes[1]: expected a node index below nodes (10), got 10'],
    [JOIN + '[[timeline]]\nat = 1\ntype = "loss"\nrate = 2\n', 'timeline[1].rate: expected a probability between 0 and 1, got 2'],
    ['[network]\nlatency = { kind = "fast" }\n' + JOIN, 'network.latency.kind: expected one of "constant", "uniform", "lognormal", got "fast"'],
    ['[network]\nlatency = { kind = "uniform", minMs = 9, maxMs = 2 }\n' + JOIN, 'network.latency.maxMs: expected a time in ms >= minMs (9), got 2'],
    ['[network]\nlatency = { kind = "constant" }\n' + JOIN, 'network.latency.ms: expected a time in ms >= 0, got nothing'],
    ['[network]\nloss = true\n' + JOIN, 'network.loss: expected a probability between 0 and 1, got true'],
    ['[network]\njitter = 1\n' + JOIN, 'network.jitter: unknown field (expected one of latency, loss, failureDetection, connectTimeoutMs)'],
    ['network = 3\n' + JOIN, 'network: expected a table, got 3'],
    ['[protocol]\nmembership = "swim"\n' + JOIN, 'protocol.membership: expected "hyparview" or "cyclon", got "swim"'],
    ['[protocol]\ngossip = 1\n' + JOIN, 'protocol.gossip: unknown field (expected one of membership, broadcast, hyparview, cyclon, plumtree, fanout)'],
  ];
  for (const [text, want] of cases) assert.equal(reason(text), `scenarios/x.toml: ${want}`, text);
});

test('protocol configuration errors come from resolveNodeConfig with the protocol. prefix', () => {
  const r = reason('[protocol.plumtree]\nihaveTimeoutMs = 50\ngraftTimeoutMs = 100\n' + JOIN);
  assert.match(r, /^scenarios\/x\.toml: protocol\.plumtree\.graftTimeoutMs: \S.*$/);
  const unknown = reason('[protocol.plumtree]\nfoo = 1\n' + JOIN);
  assert.match(unknown, /^scenarios\/x\.toml: protocol\.plumtree\.foo: unknown field \(expected one of .*ihaveTimeoutMs.*\)$/);
});

test('syntax errors and unknown formats are one line', () => {
  assert.equal(reason('a = \n[x]', 'x.toml'), 'x.toml: invalid TOML at line 1, column 5: invalid value');
  assert.match(reason('{"nodes": ', 'x.json'), /^x\.json: invalid JSON: [^\n]+$/);
  assert.equal(reason('nodes: 3', 'x.yaml'), 'x.yaml: expected a .toml or .json scenario file');
  assert.equal(reason('[1,2]', 'x.json'), 'x.json: (top level): expected a table, got an array');
});

test('loadScenario reads files and reports unreadable ones', async () => {
  const ok = await loadScenario('scenarios/churn.toml');
  assert.ok(ok.ok && ok.scenario.nodes === 1000 && ok.scenario.network.loss === 0.01);
  const missing = await loadScenario('scenarios/does-not-exist.toml');
  assert.deepEqual(missing, { ok: false, reason: 'scenarios/does-not-exist.toml: cannot read scenario file: no such file' });
});
