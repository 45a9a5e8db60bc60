/**
 * The installed command runs the one-file bundle (dist/rumor.cjs) with its V8 code cache
 * (bin/rumor.js, scripts/bundle.mjs, scripts/code-cache.mjs):
 * - `scripts/code-cache.mjs` makes a cache keyed by the bundle's build id, stamped, and leaves
 *   an up-to-date one alone (one an agent rewrote since is made again);
 * - with that cache, the verbs the bundle does not hold (the simulator, imported from dist/src)
 *   still run: a function compiled from a code cache has no module loader of its own on node 20;
 * - what a start loads stays light: no ES module loader, no child_process, no prom-client or
 *   config parsers, and a lone agent without a key no node:crypto (read from the process's own
 *   module list at exit);
 * - bin/rumor, the launcher script the command, the image, the unit and spawnAgent start agents
 *   through, gives `agent` its node flags (ones that keep Node's and our code caches) and no
 *   other verb any, and `exec`s node in its own place.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { freePorts, spawnAgent, stopAll, waitUntil } from '../../src/cli/cluster.js';
import { BIN, ensureBuilt, ROOT } from './helpers.js';

const BUNDLE = join(ROOT, 'dist', 'rumor.cjs');
/** The `rumor` command's launcher script (package.json `bin`). */
const SCRIPT = join(ROOT, 'bin', 'rumor');

before(() => {
  ensureBuilt();
  // A bundle older than tsc's output is rebuilt by the first run; make it now, once.
  assert.equal(spawnSync(process.execPath, [BIN, '--version']).status, 0);
});

test('code cache: made by scripts/code-cache.mjs, keyed by the bundle build id; rumor sim runs with it', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'code-cache.mjs'), '--force'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const source = readFileSync(BUNDLE, 'utf8');
  const id = source.slice(source.lastIndexOf('//# rumorBuild=')).trim();
  assert.match(id, /^\/\/# rumorBuild=[0-9a-f]{16}$/);
  assert.equal(readFileSync(`${BUNDLE}.cache`).subarray(0, id.length).toString(), id);
  const stamp = JSON.parse(readFileSync(`${BUNDLE}.cache.json`, 'utf8')) as Record<string, string>;
  assert.deepEqual(
    { build: stamp.build, node: stamp.node, cacheSha256: stamp.cacheSha256 },
    { build: id, node: process.version, cacheSha256: createHash('sha256').update(readFileSync(`${BUNDLE}.cache`)).digest('hex') },
  );
  const sim = spawnSync(process.execPath, [BIN, 'sim', 'plumtree-redundancy', '--nodes', '60', '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(sim.status, 0, sim.stderr);
  assert.equal(sim.stderr, '', 'no warning or error on stderr');
  assert.ok(JSON.parse(sim.stdout), 'JSON result');
});

test('code cache: an up-to-date cache is kept as it is; one rewritten since its stamp is made again', () => {
  const script = join(ROOT, 'scripts', 'code-cache.mjs');
  const cache = `${BUNDLE}.cache`;
  const made = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(made.status, 0, made.stderr);
  const before = readFileSync(cache);
  const mtime = statSync(cache).mtimeMs;
  const again = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(statSync(cache).mtimeMs, mtime, 'an up-to-date cache is not rewritten');
  assert.ok(readFileSync(cache).equals(before));
  // What an agent that found no usable cache does (bin/rumor.js): the same key, other bytes.
  const key = before.subarray(0, before.indexOf(0x0a) + 1);
  writeFileSync(cache, Buffer.concat([key, Buffer.alloc(2048, 1)]));
  const remade = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(remade.status, 0, remade.stderr);
  const after = readFileSync(cache);
  assert.ok(after.subarray(0, key.length).equals(key));
  assert.ok(after.length > 100_000, `a full cache made again (${after.length} bytes)`);
  const v = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8', env: { ...process.env, RUMOR_CODE_CACHE_REPORT: '1' } });
  assert.match(v.stderr, /^code cache: accepted/m);
});

test('rumor sim through the installed command: bad input from the simulator verbs is one line, exit 2', () => {
  // The simulator verbs run from tsc's output next to the bundle: their usage errors must still
  // be recognised as such (one line, exit 2), not reported as an internal error.
  for (const args of [['sim', 'no-such-experiment'], ['sim', 'bootstrap', '--nodes', 'abc']]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^rumor: (unknown experiment "no-such-experiment"|option --nodes: expected an integer)/);
  }
});

test('a start loads no ES module loader, child_process, prom-client or config parser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bundle-'));
  const preload = join(dir, 'modules.cjs');
  writeFileSync(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
  );
  const r = spawnSync(process.execPath, ['-r', preload, BIN, 'agent', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--event-handler/);
  const { builtins, files } = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as { builtins: string[]; files: string[] };
  // The ES module loader would be there had bin/rumor.js fallen back to tsc's ES modules.
  for (const m of ['NativeModule internal/modules/esm/loader', 'NativeModule child_process']) assert.ok(!builtins.includes(m), `${m} loaded`);
  for (const pkg of ['prom-client', 'smol-toml', 'yaml', 'zod', 'commander']) {
    assert.ok(!files.some((f) => f.includes(`/node_modules/${pkg}/`)), `${pkg} read from node_modules`);
  }
});

test('a running agent loads no ES module loader: everything its start imports is in the bundle', async () => {
  // `rumor agent` imports modules after its start (the SIGHUP reload handler): one missing
  // from scripts/bundle.mjs's list was loaded from dist/src through Node's ES module loader.
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bundle-'));
  const preload = join(dir, 'modules.cjs');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify(process.moduleLoadList)));\n`);
  const child = spawn(process.execPath, ['-r', preload, BIN, 'agent', '--name', 'bundle-test', '--bind', '127.0.0.1:0', '--api-addr', '127.0.0.1:0', '--log-level', 'error'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 20_000;
    while (!/API (http:\/\/\S+)/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const api = /API (http:\/\/\S+)/.exec(out)?.[1];
    assert.ok(api, `the agent did not report its API address within 20 s (stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)})`);
    const info = await fetch(`${api}/v1/info`, { signal: AbortSignal.timeout(5000) });
    assert.equal(info.status, 200);
    // The reload handler is imported right after the start message: give it a moment to load.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    child.kill('SIGTERM');
  }
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  assert.equal(code, 0, `the agent did not exit 0 within 10 s of SIGTERM (${String(code)}; stderr ${JSON.stringify(err)})`);
  const builtins = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as string[];
  assert.ok(builtins.includes('NativeModule http'), 'the module list was read from the running agent');
  assert.ok(!builtins.includes('NativeModule internal/modules/esm/loader'), 'the ES module loader was loaded');
  // scripts/bundle.mjs LAZY_BUILTINS: an agent without a cluster key loads node:crypto at its
  // first broadcast or probe; this one, alone, answered its API without either.
  assert.ok(!builtins.includes('NativeModule crypto'), 'node:crypto was loaded by a lone agent without a key');
});

test('bin/rumor: `agent` gets the launcher script node flags, other verbs none, through symlinks, with RUMOR_NODE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-launch-'));
  // A stand-in for node that prints its arguments, one per line.
  const fake = join(dir, 'fake-node');
  writeFileSync(fake, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', { mode: 0o755 });
  // npm links the command (node_modules/.bin/rumor, a relative link), the image an absolute one.
  mkdirSync(join(dir, 'bin'));
  symlinkSync(SCRIPT, join(dir, 'bin', 'rumor'));
  symlinkSync('bin/rumor', join(dir, 'rumor'));
  const run = (cmd: string, args: string[], cwd?: string): string[] => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, RUMOR_NODE: fake } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').slice(0, -1);
  };
  const agent = run(join(dir, 'rumor'), ['agent', '--name', 'a b', '--tag', '']);
  const at = agent.indexOf(BIN);
  assert.ok(at > 0, `node flags, then ${BIN}: ${JSON.stringify(agent)}`);
  assert.deepEqual(agent.slice(at + 1), ['agent', '--name', 'a b', '--tag', ''], 'the arguments passed on as they were');
  const flags = agent.slice(0, at);
  for (const f of flags) assert.match(f, /^--[a-z0-9-]+(=\S+)?$/);
  assert.deepEqual(run('/bin/sh', [SCRIPT, 'members', '--json']), [BIN, 'members', '--json'], 'no flags for other verbs');
  // Started by a name without a directory (`sh rumor` in its directory), a relative link first.
  assert.deepEqual(run('/bin/sh', ['rumor', '--version'], dir), [BIN, '--version']);
  // The flags leave V8's flag hash alone: Node still compiles its built-in modules from their
  // code cache (a flag that changes the hash, e.g. --max-semi-space-size, makes every one of them
  // compile from source: ~11 ms more of a start, docs/agent.md), and our cache is accepted.
  const usage = spawnSync(
    process.execPath,
    ['--expose-internals', '--no-warnings', ...flags, '-e', "const { internalBinding } = require('internal/test/binding'); for (const m of ['http', 'dgram', 'dns', 'child_process']) require(m); const u = internalBinding('builtins').getCacheUsage(); console.log(JSON.stringify([[...u.compiledWithCache].length, [...u.compiledWithoutCache]]))"],
    { encoding: 'utf8' },
  );
  assert.equal(usage.status, 0, usage.stderr);
  const [withCache, without] = JSON.parse(usage.stdout) as [number, string[]];
  assert.ok(withCache > 0, 'built-ins compiled from their code cache');
  assert.deepEqual(without, [], 'built-ins compiled without their code cache');
  const real = spawnSync('/bin/sh', [SCRIPT, 'agent', '--help'], { encoding: 'utf8', env: { ...process.env, RUMOR_NODE: process.execPath, RUMOR_CODE_CACHE_REPORT: '1' } });
  assert.equal(real.status, 0, real.stderr);
  assert.match(real.stdout, /--event-handler/);
  assert.match(real.stderr, /^code cache: accepted/m);
});

test('spawnAgent starts the agent through bin/rumor: node in its place (same pid), with the flags', async () => {
  const [gossip, api] = await freePorts(2);
  const child = spawnAgent({ name: 'launch-test', gossipPort: gossip, apiPort: api, profile: 'local' });
  try {
    await waitUntil('the agent to answer', 20_000, async () => (await fetch(`http://127.0.0.1:${api}/v1/info`, { signal: AbortSignal.timeout(2000) })).ok);
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    assert.equal(cmdline[0], process.execPath, 'the spawned pid is node, exec-ed by the script');
    assert.ok(cmdline.includes('--v8-pool-size=1'), JSON.stringify(cmdline));
    assert.equal(cmdline[cmdline.indexOf(BIN) + 1], 'agent');
  } finally {
    await stopAll([child]);
  }
});
