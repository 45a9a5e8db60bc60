/**
 * The fuzzing process of bench/fuzz.ts: runs cases [from, to) of a seed through every decoder
 * (`runDecoders`) and sends one case in `socketEvery` to the live target's sockets. Reports
 * progress over IPC every `PROGRESS_EVERY` cases (the parent's watchdog counts a silence as a
 * hang) and every broken decoder promise as a `violation` (counted as a crash).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { Keyring, StreamSealer } from '../src/wire/crypto.js';
import { encodeFrame } from '../src/wire/index.js';
import { FUZZ_CLUSTER, FUZZ_KEY, caseAt, runDecoders, type FuzzCase } from './fuzz-frames.js';

const PROGRESS_EVERY = 5000;
/** Stream cases written per fuzz connection. */
const CASES_PER_CONN = 32;
/** Fuzz connections in flight at once. */
const MAX_IN_FLIGHT = 16;

interface Job {
  seed: number;
  from: number;
  to: number;
  socketEvery: number;
  plain: string;
  keyed: string;
}

const send = (m: unknown): void => void process.send!(m);
const udp = createSocket('udp4');
udp.on('error', () => {});
let inFlight = 0;
let socketFrames = 0;

function hostPort(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

/** Open one connection to `target`, write a hello (valid for that target half the time), the
 *  cases' bytes, and close. Resolves when the socket is gone (bounded by 5 s). */
function blast(target: string, keyed: boolean, cases: FuzzCase[], withHello: boolean): Promise<void> {
  inFlight++;
  return new Promise((resolve) => {
    const s = connect(hostPort(target));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      inFlight--;
      resolve();
    };
    const timer = setTimeout(done, 5000);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      const parts: Uint8Array[] = [];
      if (withHello) {
        const hello = encodeFrame({ type: 'hello', versionMin: 1, versionMax: 1, cluster: FUZZ_CLUSTER, id: 'fuzzer', addr: `127.0.0.2:${1000 + (socketFrames % 60000)}` });
        if (hello.ok) parts.push(keyed ? new StreamSealer(new Keyring([FUZZ_KEY]), FUZZ_CLUSTER).seal(hello.frame) : hello.frame);
      }
      for (const c of cases) parts.push(c.bytes);
      s.end(Buffer.concat(parts));
    });
  });
}

async function run(job: Job): Promise<void> {
  const streams: FuzzCase[] = [];
  let ok = 0;
  let rejected = 0;
  for (let i = job.from; i < job.to; i++) {
    const c = caseAt(job.seed, i);
    const o = runDecoders(c, i * 2654435761);
    ok += o.ok;
    rejected += o.rejected;
    if (o.violation !== null) send({ type: 'violation', index: i, mutation: c.mutation, msgType: c.type, encrypted: c.encrypted, detail: o.violation.slice(0, 2000) });
    if (i % job.socketEvery === 0) {
      socketFrames++;
      if (c.datagram) {
        udp.send(c.bytes, hostPort(c.encrypted ? job.keyed : job.plain).port, '127.0.0.1');
      } else {
        streams.push(c);
        if (streams.length >= CASES_PER_CONN) {
          const keyed = c.encrypted;
          while (inFlight >= MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 1));
          void blast(keyed ? job.keyed : job.plain, keyed, streams.splice(0), i % 2 === 0);
        }
      }
    }
    if ((i + 1 - job.from) % PROGRESS_EVERY === 0) {
      send({ type: 'progress', done: i + 1, ok, rejected, socketFrames, rss: process.memoryUsage().rss });
      ok = rejected = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  send({ type: 'progress', done: job.to, ok, rejected, socketFrames, rss: process.memoryUsage().rss });
  send({ type: 'finished' });
}

process.on('message', (m: { type: string; job: Job }) => {
  if (m.type === 'run') {
    run(m.job).then(
      () => udp.close(),
      (err: unknown) => {
        console.error(`fuzz-worker: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  }
});
