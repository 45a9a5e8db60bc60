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

/** Connected components of an overlay given as each node's neighbour addresses (`addrs[i]` is
 *  node i's address; links taken as undirected, links to unknown addresses ignored), and the
 *  number of links between the two sides `a` (node indices) and the rest. */
export function overlayShape(addrs: readonly string[], neighbors: readonly (readonly string[])[], a: readonly number[]): { components: number; crossLinks: number } {
  const index = new Map(addrs.map((x, i) => [x, i]));
  const uf = new UnionFind(addrs.length);
  const inA = new Set(a);
  let cross = 0;
  neighbors.forEach((ns, i) => {
    for (const p of ns) {
      const j = index.get(p);
      if (j === undefined) continue;
      uf.union(i, j);
      if (inA.has(i) !== inA.has(j)) cross++;
    }
  });
  let c = 0;
  for (let i = 0; i < addrs.length; i++) if (uf.find(i) === i) c++;
  return { components: c, crossLinks: cross };
}
