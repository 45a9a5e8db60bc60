// Installs Debian packages for the tests' and benchmarks' ensure-* scripts, safely when several
// of them run at once (the test runner runs files in parallel: on a fresh machine the browser
// and dashboard tests both install chromium while the namespace tests install iproute2).
// apt and dpkg take exclusive locks; a second apt-get fails at once with status 100 unless it is
// told to wait. So each call waits for dpkg's lock (`DPkg::Lock::Timeout`), and a failed attempt
// is retried a bounded number of times after checking whether another process has meanwhile
// installed what we need (`present`). The package lists are refreshed (`apt-get update`) only
// when an install fails, as on a machine whose lists are empty.
import { spawnSync } from 'node:child_process';

/** Seconds an apt-get call waits for dpkg's lock held by another apt-get (then it fails). */
const LOCK_WAIT_S = 300;
/** Attempts of install (each preceded, after a failure, by an update) before giving up. */
const ATTEMPTS = 6;
/** Pause between attempts (ms): apt's lists lock is not covered by `DPkg::Lock::Timeout`. */
const PAUSE_MS = 5000;

function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Makes sure `present()` holds, installing `packages` with apt-get when it does not (as root, or
 * through `sudo -n`). Returns null on success, else a one-line reason. `label` prefixes progress
 * lines; `quiet` sends apt-get's own output nowhere instead of to stderr; `recommends: false`
 * adds `--no-install-recommends`.
 */
export function aptInstall(label, packages, present, { quiet = false, recommends = false } = {}) {
  if (present()) return null;
  const root = (process.getuid?.() ?? 0) === 0;
  if (!root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0) {
    return `not root and sudo -n is not available: cannot install ${packages.join(' ')}`;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => {
    const full = ['-o', `DPkg::Lock::Timeout=${LOCK_WAIT_S}`, ...args];
    const [cmd, argv] = root ? ['apt-get', full] : ['sudo', ['-n', 'apt-get', ...full]];
    console.error(`${label}: running: apt-get ${args.join(' ')}`);
    const r = spawnSync(cmd, argv, { stdio: quiet ? 'ignore' : ['ignore', 2, 2], env, timeout: (LOCK_WAIT_S + 600) * 1000 });
    if (r.error) return `apt-get ${args.join(' ')}: ${r.error.message}`;
    return r.status === 0 ? null : `apt-get ${args.join(' ')} exited with status ${r.status}`;
  };
  const install = ['install', '-y', ...(recommends ? [] : ['--no-install-recommends']), ...packages];
  let reason = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) {
      if (present()) return null; // another process installed it meanwhile
      apt(['update']); // a failure shows in the install that follows
      pause(PAUSE_MS);
      if (present()) return null;
    }
    const e = apt(install);
    if (e === null) return present() ? null : `apt-get installed ${packages.join(' ')} but what it should provide is still missing`;
    reason = e;
  }
  return present() ? null : `${reason} (after ${ATTEMPTS} attempts)`;
}
