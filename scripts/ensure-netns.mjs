// Makes sure `ip` (iproute2) and `iptables` exist for the network-namespace tests; installs the
// Debian packages when one is missing (root only). Exits 0 when both are available, 1 otherwise
// with a one-line reason on stderr. Usage: node scripts/ensure-netns.mjs
import { spawnSync } from 'node:child_process';
import { aptInstall } from './apt.mjs';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function ensureNetns() {
  if (has('ip') && has('iptables')) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'ip/iptables missing and not root: cannot install iproute2 iptables' };
  const reason = aptInstall('ensure-netns', ['iproute2', 'iptables'], () => has('ip') && has('iptables'), { quiet: true, recommends: true });
  if (reason) return { ok: false, reason };
  return has('ip') && has('iptables') ? { ok: true } : { ok: false, reason: 'ip/iptables still missing after apt-get install' };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureNetns();
  if (!r.ok) {
    console.error(`ensure-netns: ${r.reason}`);
    process.exit(1);
  }
}
