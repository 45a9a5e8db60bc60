/**
 * The force simulation of the graph layout (d3-force), shared by the layout worker and the
 * tests: links pull neighbours together (`spacing` apart), every node repels every other
 * (Barnes–Hut), and each node is pulled towards its connected component's slot
 * (`componentTargets`), so separate components end up side by side.
 */
import { forceLink, forceManyBody, forceSimulation, forceX, forceY, type Simulation, type SimulationNodeDatum } from 'd3-force';
import { componentTargets, layoutTicks } from './layout-protocol.js';

export interface LayoutNode extends SimulationNodeDatum {
  i: number;
}

/**
 * A stopped simulation over `nodes` (positions set) and `links` (index pairs): the caller
 * ticks it until `alpha() <= alphaMin()`. `warm`: a small restart of a laid-out graph, hotter
 * when the number of components changed since `lastComponents` (a split or a merge moves
 * nodes far).
 */
export function createLayout(nodes: LayoutNode[], linkPairs: Int32Array, warm: boolean, lastComponents: number): { sim: Simulation<LayoutNode, undefined>; components: number } {
  const n = nodes.length;
  const links: { source: number; target: number }[] = [];
  for (let k = 0; k + 1 < linkPairs.length; k += 2) links.push({ source: linkPairs[k], target: linkPairs[k + 1] });
  const dense = n > 2000;
  const spacing = dense ? 12 : 30;
  const t = componentTargets(n, linkPairs, spacing);
  const alpha = !warm ? 1 : t.components !== lastComponents ? 0.8 : 0.4;
  const sim = forceSimulation<LayoutNode>(nodes)
    .force('link', forceLink<LayoutNode, { source: number; target: number }>(links).id((d) => d.i).distance(spacing).iterations(1))
    .force('charge', forceManyBody<LayoutNode>().strength(dense ? -8 : -40).theta(0.9).distanceMax(dense ? 200 : 600))
    .force('x', forceX<LayoutNode>((d) => t.tx[d.i]).strength(0.08))
    .force('y', forceY<LayoutNode>((d) => t.ty[d.i]).strength(0.08))
    .alpha(alpha)
    .alphaMin(0.002)
    .alphaDecay(1 - Math.pow(0.002 / alpha, 1 / layoutTicks(n)))
    .stop();
  return { sim, components: t.components };
}
