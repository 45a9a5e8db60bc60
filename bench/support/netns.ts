/**
 * A throw-away multi-host lab in Linux network namespaces, made and removed by the tests
 * (`test/multi/`) and by `bench/faults.ts` (shared here: tests may import bench support, never
 * the other way round).
 *
 * Layout (names unique per run, `<tag>` = 5 random hex digits):
 *   namespace `rm<tag>-hub`  holds bridge `br0`; one veth end `v<tag>h<i>` per host is a port of it;
 *   namespace `rm<tag>-h<i>` holds the other end, renamed `eth0`, address 10.231.0.<10+i>/24.
 * Nothing is created in the root namespace and no route leaves the lab: the only addresses are
 * the private ones on these veth links. Cutting a host = setting its bridge port down (the host
 * sees no carrier, its peers see silence: no RST). A partition = iptables DROP rules inside the
 * hosts' own namespaces (again silence, no RST). `isolate` drops every packet of one host at its
 * own interface (silence), `loss` drops a random share of the gossip packets at every host
 * (`-m statistic --mode random`). With `withHubAddress`, the hub's bridge gets 10.231.0.1 so a
 * process run in the hub namespace (`exec`) can reach every host (the benchmark's poller).
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENSURE = fileURLToPath(new URL('../../scripts/ensure-netns.mjs', import.meta.url));

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, ...cmd: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Whether namespaces can be made here: installs iproute2/iptables if missing (scripts/ensure-netns.mjs),
 * then tries `ip netns add` once. Returns null when usable, else the reason to skip.
 */
export function netnsUnavailable(): string | null {
  const e = spawnSync(process.execPath, [ENSURE], { encoding: 'utf8' });
  if (e.status !== 0) return `cannot get ip/iptables: ${e.stderr.trim()}`;
  const probe = `rmprobe${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create network namespaces (ip netns add: ${r.stderr.trim() || r.error?.message}); needs root/CAP_SYS_ADMIN`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

/** Bearer token given to the agents' APIs in a lab (an API on a non-loopback address needs one). */
export const LAB_API_TOKEN = 'rumor-lab-token';

/** Address of the hub's bridge when the lab is made `withHubAddress`. */
export const HUB_IP = '10.231.0.1';

/** The lab: `hosts` namespaces on one bridge. */
export class NetLab {
  readonly tag = randomBytes(3).toString('hex').slice(0, 5);
  readonly hub = `rm${this.tag}-hub`;
  readonly hosts: string[] = [];
  readonly ips: string[] = [];
  private readonly made: string[] = [];
  /** /etc/netns/<ns> folders made by `resolveName`. */
  private readonly etcDirs: string[] = [];

  /** Build the hub and `n` hosts (≤ 200). Throws with the failing command's stderr. With
   *  `withHubAddress`, the hub's bridge gets `HUB_IP` (see the module comment). */
  create(n: number, withHubAddress = false): void {
    ip('netns', 'add', this.hub);
    this.made.push(this.hub);
    ip('-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.hub, 'link', 'set', 'br0', 'up');
    ip('-n', this.hub, 'link', 'set', 'lo', 'up');
    if (withHubAddress) ip('-n', this.hub, 'addr', 'add', `${HUB_IP}/24`, 'dev', 'br0');
    for (let i = 0; i < n; i++) {
      const ns = `rm${this.tag}-h${i}`;
      ip('netns', 'add', ns);
      this.made.push(ns);
      const port = this.port(i);
      ip('-n', this.hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', this.hub, 'link', 'set', port, 'master', 'br0');
      ip('-n', this.hub, 'link', 'set', port, 'up');
      const addr = `10.231.0.${10 + i}`;
      ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      this.hosts.push(ns);
      this.ips.push(addr);
    }
  }

  private port(i: number): string {
    return `v${this.tag}h${i}`;
  }

  /** Cut (down) or restore (up) host `i`'s link at the bridge. */
  setLink(i: number, up: boolean): void {
    ip('-n', this.hub, 'link', 'set', this.port(i), up ? 'up' : 'down');
  }

  /**
   * Drop every packet between hosts in `a` and hosts in `b`, both directions, at the receiver
   * (INPUT rules on both sides): the sender's packets leave and vanish, as across a broken
   * network. Not OUTPUT rules: those fail the sender's own `sendto`/`connect` with EPERM, a
   * local error that memberlist does not count against the peer (Serf's logs showed "Failed to
   * send ping: ... operation not permitted" every second of a 30 s partition and no member
   * failed, so its `heal_ms` measured nothing), and that rumor's runtime reports as a refused
   * dial (fast evidence a real partition does not give).
   */
  partition(a: number[], b: number[]): void {
    for (const [mine, theirs] of [[a, b], [b, a]] as const) {
      for (const h of mine) {
        for (const t of theirs) inNs(this.hosts[h], 'iptables', '-A', 'INPUT', '-s', this.ips[t], '-j', 'DROP');
      }
    }
  }

  /** Drop every packet host `i` sends or receives on its link (no reset: silence). */
  isolate(i: number): void {
    inNs(this.hosts[i], 'iptables', '-A', 'INPUT', '-i', 'eth0', '-j', 'DROP');
    inNs(this.hosts[i], 'iptables', '-A', 'OUTPUT', '-o', 'eth0', '-j', 'DROP');
  }

  /** At every host, drop a random share `p` of the incoming TCP and UDP packets from or to
   *  `ports` (the gossip ports); each packet is received by one host, so it is lost with
   *  probability `p`. */
  loss(p: number, ports: number[]): void {
    const list = ports.join(',');
    for (const ns of this.hosts) {
      for (const proto of ['tcp', 'udp']) {
        inNs(ns, 'iptables', '-A', 'INPUT', '-i', 'eth0', '-p', proto, '-m', 'multiport', '--ports', list,
          '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-j', 'DROP');
      }
    }
  }

  /** Spawn `cmd` inside namespace `ns` (`ip netns exec` execs it: the child's pid is `cmd`'s). */
  static spawnIn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** Remove every iptables rule of every host. */
  heal(): void {
    for (const ns of this.hosts) {
      inNs(ns, 'iptables', '-F', 'INPUT');
      inNs(ns, 'iptables', '-F', 'OUTPUT');
    }
  }

  /** Run the shell command `cmd` in host `i`'s namespace; resolves with the wall-clock time
   *  (ms, `date +%s%N` run by the same shell right after `cmd` succeeded) at which it was done:
   *  the moment a rule change took effect, whenever this process gets to run again. */
  stamped(i: number, cmd: string): Promise<number> {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', this.hosts[i], 'sh', '-c', `${cmd} && date +%s%N`], (e, out, err) => {
        const ns = Number(String(out).trim());
        if (e || !Number.isFinite(ns)) reject(new Error(`${cmd} in ${this.hosts[i]}: ${String(err).trim() || e?.message || 'no time printed'}`));
        else resolve(ns / 1e6);
      });
    });
  }

  /** `isolate`, resolving with the time the rules were in (see `stamped`). */
  isolateStamped(i: number): Promise<number> {
    return this.stamped(i, 'iptables -A INPUT -i eth0 -j DROP && iptables -A OUTPUT -o eth0 -j DROP');
  }

  /** Remove every iptables rule of the `hosts` given, all at once (one `iptables -F` per host,
   *  run concurrently, so the hosts are healed within a few milliseconds of each other rather
   *  than one after the other); resolves with the time the last was done (see `stamped`). */
  async flush(hosts: number[]): Promise<number> {
    return Math.max(...(await Promise.all(hosts.map((h) => this.stamped(h, 'iptables -F')))));
  }

  /**
   * Make `name` resolve, inside every host, to each of `ips` (getaddrinfo orders them): a hosts file per
   * namespace, /etc/netns/<ns>/hosts, which `ip netns exec` bind-mounts over /etc/hosts (so
   * `getaddrinfo`, and Node's `dns.lookup(name, { all: true })`, list every address). Removed
   * with the lab.
   */
  resolveName(name: string, ips: string[]): void {
    for (const ns of this.hosts) {
      const dir = `/etc/netns/${ns}`;
      mkdirSync(dir, { recursive: true });
      this.etcDirs.push(dir);
      writeFileSync(`${dir}/hosts`, `127.0.0.1 localhost\n${ips.map((ip) => `${ip} ${name}\n`).join('')}`);
    }
  }

  /** Delete every namespace made (their veths and bridge go with them) and their hosts files. Never throws. */
  destroy(): void {
    for (const ns of this.made.reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    this.made.length = 0;
    for (const dir of this.etcDirs) rmSync(dir, { recursive: true, force: true });
    this.etcDirs.length = 0;
  }
}
