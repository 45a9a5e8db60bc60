/**
 * Cost of sealing and opening stream records (src/wire/crypto.ts) as a function of how many
 * 1 KB frames a record carries: the figure behind `SEALED_COALESCE_MS` (src/net/connection.ts).
 * One process, no sockets: `StreamSealer.seal` then `StreamOpener.next` on the same record,
 * CPU time (`process.cpuUsage`, so other processes' load disturbs it less than wall time),
 * rounds alternating over the batch sizes, median of the rounds.
 *
 * Run: node --import tsx bench/net-crypto.ts [--rounds 5]. Writes bench/results/net-crypto.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Keyring, StreamOpener, StreamSealer, generateKey } from '../src/wire/crypto.js';

/** Bytes of a 1 KB gossip frame on the wire (payload, envelope, id, header). */
const FRAME = 1060;
const SIZES = [1, 2, 3, 4, 8, 16, 32];

function rounds(): number {
  const i = process.argv.indexOf('--rounds');
  if (i < 0) return 5;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench/net-crypto: --rounds expects an integer ≥ 1, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}

const keyring = new Keyring([generateKey()], 'enforce');
const sealer = new StreamSealer(keyring, 'bench');
const opener = new StreamOpener(keyring, 'bench', 1 << 24);

/** CPU µs per frame to seal and open `records` records of `k` frames. */
function measure(k: number, records: number): number {
  const plain = randomBytes(FRAME * k);
  const c0 = process.cpuUsage();
  for (let i = 0; i < records; i++) {
    opener.push(sealer.seal(plain));
    const step = opener.next();
    if (step.type !== 'data' || step.bytes.length !== plain.length) throw new Error(`record ${i} of ${k} frames did not open: ${JSON.stringify(step)}`);
  }
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / records / k;
}

function main(): void {
  const n = rounds();
  for (const k of SIZES) measure(k, 1000);
  const runs = new Map<number, number[]>(SIZES.map((k) => [k, []]));
  for (let r = 0; r < n; r++) for (const k of SIZES) runs.get(k)!.push(measure(k, Math.max(200, Math.round(40_000 / k))));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = SIZES.map((k) => ({ frames_per_record: k, us_per_frame: Math.round(median(runs.get(k)!) * 100) / 100, us_per_record: Math.round(median(runs.get(k)!) * k * 100) / 100 }));
  // Least squares of µs per record over frames per record: fixed cost + cost per frame.
  const xs = rows.map((r) => r.frames_per_record);
  const ys = rows.map((r) => r.us_per_record);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const fixed = my - slope * mx;
  console.table(Object.fromEntries(rows.map((r) => [`${r.frames_per_record} frames/record`, { 'µs per frame (seal + open)': r.us_per_frame, 'µs per record': r.us_per_record }])));
  const load = os.loadavg()[0];
  console.log(`fit: ${fixed.toFixed(2)} µs per record + ${slope.toFixed(2)} µs per 1 KB frame (seal + open); median of ${n} rounds; 1-min load average ${load.toFixed(2)} on ${os.cpus().length} CPUs`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL('./results/net-crypto.json', import.meta.url);
  const result = { frame_bytes: FRAME, rounds: n, rows, fixed_us_per_record: Math.round(fixed * 100) / 100, us_per_frame: Math.round(slope * 100) / 100, loadavg_1m: Math.round(load * 100) / 100, node: process.version };
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${fileURLToPath(out)}`);
}

main();
