/**
 * The shape of a running overlay of library nodes in one process, as the bootstrap benchmark
 * (bench/bootstrap.ts) and its test (test/net/bootstrap.test.ts) both measure it.
 */
import type { RumorNode } from '../../src/index.js';
import { UnionFind } from '../../src/sim/union-find.js';

/** Connected components of the nodes' active views (links taken as undirected). */
export function overlayComponents(nodes: readonly RumorNode[]): number {
  const index = new Map(nodes.map((n, i) => [n.address, i]));
  const uf = new UnionFind(nodes.length);
  nodes.forEach((n, i) => {
    for (const p of n.neighbors()) {
      const j = index.get(p);
      if (j !== undefined) uf.union(i, j);
    }
  });
  let c = 0;
  for (let i = 0; i < nodes.length; i++) if (uf.find(i) === i) c++;
  return c;
}
