// Builds dist/rumor-launcher, the handler launcher in C (src/agent/launcher.c; why:
// src/agent/spawn-helper.ts), with the system's C compiler (`$CC`, else `cc`). Run by
// `npm run prepare` (so `npm ci` and `npm run build` make it) after the bundle.
//
// Optional by design: without a compiler, or when the compile fails, it says so on one line and
// exits 0; the agent then starts its handlers through the perl launcher (same protocol and
// semantics, a fork per run instead of posix_spawn). `--require` makes a failure exit 1 (tests
// that exercise this launcher use it, so they fail with the reason instead of skipping).
//
// Usage: node scripts/build-launcher.mjs [--require]
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src', 'agent', 'launcher.c');
const OUT = join(ROOT, 'dist', 'rumor-launcher');
const require_ = process.argv.includes('--require');

mkdirSync(dirname(OUT), { recursive: true });
const cc = process.env.CC || 'cc';
const tmp = `${OUT}.${process.pid}`;
const compile = (extra) => spawnSync(cc, ['-O2', '-std=c11', '-Wall', ...extra, '-o', tmp, SRC], { encoding: 'utf8' });
// Linked statically when the C library's static archive is there (glibc's libc.a, in Debian's
// libc6-dev): no dynamic loader, no shared libraries mapped, so the launcher every agent keeps
// is 0.7 MB of RSS instead of 1.36 (smaps_rollup of a warmed-up agent's launcher; docs/results.md,
// h35r); else dynamically, as before.
let r = compile(['-static']);
if (r.error === undefined && r.status !== 0) r = compile([]);
if (r.error !== undefined || r.status !== 0) {
  rmSync(tmp, { force: true });
  const why = r.error !== undefined ? `${cc}: ${r.error.message}` : `${cc} exited ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`;
  process.stderr.write(`build-launcher: dist/rumor-launcher not built (${why}); handlers will start through the perl launcher\n`);
  process.exit(require_ ? 1 : 0);
}
renameSync(tmp, OUT);
