// A query's response sent by the native handler launcher (src/agent/launcher.c `answer`,
// spawn-helper.ts): when the handler exits 0 within the limit and before the deadline, the
// launcher sends the datagram the agent would have sent (src/net/query.ts `fillResponseDatagram`,
// byte for byte) and the run's result says `sent`; otherwise nothing leaves and the agent
// answers. Its report is held back (RUMOR_LAUNCHER_DEFER_MS here: long) until the agent needs
// the run's slot, kills the run, or the hold is up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { HandlerRunner, type QueryRunResult } from '../../src/agent/handlers.js';
import { createLogger } from '../../src/agent/log.js';
import type { EventHandlerSpec } from '../../src/agent/config.js';
import type { LauncherProgram } from '../../src/agent/spawn-helper.js';
import { fillResponseDatagram, makeResponseDatagram, type ResponseDatagram } from '../../src/net/query.js';
import { decodeAppDatagram, encodeAppDatagram, MAX_APP_DATAGRAM_BYTES } from '../../src/wire/datagram-app.js';
import { decodeQueryMessage } from '../../src/wire/query.js';
import { within } from '../support/wait.js';
import { ensureNativeLauncher } from '../support/launcher.js';

const opened: HandlerRunner[] = [];
const sockets: Socket[] = [];
after(() => {
  opened.forEach((r) => r.close());
  sockets.forEach((s) => s.close());
});

before(ensureNativeLauncher);

const HANDLERS: EventHandlerSpec[] = [
  { filters: ['query:hello'], script: 'printf hello' },
  { filters: ['query:long'], script: 'head -c 300 /dev/zero | tr "\\0" y' },
  { filters: ['query:fail'], script: 'printf partial; exit 3' },
  { filters: ['query:slow'], script: 'sleep 0.1; printf late' },
];

function runner(program: LauncherProgram, opts: { concurrency?: number; timeoutMs?: number } = {}): HandlerRunner {
  const r = new HandlerRunner({
    handlers: HANDLERS,
    self: () => ({ name: 'n1', addr: '127.0.0.1:7946', tags: {} }),
    timeoutMs: opts.timeoutMs ?? 10_000,
    concurrency: opts.concurrency ?? 4,
    queueSize: 16,
    logger: createLogger({ level: 'error', format: 'json', destination: { write: () => {} } }),
    launcherProgram: program,
  });
  opened.push(r);
  return r;
}

/** A UDP socket standing for the asker: its datagrams in arrival order. */
async function asker(): Promise<{ port: number; got: Buffer[]; next: () => Promise<Buffer> }> {
  const s = createSocket('udp4');
  sockets.push(s);
  const got: Buffer[] = [];
  let wake: (() => void) | null = null;
  s.on('message', (b) => {
    got.push(b);
    wake?.();
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  let read = 0;
  const next = async (): Promise<Buffer> => {
    while (got.length <= read) await within(new Promise<void>((r) => (wake = r)), 10_000, 'a datagram at the asker');
    return got[read++];
  };
  return { port: s.address().port, got, next };
}

let nextId = 1;
/** The response datagram of a query to the asker at `port`. */
function datagram(port: number, leftMs = 60_000, maxBytes = MAX_APP_DATAGRAM_BYTES): ResponseDatagram {
  const d = makeResponseDatagram({ type: 'q-response', id: 2 ** 40 + nextId++, responder: '127.0.0.1:7946', rname: 'n1', payload: new Uint8Array(0), error: '' }, leftMs, (inner) => {
    const e = encodeAppDatagram({ cluster: 'c', from: '127.0.0.1:7946', channel: '_app.query', data: inner });
    return e.ok ? { bytes: e.bytes, host: '127.0.0.1', port, maxBytes } : null;
  });
  assert.ok(d !== null);
  return d;
}

const ask = (r: HandlerRunner, name: string, d: ResponseDatagram | undefined, limit = 1024): Promise<QueryRunResult> =>
  within(r.runQuery({ type: 'query', name, payload: new Uint8Array(0), origin: '127.0.0.1:1' }, limit, () => d), 15_000, `query ${name}`);

/** Nothing came from the launcher before this: a marker sent now is the next datagram. */
async function nothingBefore(a: Awaited<ReturnType<typeof asker>>): Promise<void> {
  const s = createSocket('udp4');
  sockets.push(s);
  s.send(Buffer.from('marker'), a.port, '127.0.0.1');
  assert.equal((await a.next()).toString(), 'marker', 'a datagram came from the launcher');
}

test('native launcher: a run that exits 0 within the limit is answered by the launcher, byte for byte the datagram the node would send', { timeout: 30_000 }, async () => {
  const a = await asker();
  const r = runner('native');
  for (const [name, payload] of [['hello', 'hello'], ['long', 'y'.repeat(300)]]) {
    const d = datagram(a.port);
    const res = await ask(r, name, d);
    assert.deepEqual([res.outcome, res.sent, Buffer.from(res.stdout).toString()], ['ok', true, payload]);
    const got = await a.next();
    assert.deepEqual(new Uint8Array(got), fillResponseDatagram(d, new TextEncoder().encode(payload)));
    const outer = decodeAppDatagram(got);
    assert.ok(outer.ok);
    assert.deepEqual([outer.dgram.cluster, outer.dgram.from, outer.dgram.channel], ['c', '127.0.0.1:7946', '_app.query']);
    const m = decodeQueryMessage(outer.dgram.data);
    assert.ok(m.ok && m.value.type === 'q-response');
    assert.deepEqual([m.value.responder, m.value.rname, Buffer.from(m.value.payload).toString(), m.value.error], ['127.0.0.1:7946', 'n1', payload, '']);
  }
});

test('native launcher: a failed run, one cut at its limit, one past the deadline, one too large for a datagram are not sent (the agent answers)', { timeout: 30_000 }, async () => {
  const a = await asker();
  const r = runner('native');
  const cases: [string, ResponseDatagram, number, QueryRunResult['outcome'], boolean][] = [
    ['fail', datagram(a.port), 1024, 'exit', false],
    ['long', datagram(a.port), 100, 'ok', true],
    ['slow', datagram(a.port, 0), 1024, 'ok', false],
  ];
  const big = datagram(a.port);
  cases.push(['long', { ...big, maxBytes: big.template.byteLength + 100 }, 1024, 'ok', false]);
  for (const [name, d, limit, outcome, truncated] of cases) {
    const res = await ask(r, name, d, limit);
    assert.deepEqual([name, res.outcome, res.sent, res.truncated], [name, outcome, false, truncated]);
    await nothingBefore(a);
  }
});

test('perl launcher: the answer part is ignored, nothing is sent, the agent answers', { timeout: 30_000 }, async () => {
  const a = await asker();
  const r = runner('perl');
  const res = await ask(r, 'hello', datagram(a.port));
  assert.deepEqual([res.outcome, res.sent, Buffer.from(res.stdout).toString()], ['ok', false, 'hello']);
  await nothingBefore(a);
});

test('native launcher: the answered run\'s report is held back until the agent needs its slot or kills it; it stays `ok`', { timeout: 30_000 }, async () => {
  const a = await asker();
  process.env.RUMOR_LAUNCHER_DEFER_MS = '600000';
  const r = runner('native', { concurrency: 1, timeoutMs: 1500 });
  let first: QueryRunResult | null = null;
  const p1 = ask(r, 'hello', datagram(a.port)).then((x) => (first = x));
  delete process.env.RUMOR_LAUNCHER_DEFER_MS;
  await a.next();
  // The response is out; the report is held (600 s): the run still holds the only slot.
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(first, null, 'the report came before the agent asked for it');
  // A second query waits for that slot: the runner asks for the held reports.
  const p2 = ask(r, 'hello', datagram(a.port));
  assert.deepEqual([(await p1).outcome, (await p1).sent], ['ok', true]);
  await a.next();
  // The second one's report is held too, past the runner's 1.5 s timeout: the kill finds the
  // run over and brings the report; the run is not a timeout.
  const second = await p2;
  assert.deepEqual([second.outcome, second.sent, Buffer.from(second.stdout).toString()], ['ok', true, 'hello']);
});
