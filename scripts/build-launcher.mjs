// Builds, with the system's C compiler (`$CC`, else `cc`), run by `npm run prepare` (so `npm ci`
// and `npm run build` make them) after the bundle:
// - dist/rumor-launcher, the handler launcher (src/agent/launcher.c; why: src/agent/spawn-helper.ts);
// - dist/bench-spawner, the benchmarks' spawner (bench/support/spawner.c; why:
//   bench/support/spawner.ts), which bench:cluster starts its agents through.
//
// Optional by design: without a compiler, or when a compile fails, it says so on one line and
// exits 0; the agent then starts its handlers through the perl launcher (same protocol and
// semantics, a fork per run instead of posix_spawn), and bench:cluster spawns its agents itself
// (`--spawn bench`). `--require` makes a failure exit 1 (tests that exercise these programs use
// it, so they fail with the reason instead of skipping).
//
// Usage: node scripts/build-launcher.mjs [--require]
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require_ = process.argv.includes('--require');
const cc = process.env.CC || 'cc';

/** Compile `src` to `out`; false (after one line on stderr) when it could not. */
function build(src, out, without) {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}`;
  const compile = (extra) => spawnSync(cc, ['-O2', '-std=c11', '-Wall', ...extra, '-o', tmp, src], { encoding: 'utf8' });
  // Linked statically when the C library's static archive is there (glibc's libc.a, in Debian's
  // libc6-dev): no dynamic loader, no shared libraries mapped, so the launcher every agent keeps
  // is 0.7 MB of RSS instead of 1.36 (smaps_rollup of a warmed-up agent's launcher;
  // docs/results.md, h35r); else dynamically, as before.
  let r = compile(['-static']);
  if (r.error === undefined && r.status !== 0) r = compile([]);
  if (r.error !== undefined || r.status !== 0) {
    rmSync(tmp, { force: true });
    const why = r.error !== undefined ? `${cc}: ${r.error.message}` : `${cc} exited ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}`;
    process.stderr.write(`build-launcher: ${out.slice(ROOT.length + 1)} not built (${why}); ${without}\n`);
    return false;
  }
  renameSync(tmp, out);
  return true;
}

const ok = [
  build(join(ROOT, 'src', 'agent', 'launcher.c'), join(ROOT, 'dist', 'rumor-launcher'), 'handlers will start through the perl launcher'),
  build(join(ROOT, 'bench', 'support', 'spawner.c'), join(ROOT, 'dist', 'bench-spawner'), 'bench:cluster will spawn its agents itself'),
];
if (!ok.every(Boolean)) process.exit(require_ ? 1 : 0);
