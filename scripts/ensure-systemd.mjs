// Makes sure `systemd-analyze` exists for the deploy tests (it lints deploy/systemd/rumor.service);
// installs Debian's `systemd` package when it is missing (root only). Nothing is started: the
// tests only run `systemd-analyze verify` and `systemd-analyze security --offline=yes` on the file.
// Exits 0 when systemd-analyze is available, 1 otherwise with a one-line reason on stderr.
// Usage: node scripts/ensure-systemd.mjs
import { spawnSync } from 'node:child_process';
import { aptInstall } from './apt.mjs';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function ensureSystemd() {
  if (has('systemd-analyze')) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'systemd-analyze missing and not root: cannot install the systemd package' };
  const reason = aptInstall('ensure-systemd', ['systemd'], () => has('systemd-analyze'), { quiet: true });
  if (reason) return { ok: false, reason };
  return has('systemd-analyze') ? { ok: true } : { ok: false, reason: 'systemd-analyze still missing after apt-get install systemd' };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureSystemd();
  if (!r.ok) {
    console.error(`ensure-systemd: ${r.reason}`);
    process.exit(1);
  }
}
