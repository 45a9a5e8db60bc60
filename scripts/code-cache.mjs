// Makes dist/rumor.cjs.cache, the V8 code cache bin/rumor.js loads the bundle with, by
// starting two agents on loopback through bin/rumor, with the agents' node flags (ports chosen by
// the system, an event handler configured so its code is compiled too): a seed, and one that
// joins it and is polled on its API until it has written the cache; then it stops both.
// `npm run prepare` (so `npm ci` on a clone) and
// `npm start` run it; it is also run for installs whose dist/ the agent cannot write (the
// container image, a root-owned /opt/rumor under systemd).
//
// Up to date, it does nothing (~0.1 s instead of ~6 s): the cache it made is stamped in
// dist/rumor.cjs.cache.json with the bundle's build id (a content hash, scripts/bundle.mjs),
// the Node and V8 versions, and the SHA-256 of the cache file. The cache is made again when
// any of them differs: another bundle, another Node, or a cache rewritten by an agent since
// (bin/rumor.js writes one, 2 s into its run, when V8 refused or had none: that one holds the
// start-up code but not the event, query and tag paths, and a fleet's agents then compiled
// those at their first event, ~60 ms more at N = 50; docs/results.md, h32p).
//
// Usage: node scripts/code-cache.mjs [--force] [--optional]
//   --force     make it even when up to date
//   --optional  a failure is one line on stderr and exit 0 (bin/rumor.js then writes a smaller
//               cache itself): `npm run prepare` uses it, so an install where agents cannot
//               start on loopback still installs
// Exit 0 when the cache exists and matches the bundle.
import { spawn, spawnSync } from 'node:child_process';
import { get, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'dist', 'rumor.cjs');
const CACHE = `${BUNDLE}.cache`;
const STAMP = `${CACHE}.json`;
const TSC_MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const force = process.argv.includes('--force');
const optional = process.argv.includes('--optional');
const TIMEOUT_MS = 30_000;
// The joining agent writes the cache this long after its start (bin/rumor.js reads
// RUMOR_CODE_CACHE_AFTER_MS): by then its join, its API answers, the handler warm-up (1.5 s
// after start) and the work `exercise` asks of it (user events, queries and tag updates, both
// sent and received) are compiled, so a start with the cache compiles none of them again. A
// cache written 2 s into a lone agent that nobody asked anything held about half as much
// (225 KB); one without the event, query and tag paths left every agent of a cluster compiling
// them at its first query (docs/results.md, "Queries and tag updates at N = 50: where the CPU goes").
const CACHE_AFTER_MS = 6000;
// The seed never writes it (it is stopped long before).
const NEVER_MS = 3_600_000;

const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : -1);
// A bundle older than tsc's output is rebuilt first, as bin/rumor.js would at the agents' start
// (the stamp must name the bundle they run).
if (mtime(BUNDLE) < mtime(TSC_MAIN)) {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) fail(`scripts/bundle.mjs exited ${r.status}`);
}
if (!existsSync(BUNDLE)) fail(`${BUNDLE} is missing: run npm run prepare first`);

/** What the cache is made for: the bundle's build id (its last line), Node and V8. */
function wanted() {
  const source = readFileSync(BUNDLE, 'latin1');
  return { build: source.slice(source.lastIndexOf('//# rumorBuild=')).trim(), node: process.version, v8: process.versions.v8, arch: process.arch };
}
const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** The stamp matches what is wanted, and the cache file is still the one stamped. */
function upToDate(want) {
  try {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    for (const k of Object.keys(want)) if (stamp[k] !== want[k]) return false;
    return stamp.cacheSha256 === sha256(readFileSync(CACHE));
  } catch {
    return false;
  }
}

function fail(msg) {
  console.error(`code-cache: ${msg}${optional ? ' (agents will write a smaller cache themselves)' : ''}`);
  process.exit(optional ? 0 : 1);
}

const want = wanted();
if (!force && upToDate(want)) process.exit(0);
rmSync(STAMP, { force: true });
rmSync(CACHE, { force: true });
const agents = [];

/** Start an agent; resolves with its gossip address and API URL once it prints them. */
function start(name, joinTo, cacheAfterMs) {
  // `query=true` answers every query with an empty response (a shell runs `true`).
  // Through bin/rumor, as agents start (its node flags; `RUMOR_NODE`: this node): V8 keys a code
  // cache to the flags that change its flag hash, so the cache is made under the agents' own.
  const args = [join(ROOT, 'bin', 'rumor'), 'agent', '--name', name, '--bind', '127.0.0.1:0', '--api-addr', '127.0.0.1:0', '--log-level', 'error', '--event-handler', 'user=true', '--event-handler', 'query=true'];
  if (joinTo) args.push('--join', joinTo);
  const child = spawn('/bin/sh', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUMOR_NODE: process.execPath, RUMOR_CODE_CACHE_AFTER_MS: String(cacheAfterMs) } });
  agents.push(child);
  let out = '';
  child.stdout.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /running: gossip (\S+), API (\S+)/.exec(out);
      if (m) resolve({ gossip: m[1], api: m[2] });
    });
    child.once('exit', (code) => reject(new Error(`agent ${name} exited (${code}) before it reported its addresses`)));
  });
}

/** One GET, its body read; settles (never rejects) within 2 s. */
function fetchOnce(url) {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', resolve);
  });
}

/** One POST of a JSON body, its answer read (a query's stream to its end); never rejects. */
function post(url, body) {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', timeout: 5000, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', resolve);
    req.end(JSON.stringify(body));
  });
}

/** Once both agents list each other: a user event, a query and a tag update from each, so the
 *  joining agent compiles both the sending and the receiving side of each. */
async function exercise(seed, agent, deadline) {
  for (;;) {
    if (Date.now() > deadline) return;
    const text = await getText(agent.api + '/v1/members');
    if ((text.match(/"status":"alive"/g) ?? []).length >= 2) break;
    await sleep(100);
  }
  for (const [i, a] of [seed, agent, seed, agent].entries()) {
    await post(a.api + '/v1/event', { name: 'code-cache', payload: `e${i}` });
    await post(a.api + '/v1/query', { name: 'code-cache', timeoutMs: 1000 });
    await post(a.api + '/v1/tags', { set: { 'code-cache': `t${i}` } });
    await sleep(100);
  }
}

/** One GET's body ('' on any failure); settles within 2 s. */
function getText(url) {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve(t));
      res.on('error', () => resolve(''));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(''));
  });
}

const cacheWritten = () => existsSync(CACHE) && readFileSync(CACHE).length > 1024;

async function run() {
  const deadline = Date.now() + TIMEOUT_MS;
  const seed = await start('code-cache-seed', undefined, NEVER_MS);
  const agent = await start('code-cache', seed.gossip, CACHE_AFTER_MS);
  const started = Date.now();
  await exercise(seed, agent, started + CACHE_AFTER_MS - 1500);
  while (!cacheWritten()) {
    if (Date.now() > deadline) throw new Error(`the agent wrote no ${CACHE} within ${TIMEOUT_MS / 1000} s`);
    // The requests an operator's tools and the benchmarks send (errors are retried: the cache is what is checked).
    for (const path of ['/v1/info', '/v1/members']) await fetchOnce(agent.api + path);
    await sleep(100);
  }
}

// A bound on the whole run, whatever hangs (an agent that never reports its addresses): an
// install must not wait forever.
const watchdog = setTimeout(() => {
  for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
  fail(`no cache within ${(TIMEOUT_MS + 10_000) / 1000} s`);
}, TIMEOUT_MS + 10_000);
watchdog.unref();
let error = null;
try {
  await run();
  const tmp = `${STAMP}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...want, cacheSha256: sha256(readFileSync(CACHE)) })}\n`);
  renameSync(tmp, STAMP);
} catch (e) {
  error = e;
} finally {
  for (const a of agents) if (a.exitCode === null) a.kill('SIGTERM');
}
clearTimeout(watchdog);
if (error !== null) fail(error.message);
