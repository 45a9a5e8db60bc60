/**
 * Serf's convergence model, as its web "Convergence Simulator" computed it (hashicorp/serf
 * website, `_simulator.js`, removed from the repository in 2024; see
 * /work/shared/reference/protocols.md §3.5). It is a closed-form logistic (SI epidemic) curve,
 * not a simulation:
 *
 *   contact rate  β = (fanout / n) · (1 − loss) · (1 − failed) · 0.5
 *   fraction infected after x rounds  I(x) = 1 / (1 + (n + 1) · e^(−β·n·x))
 *   time  t = x · interval;  plotted from x = 0 until I ≥ 99.99% or x = 100 (exclusive)
 *   bandwidth  = 1400 B · fanout · (1 / interval) · 2   (sent + received, per node)
 *
 * Serf printed the bandwidth as `bytes · 8 / 1024` and labelled it "kbps"; that is kibibits per
 * second. At the defaults 1400 · 3 · 5 · 2 = 42,000 B/s = 336,000 bit/s, which is 336 kbit/s
 * (SI) or 328.1 Kibit/s — Serf's "328 kbps". We report both.
 *
 * Differs from Serf: nothing in the formula. Validation returns a result naming the field
 * (Serf used alert()); the accepted ranges are Serf's.
 */

/** Serf's five inputs. Loss and failed are percentages (0 ≤ x < 100), as on Serf's page. */
export interface SerfInputs {
  /** Gossip interval in seconds. Serf default 0.2 (memberlist LAN GossipInterval 200 ms). */
  interval: number;
  /** Gossip fanout. Serf default 3 (memberlist LAN GossipNodes 3). */
  fanout: number;
  /** Cluster size. Serf simulator default 30. */
  nodes: number;
  /** Packet loss, percent. Serf simulator default 0. */
  lossPct: number;
  /** Failed nodes, percent. Serf simulator default 0. */
  failedPct: number;
}

/** Serf simulator defaults (protocols.md §3.5, read from Serf's `_simulator.js`). */
export const SERF_DEFAULTS: SerfInputs = { interval: 0.2, fanout: 3, nodes: 30, lossPct: 0, failedPct: 0 };

/** Serf stops the curve at this fraction (`maxConverge`). */
export const SERF_MAX_CONVERGE = 0.9999;
/** Serf stops the curve after this many rounds. */
export const SERF_MAX_ROUNDS = 100;
/** Serf's assumed packet size in bytes (memberlist UDP buffer ≈ 1400 B). */
export const SERF_PACKET_BYTES = 1400;

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Validate inputs with Serf's own rules; the reason names the field. */
export function validateSerfInputs(x: Partial<Record<keyof SerfInputs, unknown>>): Validated<SerfInputs> {
  const v: SerfInputs = { ...SERF_DEFAULTS };
  for (const key of Object.keys(SERF_DEFAULTS) as (keyof SerfInputs)[]) {
    const raw = x[key];
    if (raw === undefined || raw === '') continue;
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(n)) return { ok: false, reason: `${key}: must be a number, got ${JSON.stringify(raw)}` };
    v[key] = n;
  }
  if (v.interval <= 0) return { ok: false, reason: 'interval: gossip interval must be a positive value' };
  if (v.fanout <= 0) return { ok: false, reason: 'fanout: gossip fanout must be a positive value' };
  if (v.nodes <= 1) return { ok: false, reason: 'nodes: must have more than one node' };
  if (v.lossPct < 0 || v.lossPct >= 100) return { ok: false, reason: 'lossPct: packet loss must be ≥ 0 and < 100' };
  if (v.failedPct < 0 || v.failedPct >= 100) return { ok: false, reason: 'failedPct: failed nodes must be ≥ 0 and < 100' };
  return { ok: true, value: v };
}

/** Fraction of nodes infected after `round` rounds (Serf's `convergenceAtRound`). */
export function serfFractionAtRound(inp: SerfInputs, round: number): number {
  const n = inp.nodes;
  const beta = (inp.fanout / n) * (1 - inp.lossPct / 100) * (1 - inp.failedPct / 100) * 0.5;
  return 1 / (1 + (n + 1) * Math.exp(-beta * n * round));
}

export interface CurvePoint {
  /** Seconds. */
  t: number;
  /** Percent converged, 0..100. */
  pct: number;
}

/** Serf's plotted series: rounds 0, 1, … until ≥ 99.99% or 100 points. */
export function serfCurve(inp: SerfInputs): CurvePoint[] {
  const out: CurvePoint[] = [];
  let last = 0;
  for (let x = 0; last < SERF_MAX_CONVERGE && x < SERF_MAX_ROUNDS; x++) {
    last = serfFractionAtRound(inp, x);
    out.push({ t: x * inp.interval, pct: last * 100 });
  }
  return out;
}

/** First time (s) at which the curve reaches `pct` percent, or null if it never does. */
export function timeToPct(curve: readonly CurvePoint[], pct: number): number | null {
  for (const p of curve) if (p.pct >= pct) return p.t;
  return null;
}

export interface SerfBandwidth {
  bytesPerSec: number;
  /** SI kilobits per second (1000 bit). */
  kbitPerSec: number;
  /** Kibibits per second (1024 bit): the figure Serf's page printed as "kbps". */
  kibitPerSec: number;
}

/** Serf's per-node bandwidth estimate (`bytesUsed`). */
export function serfBandwidth(inp: SerfInputs): SerfBandwidth {
  const bytesPerSec = SERF_PACKET_BYTES * inp.fanout * (1 / inp.interval) * 2;
  return { bytesPerSec, kbitPerSec: (bytesPerSec * 8) / 1000, kibitPerSec: (bytesPerSec * 8) / 1024 };
}
