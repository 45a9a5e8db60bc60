/**
 * The live target of bench/fuzz.ts, in a process of its own (so that a crash or a hang is
 * seen from outside): a plaintext node and a keyed node (the fuzzer's key), each with one
 * honest neighbour. Commands over IPC: `addrs`, and `health` — each honest neighbour
 * broadcasts and the target must deliver within 5 s — answered with the RSS and the dropped-
 * frame counts. Fuzzed bytes arrive on the targets' TCP and UDP ports.
 */
import { createNode, type RumorNode } from '../src/index.js';
import { FUZZ_KEY } from './fuzz-frames.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const send = (m: unknown): void => void process.send!(m);

async function pair(keys?: string[]): Promise<[RumorNode, RumorNode]> {
  const keyring = keys === undefined ? undefined : { keys };
  // Large connection budget: the fuzzer opens many short connections.
  const target = createNode({ profile: 'local', logger: quiet, keyring, maxConnections: 4096 });
  const honest = createNode({ profile: 'local', logger: quiet, keyring });
  await target.start();
  await honest.start();
  await honest.join([target.address], { timeoutMs: 10_000 });
  return [target, honest];
}

async function main(): Promise<void> {
  const [plain, plainPeer] = await pair();
  const [keyed, keyedPeer] = await pair([FUZZ_KEY]);
  let round = 0;
  const delivered = new Map<RumorNode, Set<string>>([
    [plain, new Set()],
    [keyed, new Set()],
  ]);
  for (const [n, set] of delivered) n.on('message', (d) => set.add(new TextDecoder().decode(d.data)));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'addrs') send({ type: 'addrs', plain: plain.address, keyed: keyed.address });
    if (m.type === 'health') void health(++round);
  });
  async function health(k: number): Promise<void> {
    const tag = `health-${k}`;
    plainPeer.broadcast(tag);
    keyedPeer.broadcast(tag);
    const t0 = Date.now();
    while (Date.now() - t0 < 5000 && ![plain, keyed].every((n) => delivered.get(n)!.has(tag))) await new Promise((r) => setTimeout(r, 20));
    const ok = [plain, keyed].every((n) => delivered.get(n)!.has(tag));
    for (const set of delivered.values()) set.clear();
    const dropped = { plain: plain.stats().droppedFrames, keyed: keyed.stats().droppedFrames };
    const refused = { plain: plain.stats().handshakes.refusedIn, keyed: keyed.stats().handshakes.refusedIn };
    send({ type: 'health', ok, rss: process.memoryUsage().rss, dropped, refused, ms: Date.now() - t0 });
  }
  send({ type: 'ready' });
}

main().catch((err: unknown) => {
  console.error(`fuzz-target: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
