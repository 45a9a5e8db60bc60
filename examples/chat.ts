/**
 * A terminal chat over rumor: every line typed is broadcast to the cluster; incoming lines
 * are printed with their sender's name.
 *
 *   npx tsx examples/chat.ts --port 7000 --name alice
 *   npx tsx examples/chat.ts --port 7001 --join 127.0.0.1:7000 --name bob
 *
 * Options: --host (default 127.0.0.1), --port (default 0 = any), --join host:port[,host:port]
 * (seeds), --name, --cluster (default rumor), --profile lan|wan|local, --channel (default chat).
 * Commands: /peers (active and passive views), /stats (counters as JSON), /quit (graceful leave).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createNode, type Delivery } from '../src/index.js';

interface ChatLine {
  name: string;
  text: string;
}

function parseLine(d: Delivery): ChatLine | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(d.data)) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as ChatLine).name === 'string' && typeof (v as ChatLine).text === 'string') {
      return v as ChatLine;
    }
  } catch {
    // not a chat line
  }
  return null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      join: { type: 'string' },
      name: { type: 'string' },
      cluster: { type: 'string', default: 'rumor' },
      profile: { type: 'string', default: 'lan' },
      channel: { type: 'string', default: 'chat' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected 0..65535, got ${values.port}`);
  const profile = values.profile;
  if (profile !== 'lan' && profile !== 'wan' && profile !== 'local') throw new Error(`--profile: expected lan, wan or local, got ${profile}`);
  const channel = values.channel!;
  const node = createNode({ host: values.host, port, name: values.name, cluster: values.cluster, profile });
  await node.start();
  const name = values.name ?? node.address;
  console.log(`* ${name} listening on ${node.address} (cluster ${values.cluster})`);

  node.on('neighborUp', (p) => console.log(`* neighbour up: ${p}`));
  node.on('neighborDown', (p, reason) => console.log(`* neighbour down: ${p} (${reason})`));
  node.on('lagged', (i) => console.log(`* missed ${i.missed} messages (too slow)`));

  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
  const sub = node.subscribe(channel);
  void (async () => {
    for await (const d of sub) {
      if (d.origin === node.address) continue;
      const line = parseLine(d);
      if (line === null) continue;
      process.stdout.write(`\r${line.name}: ${line.text}\n`);
      rl.prompt(true);
    }
  })();

  if (values.join !== undefined) {
    const seeds = values.join.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    try {
      await node.join(seeds, { timeoutMs: 10_000 });
      console.log(`* joined through ${seeds.join(', ')}`);
    } catch (err) {
      console.log(`* ${(err as Error).message} (still trying in the background)`);
    }
  }

  const quit = async (): Promise<void> => {
    rl.close();
    await node.leave();
    process.exit(0);
  };
  rl.on('line', (text) => {
    const t = text.trim();
    if (t === '/quit') return void quit();
    if (t === '/peers') console.log(`active: ${node.neighbors().join(' ') || '-'}\npassive: ${node.passive().join(' ') || '-'}`);
    else if (t === '/stats') console.log(JSON.stringify(node.stats(), null, 2));
    else if (t.length > 0) {
      try {
        node.broadcast(JSON.stringify({ name, text: t } satisfies ChatLine), { channel });
      } catch (err) {
        console.log(`* not sent: ${(err as Error).message}`);
      }
    }
    rl.prompt();
  });
  rl.on('SIGINT', () => void quit());
  rl.prompt();
}

main().catch((err: unknown) => {
  console.error(`chat: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
