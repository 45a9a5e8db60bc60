/**
 * Seed resolution: turns the seeds given to `join` (`host:port`, where host is an IP address
 * or a DNS name) into peer addresses (`ip:port`, the form nodes advertise). A name may resolve
 * to several addresses — a headless Kubernetes service, a round-robin record naming a whole
 * fleet — and every one of them becomes a contact. Names are resolved with `dns.lookup`
 * (`all: true`: the system resolver, so /etc/hosts counts) unless another resolver is given.
 *
 * The protocol machine only ever sees addresses: `RumorNode` resolves again on the machine's
 * retry cadence (see `SeedWatch`) and hands new addresses to it, so a fleet that comes up
 * behind a name is found as its members appear.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatAddr, parseAddr } from './util.js';

/** Resolves a host name to its addresses (IPv4 or IPv6 literals). */
export type HostResolver = (hostname: string) => Promise<string[]>;

/** The default resolver: `dns.lookup(name, { all: true })`. */
export const systemResolver: HostResolver = async (hostname) => {
  const rs = await lookup(hostname, { all: true });
  return rs.map((r) => r.address);
};

/** Outcome of resolving a list of seeds. */
export interface SeedResolution {
  /** Peer addresses, in seed order, without duplicates. */
  addresses: string[];
  /** Seeds whose name did not resolve, with the resolver's one-line reason. */
  failed: { seed: string; reason: string }[];
}

/** True if `seed`'s host is a DNS name (not an IP literal). Malformed seeds: false. */
export function isNamedSeed(seed: string): boolean {
  const a = parseAddr(seed);
  return a.ok && isIP(a.value.host) === 0;
}

/**
 * Resolve `seeds` (each `host:port`, already validated with `parseAddr`). IP seeds are kept
 * as they are (normalised: brackets around IPv6); names become one address per resolved IP,
 * with the seed's port. A name that fails is reported in `failed`, never thrown.
 */
export async function resolveSeeds(seeds: readonly string[], resolver: HostResolver = systemResolver): Promise<SeedResolution> {
  const out: string[] = [];
  const failed: SeedResolution['failed'] = [];
  const add = (a: string): void => {
    if (!out.includes(a)) out.push(a);
  };
  const answers = await Promise.all(
    seeds.map(async (seed) => {
      const a = parseAddr(seed);
      if (!a.ok) return { seed, error: a.reason, ips: [] as string[], port: 0 };
      const { host, port } = a.value;
      if (isIP(host) !== 0) return { seed, error: null, ips: [host], port };
      try {
        const ips = await resolver(host);
        if (!Array.isArray(ips) || ips.length === 0) return { seed, error: `${host}: no address`, ips: [], port };
        return { seed, error: null, ips: ips.filter((ip) => typeof ip === 'string' && isIP(ip) !== 0), port };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return { seed, error: `${host}: ${e.code ?? e.message.split('\n')[0]}`, ips: [], port };
      }
    }),
  );
  for (const r of answers) {
    if (r.error !== null) failed.push({ seed: r.seed, reason: r.error });
    for (const ip of r.ips) add(formatAddr(ip, r.port));
  }
  return { addresses: out, failed };
}

/**
 * Keeps resolving the named seeds of a node: once at once, then again after `delayMs()`
 * (the protocol's retry cadence), handing every answer's addresses to `feed` (the machine
 * merges them into its contacts). While the answers bring no new address the delay doubles
 * (up to 64 × `delayMs()`), so a lone node behind a name that lists only itself does not
 * query every few hundred milliseconds. Stops with `close()`. Its timer does not keep the
 * process alive.
 */
export class SeedWatch {
  private readonly names: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private closed = false;
  private readonly known = new Set<string>();
  private idle = 0;

  constructor(
    private readonly resolver: HostResolver,
    private readonly feed: (r: SeedResolution) => void,
    private readonly delayMs: () => number,
  ) {}

  /** Watch the named seeds among `seeds` too, and resolve now. */
  async add(seeds: readonly string[]): Promise<SeedResolution> {
    for (const s of seeds) if (isNamedSeed(s) && !this.names.includes(s)) this.names.push(s);
    return this.tick();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<SeedResolution> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.running = true;
    let r: SeedResolution;
    try {
      r = await resolveSeeds(this.names, this.resolver);
    } finally {
      this.running = false;
    }
    if (this.closed) return r;
    this.feed(r);
    let fresh = false;
    for (const a of r.addresses) {
      if (!this.known.has(a)) {
        this.known.add(a);
        fresh = true;
      }
    }
    this.idle = fresh ? 0 : Math.min(this.idle + 1, 6);
    if (this.timer === null && !this.running && this.names.length > 0) {
      this.timer = setTimeout(() => void this.tick(), this.delayMs() * 2 ** this.idle);
      this.timer.unref();
    }
    return r;
  }
}
