import { MapStore as New, hashString } from './src/proto/members/map-store.js';
const { MapStore: Old } = (await import('/tmp/h36j-base/src/proto/members/map-store.ts')) as { MapStore: typeof New };
function run(C: typeof New, n: number, reps: number): number {
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) {
    const s = new C<string>(hashString, 4);
    for (let i = 0; i < n; i++) {
      s.set(`10.0.0.${i}:${7000 + r}`, 1, 0);
      s.ringStep(0, `10.0.0.0:${7000 + r}`, 1); // a rebuild after every join, as a flush does
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / reps / n;
}
const n = Number(process.argv[2] ?? 50);
for (let pair = 0; pair < 3; pair++) {
  const cold = pair === 0 ? 'first ' : '';
  const nw = run(New, n, pair === 0 ? 1 : 200); const od = run(Old, n, pair === 0 ? 1 : 200); console.log(`new first: ${cold}pair ${pair}: old ${od.toFixed(1)} µs/rebuild, new ${nw.toFixed(1)} µs/rebuild (n ${n}, load ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
}
