/**
 * `query_all_ms` of the cluster benchmark (bench/cluster.ts): a query to every agent until
 * every agent's response is back at the asker. The answer is the same script on both systems
 * (`query:bench` handler: `#!/bin/sh`, prints the node's name). rumor: `POST /v1/query`
 * (what `rumor query` calls), its streamed lines counted as they arrive; Serf: the RPC `query`
 * command (what `serf query` calls), its `response` records counted as they arrive. The
 * latency is taken at the N-th response, so both are measured the same way whether or not the
 * system also ends the query early (rumor does; Serf waits for its timeout, which is not
 * counted). `QUERIES` queries, each from the next agent round-robin; the figure is their
 * median, every latency is kept.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';

/** How one system asks a query and reports each response's arrival. */
export interface QueryOps {
  /** Ask query `name` at agent `i`; call `onResponse` at each response; resolve when the query
   *  stream ends (or `timeoutMs` passed). */
  query(i: number, name: string, timeoutMs: number, onResponse: () => void): Promise<void>;
}

/** Queries measured per run. */
export const QUERIES = 5;
/** Timeout of each query (both systems): long enough never to cut a slow answer. */
export const QUERY_TIMEOUT_MS = 15_000;

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The `query:bench` handler script (same for both systems). */
export function writeQueryHandler(dir: string): string {
  const p = join(dir, 'query-handler.sh');
  writeFileSync(p, '#!/bin/sh\necho "answer from $RUMOR_SELF_NAME$SERF_SELF_NAME"\n');
  chmodSync(p, 0o755);
  return p;
}

/** Measure `QUERIES` queries to all `n` agents; latencies in ms until the n-th response (a
 *  query that did not get n responses is noted and left out). */
export async function measureQueries(ops: QueryOps, n: number, notes: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < QUERIES; k++) {
    const at = k % n;
    let got = 0;
    let allAt: number | null = null;
    const t0 = nowMs();
    try {
      await ops.query(at, 'bench', QUERY_TIMEOUT_MS, () => {
        got++;
        if (got === n) allAt = nowMs();
      });
    } catch (e) {
      notes.push(`query ${k} at agent ${at} failed: ${(e as Error).message}`);
      continue;
    }
    if (allAt === null) notes.push(`query ${k}: ${got} of ${n} responses within ${QUERY_TIMEOUT_MS} ms`);
    else out.push(allAt - t0);
  }
  return out;
}

/** A streamed HTTP POST (`application/x-ndjson`): `onLine` for each line; resolves at its end. */
export function httpLines(keepAlive: HttpAgent, port: number, path: string, body: string, onLine: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: keepAlive, method: 'POST', timeout: 30_000, headers: { 'content-type': 'application/json' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let k: number;
        while ((k = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, k));
          buf = buf.slice(k + 1);
        }
      });
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode} ${buf}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}
