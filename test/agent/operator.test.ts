// Serf's operator verbs, their logic without a cluster (src/agent/operator.ts): member filters
// (anchored regular expressions), the force-leave target and answers, the runtime join's
// per-address results, and the log taps `rumor monitor --log-level` reads (src/agent/log.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJoinAddrs, forceLeaveAnswer, forceLeaveTarget, MAX_JOIN_ADDRS, memberFilter, memberMatches, runtimeJoin } from '../../src/agent/operator.js';
import { createLogger, type LogLine } from '../../src/agent/log.js';
import { leavesOn } from '../../src/agent/agent.js';

const M = [
  { name: 'web-1', status: 'alive', tags: { role: 'web', dc: 'eu-1' } },
  { name: 'web-2', status: 'failed', tags: { role: 'web', dc: 'us-1' } },
  { name: 'db-1', status: 'alive', tags: { role: 'db' } },
] as const;
const pick = (q: Parameters<typeof memberFilter>[0]): string[] => M.filter((m) => memberMatches(memberFilter(q), { ...m, tags: { ...m.tags } })).map((m) => m.name);

test('member filters: anchored regexes for name and tags; status as names, a comma list or a regex; bad ones are one-line errors', () => {
  assert.deepEqual(pick({ name: 'web-.*' }), ['web-1', 'web-2']);
  assert.deepEqual(pick({ name: 'web' }), [], 'anchored at both ends');
  assert.deepEqual(pick({ tag: ['role=web', 'dc=eu-.*'] }), ['web-1']);
  assert.deepEqual(pick({ tag: ['dc=.*'] }), ['web-1', 'web-2'], 'a member without the tag never matches');
  assert.deepEqual(pick({ status: ['alive'] }), ['web-1', 'db-1']);
  assert.deepEqual(pick({ status: ['alive,failed'] }), ['web-1', 'web-2', 'db-1']);
  assert.deepEqual(pick({ status: ['fail.*'] }), ['web-2']);
  assert.deepEqual(pick({}), ['web-1', 'web-2', 'db-1']);
  assert.throws(() => memberFilter({ name: '(' }), /^Error: name: invalid regular expression "\(": /);
  assert.throws(() => memberFilter({ tag: ['role'] }), /^Error: tag: expected key=regex, got "role"$/);
  assert.throws(() => memberFilter({ tag: ['role=['] }), /^Error: tag role: invalid regular expression/);
  assert.throws(() => memberFilter({ status: ['zombie'] }), /^Error: status: expected alive, suspect, failed or left \(or a regular expression\), got "zombie"$/);
});

test('force-leave target: by name, else by address; unknown, alive, suspect and self refused with the reason', () => {
  const ms = [
    { name: 'a', addr: '10.0.0.1:7946', status: 'alive' as const },
    { name: 'b', addr: '10.0.0.2:7946', status: 'failed' as const },
    { name: 'c', addr: '10.0.0.3:7946', status: 'suspect' as const },
    { name: 'd', addr: '10.0.0.4:7946', status: 'left' as const },
  ];
  assert.deepEqual(forceLeaveTarget(ms, '10.0.0.1:7946', 'b'), { ok: true, member: ms[1] });
  assert.deepEqual(forceLeaveTarget(ms, '10.0.0.1:7946', '10.0.0.2:7946'), { ok: true, member: ms[1] });
  assert.deepEqual(forceLeaveTarget(ms, '10.0.0.1:7946', 'd'), { ok: true, member: ms[3] }, 'already left: allowed (for --prune)');
  const why = (n: string): string => {
    const r = forceLeaveTarget(ms, '10.0.0.1:7946', n);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(why('zz'), 'force-leave: no member named "zz" (see rumor members)');
  assert.equal(why('c'), 'force-leave: c (10.0.0.3:7946) is suspect: only a failed member can be forced out (it would refute the leave); stop it, or run rumor leave on it');
  assert.equal(why('a'), 'force-leave: a (10.0.0.1:7946) is this agent; use rumor leave');
  assert.deepEqual(forceLeaveAnswer({ ok: true, status: 'pruned' }), { ok: true, fields: ['pruned'] });
  assert.deepEqual(forceLeaveAnswer({ ok: false, reason: 'unknown' }), { ok: true, fields: ['absent'] });
  assert.deepEqual(forceLeaveAnswer({ ok: false, reason: 'up' }), { ok: false, error: 'the member is alive or suspect here' });
});

test('runtime join: addresses checked (one-line reasons, deduplicated); per-address results; reached ones handed to the overlay', async () => {
  assert.deepEqual(checkJoinAddrs(['127.0.0.1:1', '127.0.0.1:1']), { ok: true, addrs: ['127.0.0.1:1'] });
  assert.deepEqual(checkJoinAddrs([]), { ok: false, reason: 'addrs: expected a non-empty list of "host:port"' });
  assert.equal(checkJoinAddrs(Array.from({ length: MAX_JOIN_ADDRS + 1 }, (_, i) => `h:${i + 1}`)).ok, false);
  const bad = checkJoinAddrs(['127.0.0.1']);
  assert.equal(bad.ok, false);
  const joined: string[][] = [];
  const node = {
    address: '127.0.0.1:1',
    probe: async (p: string) => p === '127.0.0.1:2' || p === '127.0.0.1:3',
    join: async (s: string[]) => void joined.push(s),
  };
  const r = await runtimeJoin(node, ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4'], 100);
  assert.deepEqual(r.map((x) => [x.addr, x.ok]), [['127.0.0.1:1', false], ['127.0.0.1:2', true], ['127.0.0.1:3', true], ['127.0.0.1:4', false]]);
  assert.equal(r[0].error, "this agent's own address");
  assert.match(r[3].error!, /^no handshake within 100 ms/);
  assert.deepEqual(joined, [['127.0.0.1:2', '127.0.0.1:3']]);
  const stuck = await runtimeJoin({ ...node, join: async () => Promise.reject(new Error('join: no neighbour')) }, ['127.0.0.1:2'], 100);
  assert.deepEqual(stuck, [{ addr: '127.0.0.1:2', ok: false, error: 'reached, but no overlay link within 100 ms: join: no neighbour' }]);
});

test('log taps: lines below the output level reach a tap at a lower level; removing it stops them; children share taps', () => {
  const out: string[] = [];
  const log = createLogger({ level: 'warn', format: 'json', destination: { write: (s: string) => out.push(s) } });
  const child = log.child({ component: 'net' });
  const seen: LogLine[] = [];
  child.debug({ peer: 'x' }, 'before the tap');
  const untap = log.tap('debug', (l) => seen.push(l));
  child.debug({ peer: 'p' }, 'neighbour up');
  log.trace('too low');
  log.warn({ n: 1 }, 'warned');
  untap();
  child.debug({ peer: 'q' }, 'after the tap');
  assert.deepEqual(seen.map((l) => [l.level, l.msg, l.component ?? null]), [[20, 'neighbour up', 'net'], [40, 'warned', null]]);
  assert.equal(out.length, 1, 'the output still gets only warn and above');
  assert.match(out[0], /"msg":"warned"/);
});

test('signals (Serf defaults): SIGINT leaves unless skipLeaveOnInterrupt; SIGTERM leaves only with leaveOnTerminate', () => {
  const c = (leaveOnTerminate: boolean, skipLeaveOnInterrupt: boolean) => ({ leaveOnTerminate, skipLeaveOnInterrupt });
  assert.equal(leavesOn('SIGINT', c(false, false)), true);
  assert.equal(leavesOn('SIGINT', c(false, true)), false);
  assert.equal(leavesOn('SIGTERM', c(false, false)), false);
  assert.equal(leavesOn('SIGTERM', c(true, true)), true);
});

test('API: bad join and force-leave bodies and a bad monitor logLevel are 400 with a one-line reason', { timeout: 30_000 }, async () => {
  const { Agent } = await import('../../src/agent/agent.js');
  const { resolveAgentConfig } = await import('../../src/agent/config.js');
  const r = resolveAgentConfig({ flags: { name: 'api-op', bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local' }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  const a = await Agent.start(r.config, { logger: createLogger({ level: 'silent', format: 'json' }) });
  try {
    const post = async (path: string, body: string): Promise<[number, unknown]> => {
      const res = await fetch(`${a.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return [res.status, await res.json()];
    };
    assert.deepEqual(await post('/v1/join', '[]'), [400, { error: 'body: expected a JSON object {addrs, timeoutMs?}' }]);
    assert.deepEqual(await post('/v1/join', '{"addrs":["x"]}'), [400, { error: (checkJoinAddrs(['x']) as { reason: string }).reason }]);
    assert.deepEqual(await post('/v1/join', '{"addrs":["127.0.0.1:1"],"timeoutMs":0}'), [400, { error: 'timeoutMs: expected an integer 1..120000' }]);
    assert.deepEqual(await post('/v1/force-leave', '{"name":""}'), [400, { error: 'name: expected the name (or address) of a member' }]);
    assert.deepEqual(await post('/v1/force-leave', '{"name":"x","prune":"yes"}'), [400, { error: 'prune: expected true or false' }]);
    assert.deepEqual(await post('/v1/force-leave', '{"name":"api-op"}'), [400, { error: `force-leave: api-op (${a.node.address}) is this agent; use rumor leave` }]);
    const res = await fetch(`${a.apiUrl}/v1/monitor?logLevel=loud`);
    assert.deepEqual([res.status, await res.json()], [400, { error: 'logLevel: expected trace, debug, info, warn, error, fatal, got "loud"' }]);
    const m = await fetch(`${a.apiUrl}/v1/members?name=(`);
    assert.equal(m.status, 400);
    const own = (await (await fetch(`${a.apiUrl}/v1/members`)).json()) as { members: { agentVersion?: string; protocol?: number[]; updatedAt?: number }[] };
    assert.match(own.members[0].agentVersion ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(own.members[0].protocol?.length, 2);
    assert.equal(typeof own.members[0].updatedAt, 'number');
  } finally {
    await a.shutdown();
  }
});
