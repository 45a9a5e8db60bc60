// Builds dist/rumor.cjs: the CLI in one CommonJS file (esbuild), which bin/rumor.js loads.
// Run by `npm run prepare` (so `npm ci` and `npm run build` make it) after `tsc`.
// Usage: node scripts/bundle.mjs [--analyze] [--names]
//   --names  keep the sources' names (no `minifyIdentifiers`): for `--cpu-prof` profiles and
//            stack traces that name every function and class; then `node scripts/code-cache.mjs`
//            (the cache belongs to one build). The next plain build minifies them again.
//
// Why one file: `rumor agent` is started many at a time (a fleet, bench/cluster.ts's 50 agents
// on 2 cores). From the ~60 ES modules tsc emits, Node resolves, reads, compiles and links each
// one through its ESM loader; one CommonJS script is one read and one compile, and the ESM
// loader is never loaded (docs/results.md, "Agent start-up", has what each step saved).
//
// What stays out of the bundle:
// - dependencies the agent loads only on demand (`prom-client` on the first /metrics scrape,
//   `smol-toml`/`yaml` for a config file of that type) and the native `@node-rs/crc32`:
//   required from node_modules at run time, as before;
// - the verbs that are not the agent's path (the simulator, `demo`, `bench-sim`, `ui`): their
//   `await import()` keeps pointing at tsc's output in dist/src/, so the bundle holds only what
//   `rumor agent` and the client verbs run.
import { build, analyzeMetafile } from 'esbuild';
import * as nodeCrypto from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'rumor.cjs');

/** Modules loaded with `await import()` that belong in the bundle (the agent's and the client verbs' path). */
const BUNDLED_DYNAMIC = new Set(['agent/config.ts', 'agent/agent.ts', 'agent/client.ts', 'agent/metrics-registry.ts', 'agent/reload.ts', 'agent/keys.ts', 'wire/crypto.ts']);

/** Modules loaded with `await import()` that stay out of the bundle: the simulator verbs'
 *  (`rumor sim`, `demo`, `bench-sim`). Any other dynamic import of our sources fails the build
 *  until it is put in one list or the other: one left out by mistake is loaded through Node's
 *  ES module loader, with a second copy of every module it imports from dist/src/ (it
 *  happened to `agent/reload.ts`, imported by every `rumor agent` right after its start:
 *  measured 63.8 -> 60.5 ms of CPU to the first API answer once bundled, load 15-20). */
const OUTSIDE_DYNAMIC = new Set(['cli/sim-run.ts', '../bench/sim.ts']);

/** Dynamic imports of anything else stay imports, of tsc's output next to the bundle
 *  (dist/src/...) or of a package. bin/rumor.js compiles the bundle with `vm.Script` and a code
 *  cache, and in a function compiled from a V8 code cache `import()` has no loader on node 20
 *  (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING): these imports call `__rumorImport`, which
 *  bin/rumor.js passes in, instead (rewritten below, after the build). */
const externalImports = new Set();
const lazyVerbs = {
  name: 'lazy-verbs',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      if (!args.path.startsWith('.')) {
        externalImports.add(args.path);
        return { path: args.path, external: true }; // a package: node resolves it
      }
      const abs = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
      const rel = relative(join(ROOT, 'src'), abs);
      if (BUNDLED_DYNAMIC.has(rel)) return undefined;
      if (!OUTSIDE_DYNAMIC.has(rel)) {
        return { errors: [{ text: `import('${args.path}') of src/${rel}: add it to BUNDLED_DYNAMIC (the agent's or a client verb's path) or OUTSIDE_DYNAMIC in scripts/bundle.mjs` }] };
      }
      const target = `./${relative(dirname(OUT), join(ROOT, 'dist', relative(ROOT, abs))).replace(/\.ts$/, '.js')}`;
      externalImports.add(target);
      return { path: target, external: true };
    });
  },
};

/** The sources load CommonJS packages with `createRequire(import.meta.url)(...)` (in tsc's ES
 *  module output that spares the ESM-to-CommonJS translation). In the CommonJS bundle a plain
 *  `require` does the same without loading `node:module` (which loads Node's ES module
 *  loader), and lets esbuild take commander into the bundle, so it is not resolved and read
 *  from node_modules at each start. */
const plainRequire = {
  name: 'plain-require',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('createRequire(import.meta.url)')) return undefined;
      const out = text
        .replace(/^import \{ createRequire \} from 'node:module';$/m, '')
        .replaceAll('createRequire(import.meta.url)', 'require');
      if (out.includes('createRequire')) throw new Error(`${args.path}: createRequire used otherwise than createRequire(import.meta.url) (update scripts/bundle.mjs)`);
      return { contents: out, loader: 'ts' };
    });
  },
};

/** Built-in modules a start does not need, which the bundle loads on the first call instead
 *  of at the top, with the functions it calls from each: `node:child_process` (a handler
 *  runs 1.5 s after start at the earliest; commander and src/cli/cluster.ts load it at the
 *  top), `node:dns/promises` (only a `--join` by name resolves), `node:fs/promises` (the
 *  simulator's output and `rumor ui`). Measured: 2-4 ms of CPU per start for child_process,
 *  2-3 ms for the two others (`node -e` with and without them after http, dgram and crypto,
 *  node 20). Importing another name from them fails the build.
 *  `node:crypto` (its ~20 internal modules: 3.4-7 ms of CPU at load 70, after http and net) is
 *  first called by an agent without a cluster key when it hashes its first broadcast or sends
 *  its first probe, after its API answers; with a key, at its start. Its `hash` (one-shot, Node
 *  >= 20.12) is wrapped only when the Node that builds the bundle has it, so that
 *  src/wire/envelope.ts still sees it missing on an older Node. */
const LAZY_BUILTINS = {
  child_process: ['spawn'],
  'dns/promises': ['lookup'],
  'fs/promises': ['mkdir', 'readFile', 'writeFile'],
  crypto: ['createCipheriv', 'createDecipheriv', 'createHash', 'createSecretKey', 'hkdfSync', 'randomBytes', 'timingSafeEqual', ...(typeof nodeCrypto.hash === 'function' ? ['hash'] : [])],
};
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const names = Object.keys(LAZY_BUILTINS).map((n) => n.replace('/', '\\/')).join('|');
    b.onResolve({ filter: new RegExp(`^(node:)?(${names})$`) }, (args) => {
      const name = args.path.replace(/^node:/, '');
      return args.namespace === 'lazy-builtin' ? { path: `node:${name}`, external: true } : { path: name, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents:
        'let m;\n' +
        LAZY_BUILTINS[args.path].map((f) => `export function ${f}(...args) {\n  m ??= require("node:${args.path}");\n  return m.${f}(...args);\n}\n`).join(''),
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@node-rs/crc32', 'prom-client', 'smol-toml', 'yaml'],
  plugins: [lazyVerbs, plainRequire, lazyBuiltins],
  // The sources find files (package.json, bin/rumor.js) and packages relative to themselves
  // through import.meta.url: in the bundle that is the bundle's own URL.
  define: { 'import.meta.url': '__rumorBundleUrl' },
  banner: { js: "'use strict';\nconst __rumorBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  minifyWhitespace: true,
  minifySyntax: true,
  // Short local names: a smaller bundle (464 KB against 569 KB) and code cache (801 KB against
  // 822 KB), which every start reads, deserializes (CPU of `new vm.Script` with the cache
  // 5.5 against 6.3 ms, eight fresh processes each, load ~16) and keeps in its heap (RSS once
  // joined 53.3 against 54.0 MB, `npm run bench:startup -- --compare`; docs/results.md, h34p).
  // Properties and methods keep their names, so do stack traces' method names; `--names`
  // keeps the rest for profiling.
  minifyIdentifiers: !process.argv.includes('--names'),
  metafile: true,
  logLevel: 'warning',
  write: false,
});
// Written to a temporary file and renamed: agents started while it is rebuilt (bin/rumor.js
// rebuilds a stale bundle) read either the old file or the new one, never half of one.
mkdirSync(dirname(OUT), { recursive: true });
const tmp = `${OUT}.${process.pid}.tmp`;
// The last line names this build (a hash of the contents): bin/rumor.js keys the code cache
// with it, so a cache made for another build is never used, whatever the files' times.
let code = result.outputFiles[0].text;
for (const spec of externalImports) {
  const call = `import(${JSON.stringify(spec)})`;
  if (!code.includes(call)) throw new Error(`bundle: expected ${call} in the output (update scripts/bundle.mjs)`);
  code = code.replaceAll(call, `__rumorImport(${JSON.stringify(spec)})`);
}
if (/\bimport\(/.test(code)) throw new Error('bundle: an import() is left in the output; bin/rumor.js cannot run it from the code cache');
// bin/rumor.js reads the bundle as latin1 (one byte per character, no UTF-8 decoding): esbuild's
// default `charset: 'ascii'` escapes every other character, which this checks.
if (/[^\t\n\r\x20-\x7e]/.test(code)) throw new Error('bundle: a character outside printable ASCII in the output; bin/rumor.js reads it as latin1');
writeFileSync(tmp, `${code}//# rumorBuild=${nodeCrypto.createHash('sha256').update(code).digest('hex').slice(0, 16)}\n`);
renameSync(tmp, OUT);
if (process.argv.includes('--analyze')) process.stdout.write(await analyzeMetafile(result.metafile));
