// A small seeded sample of the wire fuzzer (npm run fuzz, bench/fuzz.ts): mutated and random
// frames of every type, plaintext and sealed, through every decoder and into live nodes.
// SEED=n reruns it with another seed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { MUTATIONS, FUZZ_KEY, caseAt, runDecoders } from '../../bench/fuzz-frames.js';
import { createNode, type RumorNode } from '../../src/index.js';
import { TYPE_CODES } from '../../src/wire/index.js';
import { captureLogger, closeAll, waitUntil } from '../net/helpers.js';

const SEED = Number(process.env.SEED ?? 20261206) >>> 0;

test(`decoders: 20 000 fuzz cases (seed ${SEED}) break no promise`, () => {
  const seenTypes = new Set<string>();
  const seenMutations = new Set<string>();
  let sealed = 0;
  let ok = 0;
  for (let i = 0; i < 20_000; i++) {
    const c = caseAt(SEED, i);
    seenTypes.add(c.type);
    seenMutations.add(c.mutation);
    if (c.encrypted) sealed++;
    const o = runDecoders(c, i * 7919);
    assert.equal(o.violation, null, `case ${i} (seed ${SEED}, ${c.type} ${c.mutation}${c.encrypted ? ' sealed' : ''}): ${o.violation}`);
    ok += o.ok;
  }
  // The sample covers every message type, every mutation and the sealed cases.
  assert.equal(seenTypes.size, Object.keys(TYPE_CODES).length + 2);
  assert.equal(seenMutations.size, MUTATIONS.length);
  assert.ok(sealed > 3000 && ok > 2000, `sealed ${sealed}, decoded ${ok}`);
});

const nodes: RumorNode[] = [];
after(() => closeAll(nodes));

test('live nodes: 2 000 fuzz cases on their TCP and UDP ports, then they still deliver', async () => {
  const pairs: [RumorNode, RumorNode][] = [];
  for (const keyring of [undefined, { keys: [FUZZ_KEY] }]) {
    const t = createNode({ profile: 'local', logger: captureLogger(), keyring, maxConnections: 4096 });
    const h = createNode({ profile: 'local', logger: captureLogger(), keyring });
    await t.start();
    await h.start();
    nodes.push(t, h);
    await h.join([t.address], { timeoutMs: 10_000 });
    pairs.push([t, h]);
  }
  const udp = createSocket('udp4');
  const conns: Promise<void>[] = [];
  for (let b = 0; b < 40; b++) {
    const target = pairs[b % 2][0].address;
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const c = caseAt(SEED + 1, b * 50 + i);
      if (c.datagram) udp.send(c.bytes, port, '127.0.0.1');
      else parts.push(c.bytes);
    }
    conns.push(
      new Promise((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        const timer = setTimeout(() => s.destroy(), 1500);
        s.on('error', () => {});
        s.on('close', () => (clearTimeout(timer), resolve()));
        s.on('connect', () => s.end(Buffer.concat(parts)));
      }),
    );
  }
  await Promise.all(conns);
  udp.close();
  for (const [t, h] of pairs) {
    const got = new Set<string>();
    t.on('message', (d) => got.add(new TextDecoder().decode(d.data)));
    h.broadcast('after the fuzz');
    await waitUntil(() => got.has('after the fuzz'), 10_000, `${t.address} still delivers after the fuzz`);
    const dropped = Object.values(t.stats().droppedFrames).reduce((a, b) => a + b, 0);
    assert.ok(dropped > 10, `the fuzz frames were counted as dropped (${dropped})`);
  }
});
