/**
 * Round trip of a small application message (a SWIM-style probe and its ack) through the
 * application host (src/net/app-host.ts), against a bare UDP datagram exchange on the same
 * loopback: the measurement behind the host's choice of `direct` frames over TCP.
 *
 *   node --import tsx bench/app-rtt.ts [--rounds 2000]
 *
 * Rows: `tcp-warm` (connection already open, as between a member and the members it probes
 * every round), `tcp-cold` (no connection: the host dials, handshakes and sends; the connection
 * was idle-closed before each probe), `udp-raw` (two dgram sockets, no codec, no checksum: a
 * lower bound of any datagram path). Writes bench/results/app-rtt.json.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNode, type RumorNode } from '../src/index.js';
import type { App, AppIo } from '../src/proto/app.js';
import type { AppCodec } from '../src/net/app-host.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
type Msg = { ping: boolean; seq: number };
const codec: AppCodec<Msg> = {
  encode: (m) => {
    const b = new Uint8Array(5);
    b[0] = m.ping ? 1 : 2;
    new DataView(b.buffer).setUint32(1, m.seq);
    return { ok: true, value: b };
  },
  decode: (b) => (b.byteLength === 5 ? { ok: true, value: { ping: b[0] === 1, seq: new DataView(b.buffer, b.byteOffset, 5).getUint32(1) } } : { ok: false, reason: 'length' }),
};

class Echo implements App<string, Msg, never> {
  constructor(private readonly io: AppIo<string, Msg, never, number>) {}
  start(): void {}
  neighborUp(): void {}
  neighborDown(): void {}
  handleBroadcast(): void {}
  handleTimer(): void {}
  handleMessage(from: string, m: Msg): void {
    if (m.ping) this.io.send(from, { ping: false, seq: m.seq });
    else this.io.event(m.seq);
  }
  stop(): void {}
  send(to: string, seq: number): void {
    this.io.send(to, { ping: true, seq });
  }
}

function run(node: RumorNode, onAck: (seq: number) => void): { app: Echo; drive: (f: () => void) => void } {
  const h = node.runApp<Msg, never, number>({ name: 'echo', codec, create: (_s, io) => new Echo(io), onEvent: onAck });
  return { app: h.app as Echo, drive: (f) => h.drive(f) };
}

const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
const row = (name: string, xs: number[]): { name: string; samples: number; p50_us: number; p99_us: number } => ({
  name, samples: xs.length, p50_us: Math.round(q(xs, 0.5) * 1000), p99_us: Math.round(q(xs, 0.99) * 1000),
});

async function appRtt(rounds: number, coldGapMs: number | null): Promise<number[]> {
  const net = coldGapMs === null ? {} : { idleCloseMs: 20 };
  const a = createNode({ net, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  const b = createNode({ net });
  await Promise.all([a.start(), b.start()]);
  let resolve: (() => void) | null = null;
  const ea = run(a, () => resolve?.());
  run(b, () => {});
  const out: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      if (coldGapMs !== null) await new Promise((r) => setTimeout(r, coldGapMs));
      const t0 = performance.now();
      await new Promise<void>((r) => {
        resolve = r;
        ea.drive(() => ea.app.send(b.address, i));
      });
      out.push(performance.now() - t0);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return out;
}

async function udpRtt(rounds: number): Promise<number[]> {
  const a = createSocket('udp4');
  const b = createSocket('udp4');
  await Promise.all([new Promise<void>((r) => a.bind(0, '127.0.0.1', r)), new Promise<void>((r) => b.bind(0, '127.0.0.1', r))]);
  b.on('message', (m, rinfo) => b.send(m, rinfo.port, rinfo.address));
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      a.once('message', () => r());
      a.send(Buffer.alloc(23), b.address().port, '127.0.0.1');
    });
    out.push(performance.now() - t0);
  }
  a.close();
  b.close();
  return out;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--rounds');
  const rounds = i >= 0 ? Number(process.argv[i + 1]) : 2000;
  if (!Number.isInteger(rounds) || rounds < 10) {
    process.stderr.write('bench/app-rtt: --rounds: expected an integer >= 10\n');
    process.exit(2);
  }
  const rows = [
    row('tcp-warm', await appRtt(rounds, null)),
    row('tcp-cold', await appRtt(Math.min(100, rounds), 150)),
    row('udp-raw', await udpRtt(rounds)),
  ];
  for (const r of rows) process.stdout.write(`${r.name.padEnd(9)} samples ${String(r.samples).padStart(5)}  p50 ${String(r.p50_us).padStart(6)} µs  p99 ${String(r.p99_us).padStart(6)} µs\n`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'app-rtt.json'), JSON.stringify({ rows, date: new Date().toISOString() }, null, 2) + '\n');
}

void main();
