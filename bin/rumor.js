#!/usr/bin/env node
// Entry point of the `rumor` command. CommonJS (bin/package.json), so a start never loads
// Node's ES module loader: it runs dist/rumor.cjs, the CLI bundled into one file by
// scripts/bundle.mjs (`npm ci` builds it through the `prepare` script), compiled with a V8
// code cache kept next to it (dist/rumor.cjs.cache).
//
// - `npm run prepare` (so `npm ci`) and `npm start` make the full cache (scripts/code-cache.mjs:
//   start-up, join, events, queries, tags). Failing that, it is written by the first run that
//   lives for CACHE_AFTER_MS (an agent does: its start-up code is compiled by then), whenever it is missing, was made for another build of
//   the bundle (its first line holds the build id scripts/bundle.mjs ends the bundle with) or
//   is refused by V8 (another Node version or flags). Writing it is best effort: a read-only install just runs without.
// - A bundle older than tsc's output (dist/src/cli/main.js, e.g. after `tsc` alone) is rebuilt
//   first; when it cannot be (no esbuild), the CLI runs from tsc's ES modules instead.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist');

// `rumor sim` at its default sizes (10^4–10^5 nodes; `aggregation` at 10^5 peaks above 6 GB of
// RSS) needs more heap than V8's default limit (about 4 GB on this 64-bit machine, whatever
// its memory): run the simulation in a child with a limit of three quarters of the machine's
// memory, unless the user set one (`--max-old-space-size` in the node flags or NODE_OPTIONS).
if (process.argv[2] === 'sim' && ![...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--max-old-space-size'))) {
  const mb = Math.floor((require('node:os').totalmem() / 2 ** 20) * 0.75);
  const r = require('node:child_process').spawnSync(process.execPath, [...process.execArgv, `--max-old-space-size=${mb}`, process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.error) {
    console.error(`rumor: cannot start the simulation: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 128 + (require('node:os').constants.signals[r.signal] ?? 0));
}
const BUNDLE = path.join(DIST, 'rumor.cjs');
const CACHE = BUNDLE + '.cache';
const TSC_MAIN = path.join(DIST, 'src', 'cli', 'main.js');
// scripts/code-cache.mjs sets RUMOR_CODE_CACHE_AFTER_MS (internal, not documented for users) to
// write the cache once the agent has also joined and answered its API (so that those paths are
// compiled into it too), or, for the seed it starts, never.
const CACHE_AFTER_MS = Number(process.env.RUMOR_CODE_CACHE_AFTER_MS) || 2000;

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Rebuild a missing or stale bundle; false when it cannot be built here. An install without
 *  the build script (a package, an image) runs the bundle it was shipped with. */
function bundleReady() {
  const b = mtime(BUNDLE);
  if (b >= 0 && b >= mtime(TSC_MAIN)) return true;
  const builder = path.join(__dirname, '..', 'scripts', 'bundle.mjs');
  if (!fs.existsSync(builder)) return b >= 0;
  const r = require('node:child_process').spawnSync(process.execPath, [builder], { stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0 && mtime(BUNDLE) >= 0;
}

/** The bundle's `import()` of what it does not hold (the simulator verbs in dist/src/, vite):
 *  a function compiled from a V8 code cache has no module loader of its own on node 20, so
 *  scripts/bundle.mjs turns those imports into calls of this one, run from here. */
function importFromBundle(specifier) {
  return import(specifier.startsWith('.') ? path.join(DIST, specifier) : specifier);
}

/** Load the bundle with the code cache; resolves to its exports. */
function loadBundle() {
  const vm = require('node:vm');
  // latin1: the bundle is ASCII (esbuild escapes the rest), read straight into a one-byte string.
  const source = fs.readFileSync(BUNDLE, 'latin1');
  const key = Buffer.from(`${source.slice(source.lastIndexOf('//# rumorBuild=')).trim()}\n`);
  let cachedData;
  try {
    const c = fs.readFileSync(CACHE);
    if (c.subarray(0, key.length).equals(key)) cachedData = c.subarray(key.length);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __rumorImport) {${source}\n})`, {
    filename: BUNDLE,
    cachedData,
  });
  const cacheState = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  // Internal, for bench/startup.ts: whether V8 took the cache.
  if (process.env.RUMOR_CODE_CACHE_REPORT) process.stderr.write(`code cache: ${cacheState} (${cachedData?.length ?? 0} bytes)\n`);
  if (cacheState !== 'accepted') {
    setTimeout(() => {
      try {
        const tmp = `${CACHE}.${process.pid}`;
        fs.writeFileSync(tmp, Buffer.concat([key, script.createCachedData()]));
        fs.renameSync(tmp, CACHE);
      } catch {
        // read-only install: run without a cache
      }
    }, CACHE_AFTER_MS).unref();
  }
  const mod = { exports: {} };
  // The bundle requires only packages and built-ins, which resolve the same from bin/ as from
  // dist/: it gets this file's `require` (`createRequire` would load node:module, and with it
  // the ES module loader).
  script.runInThisContext()(mod.exports, require, mod, BUNDLE, DIST, importFromBundle);
  return mod.exports;
}

function run({ main }) {
  return main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

(bundleReady() ? run(loadBundle()) : import('../dist/src/cli/main.js').then(run)).catch((err) => {
  console.error(`rumor: internal error: ${(err && err.stack) || err}`);
  process.exitCode = 1;
});
