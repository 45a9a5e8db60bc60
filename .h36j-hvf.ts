import { DEFAULT_HYPARVIEW_CONFIG } from './src/proto/hyparview-config.js';
import { EXPERIMENTS } from './src/sim/experiments.js';
const w = Number(process.argv[2]);
(DEFAULT_HYPARVIEW_CONFIG as { walkEndWithRoom: number }).walkEndWithRoom = w;
const r = EXPERIMENTS['hyparview-failures']({ nodes: Number(process.argv[3]), seed: Number(process.argv[4] ?? 1) } as never) as unknown as Record<string, unknown>;
for (const row of (r.rows as { overlay: string; broadcast: string; failed: number; reliability: number[] }[])) if (row.overlay === "hyparview" && row.failed >= 80) console.log(`seed=${process.argv[4] ?? 1} w=${w} ${row.broadcast} ${row.failed}: ${row.reliability.join(" ")}`);
