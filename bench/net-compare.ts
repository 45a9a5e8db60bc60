/**
 * `bench/net.ts --compare`: what encryption costs, from plaintext and encrypted runs made back
 * to back (issue 13 §1: encrypted throughput of 1 KB broadcasts ≥ 70 % of plaintext).
 *
 * Two figures per pair of runs:
 * - the throughput ratio: encrypted `throughput_msgs_per_s` over plaintext (the highest ramp
 *   step each held with every message delivered and p99 < 200 ms; it moves in ramp steps,
 *   hence the finer ladder `COMPARE_RATES`);
 * - the CPU ratio: plaintext over encrypted CPU per message per node, at every rate where both
 *   runs delivered every message (whatever the p99: on a loaded machine a run can miss the
 *   latency target at the first step while its CPU per message is still measured), and at the
 *   highest such rate. Were the nodes CPU-bound, this is the throughput ratio;
 *   it is the steadier figure on a shared machine (the two runs of a pair may not see the same
 *   load from other processes, which moves the throughput far more than the CPU per message).
 *
 * Pure functions over the JSON rows bench/net.ts writes (tested in test/scripts).
 */

/** Ramp rates of `--compare`: the default ladder with steps of ~5–10 % from 5,000/s, so that
 *  a ratio near 70 % is resolved (with the default ladder 7,500 against 11,000 reads 68 %
 *  and 10,000 against 11,000 reads 91 %, nothing in between). */
export const COMPARE_RATES = [250, 500, 1000, 2000, 3000, 5000, 6000, 7000, 7500, 8000, 8500, 9000, 9500, 10_000, 10_500, 11_000, 11_500, 12_000, 12_500, 15_000];

/** The fields of a bench/net.ts result this module reads. */
export interface NetRun {
  encrypt: boolean;
  loadavg_1m_at_end: number | null;
  throughput_msgs_per_s: number;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  ramp: Array<{ rate: number; complete: number; count: number; p99: number | null; cpuUsPerMsg: number | null }>;
}

/** One plaintext/encrypted pair, compared. */
export interface PairResult {
  pair: number;
  /** Which ran first (the order alternates between pairs). */
  first: 'plain' | 'encrypt';
  load_1m: { plain: number | null; encrypt: number | null };
  throughput: { plain: number; encrypt: number; ratio: number | null };
  latency_p99_ms: { plain: number | null; encrypt: number | null };
  /** Per rate where both runs delivered every message: CPU per message per node (µs) and
   *  plain / encrypt. */
  cpu: Array<{ rate: number; plain: number; encrypt: number; ratio: number }>;
  /** The CPU ratio at the highest such rate (null when there is none). */
  cpu_ratio_top: number | null;
}

const complete = (s: NetRun['ramp'][number]): boolean => s.complete === s.count;
const r2 = (x: number): number => Math.round(x * 1000) / 1000;

/** Compare one plaintext run with one encrypted run. */
export function comparePair(pair: number, first: 'plain' | 'encrypt', plain: NetRun, enc: NetRun): PairResult {
  const encByRate = new Map(enc.ramp.filter(complete).map((s) => [s.rate, s]));
  const cpu: PairResult['cpu'] = [];
  for (const p of plain.ramp.filter(complete)) {
    const e = encByRate.get(p.rate);
    if (e === undefined || p.cpuUsPerMsg === null || e.cpuUsPerMsg === null || e.cpuUsPerMsg <= 0) continue;
    cpu.push({ rate: p.rate, plain: p.cpuUsPerMsg, encrypt: e.cpuUsPerMsg, ratio: r2(p.cpuUsPerMsg / e.cpuUsPerMsg) });
  }
  return {
    pair,
    first,
    load_1m: { plain: plain.loadavg_1m_at_end, encrypt: enc.loadavg_1m_at_end },
    throughput: { plain: plain.throughput_msgs_per_s, encrypt: enc.throughput_msgs_per_s, ratio: plain.throughput_msgs_per_s > 0 ? r2(enc.throughput_msgs_per_s / plain.throughput_msgs_per_s) : null },
    latency_p99_ms: { plain: plain.latency_p99_ms, encrypt: enc.latency_p99_ms },
    cpu,
    cpu_ratio_top: cpu.length === 0 ? null : cpu[cpu.length - 1].ratio,
  };
}

/** Median of the non-null values (null when there are none). */
export function median(xs: Array<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m] : r2((v[m - 1] + v[m]) / 2);
}

/** The summary printed and written at the end of `--compare`. */
export function summarize(pairs: PairResult[]): { pairs: PairResult[]; throughput_ratio_median: number | null; cpu_ratio_top_median: number | null; target_ratio: number } {
  return {
    pairs,
    throughput_ratio_median: median(pairs.map((p) => p.throughput.ratio)),
    cpu_ratio_top_median: median(pairs.map((p) => p.cpu_ratio_top)),
    target_ratio: 0.7,
  };
}

/** Lines of the printed comparison. */
export function formatPairs(pairs: PairResult[]): string[] {
  const pc = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(0)} %`);
  const lines = ['pair | first | load plain / enc | throughput plain → enc (ratio) | CPU µs/msg/node plain → enc (ratio) at the highest rate both delivered whole | low-load p99 plain / enc'];
  for (const p of pairs) {
    const top = p.cpu.length === 0 ? null : p.cpu[p.cpu.length - 1];
    const cpu = top === null ? '—' : `${top.plain} → ${top.encrypt} (${pc(top.ratio)}) at ${top.rate}/s`;
    lines.push(
      `${p.pair} | ${p.first} | ${p.load_1m.plain ?? '?'} / ${p.load_1m.encrypt ?? '?'} | ${p.throughput.plain} → ${p.throughput.encrypt} (${pc(p.throughput.ratio)}) | ${cpu} | ${p.latency_p99_ms.plain ?? '—'} / ${p.latency_p99_ms.encrypt ?? '—'} ms`,
    );
  }
  const s = summarize(pairs);
  lines.push(`median throughput ratio ${pc(s.throughput_ratio_median)}, median CPU ratio at the top common rate ${pc(s.cpu_ratio_top_median)} (target ≥ 70 %)`);
  return lines;
}
