/**
 * `tag_update_ms` of the cluster benchmark (bench/cluster.ts): a tag set at one agent until
 * every agent's member list shows it. rumor: `POST /v1/tags` (what `rumor tags --set` calls)
 * then `GET /v1/members` at every agent; Serf: the RPC `tags` command (what
 * `serf tags -set` calls) then the RPC `members` at every agent. Both polled every 20 ms over
 * kept-alive connections. `TAG_UPDATES` updates, each at the next agent round-robin with a
 * fresh value; the figure is their median, every latency is kept.
 */

/** How one system sets a tag and lists every member's tags. */
export interface TagOps {
  /** Set tag `key=value` at agent `i`. */
  set(i: number, key: string, value: string): Promise<void>;
  /** Tags of every member agent `i` lists, by member name. */
  tags(i: number): Promise<Map<string, Record<string, string>>>;
}

/** Updates measured per run. */
export const TAG_UPDATES = 5;

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Measure `TAG_UPDATES` tag updates on `n` agents named `n0..n{n-1}`; latencies in ms
 *  (a missing one: it did not reach every agent within 30 s, noted). */
export async function measureTagUpdates(ops: TagOps, n: number, notes: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < TAG_UPDATES; k++) {
    const at = k % n;
    const name = `n${at}`;
    const value = `v${k}x${Date.now()}`;
    const t0 = nowMs();
    await ops.set(at, 'bench', value);
    const pending = new Set(Array.from({ length: n }, (_, i) => i));
    const deadline = Date.now() + 30_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await Promise.all(
        [...pending].map(async (i) => {
          try {
            if ((await ops.tags(i)).get(name)?.bench === value) pending.delete(i);
          } catch {
            // the agent did not answer this poll: poll again
          }
        }),
      );
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 20));
    }
    if (pending.size > 0) notes.push(`tag update ${k} did not reach ${pending.size} agents within 30 s`);
    else out.push(nowMs() - t0);
  }
  return out;
}
