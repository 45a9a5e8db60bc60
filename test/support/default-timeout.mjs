// Preloaded into every test process by scripts/test.mjs (`--import`): gives every test, and
// every before/after hook, a default timeout (RUMOR_TEST_TIMEOUT_MS, default 120 s) unless it
// sets its own. Node 20's `--test-timeout` bounds each test *file* run under `--test`, not
// each test, so the default is set here: `node:test`'s `test`/`it` and hooks are wrapped, and
// `syncBuiltinESMExports()` makes `import { test } from 'node:test'` see the wrapped ones.
// (A wrapped test's `loc` points here; the reporter knows the file from its process, and an
// assertion's stack still names the test's own line.)
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const nodeTest = require('node:test');
const DEFAULT_MS = Number(process.env.RUMOR_TEST_TIMEOUT_MS ?? 120_000);
if (!Number.isInteger(DEFAULT_MS) || DEFAULT_MS <= 0) throw new Error(`RUMOR_TEST_TIMEOUT_MS: expected a positive integer, got ${process.env.RUMOR_TEST_TIMEOUT_MS}`);

/** test(name?, options?, fn?) with `timeout` defaulted. */
function withDefault(original) {
  const wrapped = function (name, options, fn) {
    if (typeof name === 'function') return original({ timeout: DEFAULT_MS }, name);
    if (typeof name === 'object' && name !== null) return original({ timeout: DEFAULT_MS, ...name }, options);
    if (typeof options === 'function') return original(name, { timeout: DEFAULT_MS }, options);
    return original(name, { timeout: DEFAULT_MS, ...options }, fn);
  };
  Object.assign(wrapped, original); // test.skip / test.todo / test.only
  return wrapped;
}

/** before/after/beforeEach/afterEach(fn, options?) with `timeout` defaulted. */
function hookWithDefault(original) {
  return (fn, options) => original(fn, { timeout: DEFAULT_MS, ...options });
}

nodeTest.test = withDefault(nodeTest.test);
nodeTest.it = withDefault(nodeTest.it);
for (const h of ['before', 'after', 'beforeEach', 'afterEach']) nodeTest[h] = hookWithDefault(nodeTest[h]);
syncBuiltinESMExports();
