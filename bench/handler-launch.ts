/**
 * What starting one handler run costs, through the agent's launcher (src/agent/spawn-helper.ts)
 * against the agent's own `spawn` (a fork of the agent): one process of about an agent's size
 * (its heap grown to `--heap-mb`, default 50 MB, on top of Node's own) runs the cluster bench's
 * bash handler (`read -r p; printf ... >> file`) `--runs` times one after the other through a
 * `HandlerRunner`, alternating the two ways in blocks of 50 runs, and counts per run:
 *   - this process's CPU (every thread, `process.cpuUsage`),
 *   - the launcher's own CPU (`/proc/<pid>/stat` utime + stime),
 *   - the handlers' CPU (cutime + cstime of this process and of the launcher: 10 ms ticks),
 *   - the wall time of a run (start to exit reported), median.
 * CPU is the figure to compare: when every node of a cluster runs a handler for the same event
 * on 2 cores, the CPU of all of them is the event's latency. Wall times depend on the load.
 *
 *   npm run bench:handler-launch -- [--runs 400] [--heap-mb 50]
 *
 * Prints a table and writes bench/results/handler-launch.json.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HandlerRunner } from '../src/agent/handlers.js';
import { createLogger } from '../src/agent/log.js';
import { LAUNCHER_COMMS } from './support/host-stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function args(): { runs: number; heapMb: number } {
  const o = { runs: 400, heapMb: 50 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const v = Number(a[i + 1]);
    if (a[i] === '--runs' && Number.isInteger(v) && v >= 100) o.runs = v;
    else if (a[i] === '--heap-mb' && Number.isInteger(v) && v >= 0 && v <= 2000) o.heapMb = v;
    else {
      process.stderr.write(`bench/handler-launch: bad argument ${JSON.stringify(a[i])} (expected --runs N >= 100, --heap-mb 0..2000)\n`);
      process.exit(2);
    }
  }
  return o;
}

/** utime+stime and cutime+cstime (ms) of a process. */
function stat(pid: number): { self: number; kids: number } {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { self: ((Number(f[11]) + Number(f[12])) * 1000) / HZ, kids: ((Number(f[13]) + Number(f[14])) * 1000) / HZ };
  } catch {
    return { self: 0, kids: 0 };
  }
}

/** The launcher child (`rumor-launcher`, or `perl` where the native one is not built) of this process, if it runs. */
function launcherPid(): number | undefined {
  const kids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids.map(Number).find((k) => {
    try {
      return LAUNCHER_COMMS.has(readFileSync(`/proc/${k}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  });
}

async function main(): Promise<void> {
  const { runs, heapMb } = args();
  // Grow the heap as an agent's is grown (a fork copies the page tables of what is mapped).
  const ballast: unknown[] = [];
  for (let i = 0; i < heapMb * 10_000; i++) ballast.push({ i, s: `x${i}` });
  const dir = mkdtempSync(join(tmpdir(), 'bench-launch-'));
  const script = join(dir, 'handler.sh');
  writeFileSync(script, `#!/bin/bash\nread -r p\nprintf '%s %s\\n' "$EPOCHREALTIME" "$p" >> ${dir}/log\n`);
  chmodSync(script, 0o755);
  const logger = createLogger({ level: 'error', format: 'json', destination: { write: () => {} } });
  const make = (launcher: 'helper' | 'direct'): HandlerRunner =>
    new HandlerRunner({ handlers: [{ filters: ['user'], script }], self: () => ({ name: 'n0', addr: '127.0.0.1:1', tags: {} }), timeoutMs: 10_000, concurrency: 1, queueSize: 4, logger, captureStdout: false, launcher });
  const runners = { helper: make('helper'), direct: make('direct') };
  await runners.helper.warmUp();
  await runners.direct.warmUp();
  const helperPid = launcherPid();
  const acc = { helper: { self: 0, launcher: 0, kids: 0, n: 0, wall: [] as number[] }, direct: { self: 0, launcher: 0, kids: 0, n: 0, wall: [] as number[] } };
  const load0 = loadavg()[0];
  const payload = new TextEncoder().encode('event-payload\n');
  for (let block = 0; block < runs / 50; block++) {
    const way = block % 2 === 0 ? 'helper' : 'direct';
    const r = runners[way];
    const c0 = process.cpuUsage();
    const s0 = stat(process.pid);
    const l0 = helperPid === undefined ? { self: 0, kids: 0 } : stat(helperPid);
    for (let k = 0; k < 50; k++) {
      const t0 = performance.now();
      r.dispatch({ type: 'user', id: `${block}-${k}`, name: 'bench', payload, origin: 'o:1', ltime: block * 50 + k + 1 });
      await r.idle();
      acc[way].wall.push(performance.now() - t0);
    }
    const c = process.cpuUsage(c0);
    const s1 = stat(process.pid);
    const l1 = helperPid === undefined ? { self: 0, kids: 0 } : stat(helperPid);
    acc[way].self += (c.user + c.system) / 1000;
    acc[way].launcher += l1.self - l0.self;
    acc[way].kids += s1.kids - s0.kids + (l1.kids - l0.kids);
    acc[way].n += 50;
  }
  runners.helper.close();
  runners.direct.close();
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const row = (w: 'helper' | 'direct') => {
    const a = acc[w];
    const wall = [...a.wall].sort((x, y) => x - y);
    return { agent_cpu_ms_per_run: r3(a.self / a.n), launcher_cpu_ms_per_run: r3(a.launcher / a.n), handler_cpu_ms_per_run: r3(a.kids / a.n), total_cpu_ms_per_run: r3((a.self + a.launcher + a.kids) / a.n), wall_ms_p50: r3(wall[Math.floor(wall.length / 2)]), runs: a.n };
  };
  const result = { rss_mb: Math.round(process.memoryUsage().rss / 1e6), heap_mb_ballast: heapMb, load_avg_1m: [r3(load0), r3(loadavg()[0])], helper: row('helper'), direct: row('direct'), launcher_found: helperPid !== undefined, date: new Date().toISOString() };
  ballast.length = 0;
  process.stdout.write(
    `RSS ${result.rss_mb} MB, load ${result.load_avg_1m.join(' -> ')}; per run (ms):  agent CPU  launcher CPU  handler CPU  total CPU  wall p50\n` +
      (['helper', 'direct'] as const).map((w) => `${w.padEnd(8)} ${String(result[w].agent_cpu_ms_per_run).padStart(48)} ${String(result[w].launcher_cpu_ms_per_run).padStart(13)} ${String(result[w].handler_cpu_ms_per_run).padStart(12)} ${String(result[w].total_cpu_ms_per_run).padStart(10)} ${String(result[w].wall_ms_p50).padStart(9)}`).join('\n') +
      '\n',
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'handler-launch.json'), JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/handler-launch: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
