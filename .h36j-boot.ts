import { DEFAULT_HYPARVIEW_CONFIG } from './src/proto/hyparview-config.js';
import { bootstrapRun, SEEDINGS } from './src/sim/exp-bootstrap.js';
import { deriveSeed } from './src/sim/seeds.js';
const [w, rule, n, seed] = process.argv.slice(2);
(DEFAULT_HYPARVIEW_CONFIG as { walkEndWithRoom: number }).walkEndWithRoom = Number(w);
(DEFAULT_HYPARVIEW_CONFIG as { bootstrapRejoin: string }).bootstrapRejoin = rule;
for (let k = 0; k < SEEDINGS.length; k++) {
  const r = bootstrapRun(SEEDINGS[k], Number(n), deriveSeed(Number(seed), k));
  console.log(w, rule, JSON.stringify(r));
}
