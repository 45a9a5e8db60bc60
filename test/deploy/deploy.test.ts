/**
 * The deployment files stay valid (docs/deploy.md):
 * - deploy/systemd/rumor.service passes `systemd-analyze verify` with no warning, and its
 *   sandbox scores an exposure of at most 2.0 in `systemd-analyze security --offline=yes`
 *   (systemd-analyze is installed by scripts/ensure-systemd.mjs when missing);
 * - deploy/kubernetes/rumor.yaml validates against the Kubernetes OpenAPI schemas (the
 *   `kubernetes-models` package: one validator per kind, generated from the official schemas),
 *   and its parts fit together (the StatefulSet's service is the headless seed Service, the
 *   seeds name is what the agents join, selectors match, probes run the health check);
 * - deploy/healthcheck.sh (the image's HEALTHCHECK and the pods' probes) answers as it must
 *   against a real agent: healthy when /v1/info answers 200, unhealthy when nothing listens
 *   or the token is wrong;
 * - deploy/Dockerfile copies only files that exist and runs the agent as a non-root user.
 * The image itself is not built here (no container engine on the test machines; docs/deploy.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { freePorts, spawnAgent, stopAll, waitUntil } from '../../src/cli/cluster.js';
import { ensureBuilt, ROOT } from '../e2e/helpers.js';
import { startAgents } from '../support/agents.js';

const UNIT = join(ROOT, 'deploy', 'systemd', 'rumor.service');
const MANIFESTS = join(ROOT, 'deploy', 'kubernetes', 'rumor.yaml');
const HEALTHCHECK = join(ROOT, 'deploy', 'healthcheck.sh');
const DOCKERFILE = join(ROOT, 'deploy', 'Dockerfile');
const tmp = mkdtempSync(join(tmpdir(), 'rumor-deploy-'));

function systemdAnalyze(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

test('systemd unit: systemd-analyze verify reports nothing, and a broken copy is reported', () => {
  const ensure = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-systemd.mjs')], { encoding: 'utf8' });
  assert.equal(ensure.status, 0, `systemd-analyze unavailable: ${ensure.stderr.trim()}`);
  const ok = systemdAnalyze(['verify', UNIT]);
  assert.equal(ok.status, 0, ok.out);
  assert.equal(ok.out, '', `systemd-analyze verify warned about ${UNIT}`);
  // The check can fail: a misspelt key and a bad value are reported (verify itself exits 0).
  const bad = join(tmp, 'rumor.service');
  writeFileSync(bad, readFileSync(UNIT, 'utf8').replace('ProtectClock=yes', 'ProtectClok=yes').replace('Restart=on-failure', 'Restart=sometimes'));
  const r = systemdAnalyze(['verify', bad]);
  assert.match(r.out, /Unknown key 'ProtectClok'/);
  assert.match(r.out, /restart specifier/);
});

test('systemd unit: restart on failure, state in /var/lib/rumor, leave on SIGTERM, sandbox exposure <= 2.0', () => {
  const unit = readFileSync(UNIT, 'utf8');
  for (const line of ['Restart=on-failure', 'StateDirectory=rumor', 'Environment=RUMOR_DATA_DIR=/var/lib/rumor', 'KillSignal=SIGTERM']) {
    assert.ok(unit.split('\n').includes(line), `missing ${line}`);
  }
  // Through the launcher script (the agent's node flags), with the unit's node.
  assert.match(unit, /^ExecStart=\/bin\/sh \/opt\/rumor\/bin\/rumor agent /m);
  assert.ok(unit.split('\n').includes('Environment=RUMOR_NODE=/usr/bin/node'), 'missing Environment=RUMOR_NODE=/usr/bin/node');
  const sec = systemdAnalyze(['security', '--offline=yes', '--threshold=20', UNIT]);
  assert.equal(sec.status, 0, `exposure above 2.0:\n${sec.out.split('\n').slice(-3).join('\n')}`);
});

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };

function manifests(text: string): Doc[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) assert.deepEqual(d.errors, [], 'YAML errors');
  return docs.map((d) => d.toJSON() as Doc).filter((d) => d !== null);
}

/** Validate one manifest with the kubernetes-models validator of its kind; throws on a schema error. */
function validate(doc: Doc): void {
  const models: Record<string, new (d: never) => { validate(): void }> = {
    'v1/Service': Service,
    'apps/v1/StatefulSet': StatefulSet,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  };
  const M = models[`${doc.apiVersion}/${doc.kind}`];
  assert.ok(M, `no validator for ${doc.apiVersion} ${doc.kind}`);
  new M(doc as never).validate();
}

test('Kubernetes manifests validate against the official schemas, and a broken one does not', () => {
  const docs = manifests(readFileSync(MANIFESTS, 'utf8'));
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['PodDisruptionBudget', 'Service', 'StatefulSet']);
  for (const d of docs) validate(d);
  const broken = structuredClone(docs.find((d) => d.kind === 'StatefulSet')!);
  (broken.spec as { replicas: unknown }).replicas = 'three';
  assert.throws(() => validate(broken), /replicas/);
  const noContainers = structuredClone(docs.find((d) => d.kind === 'StatefulSet')!);
  delete (noContainers.spec as { template: { spec: { containers?: unknown } } }).template.spec.containers;
  assert.throws(() => validate(noContainers), /containers/);
});

test('Kubernetes manifests fit together: headless seeds, joined by name, probes on /v1/info, PDB', () => {
  const docs = manifests(readFileSync(MANIFESTS, 'utf8'));
  const svc = docs.find((d) => d.kind === 'Service') as unknown as Service;
  const sts = docs.find((d) => d.kind === 'StatefulSet') as unknown as StatefulSet;
  const pdb = docs.find((d) => d.kind === 'PodDisruptionBudget') as unknown as PodDisruptionBudget;
  assert.equal(svc.spec!.clusterIP, 'None');
  assert.equal(svc.spec!.publishNotReadyAddresses, true);
  assert.equal(sts.spec!.serviceName, svc.metadata!.name);
  const labels = sts.spec!.template.metadata!.labels!;
  for (const sel of [svc.spec!.selector!, sts.spec!.selector.matchLabels!, pdb.spec!.selector!.matchLabels!]) {
    for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v, `selector ${k}=${v} does not match the pod labels`);
  }
  const c = sts.spec!.template.spec!.containers[0];
  const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env.get('RUMOR_JOIN'), `${svc.metadata!.name}:7946`);
  assert.equal(env.get('RUMOR_DATA_DIR'), '/var/lib/rumor');
  assert.ok(c.volumeMounts!.some((m) => m.mountPath === '/var/lib/rumor'));
  for (const probe of [c.readinessProbe!, c.livenessProbe!]) assert.deepEqual(probe.exec!.command, ['/usr/local/bin/rumor-healthcheck']);
  assert.equal(sts.spec!.template.spec!.securityContext!.runAsNonRoot, true);
  assert.equal(pdb.spec!.maxUnavailable, 1);
});

test('Dockerfile: multi-stage, copies only files that exist, non-root user, agent entry point, health check', () => {
  const text = readFileSync(DOCKERFILE, 'utf8');
  assert.equal(text.match(/^FROM /gm)?.length, 2, 'two stages');
  for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1].split(' ')) assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} does not exist`);
  }
  assert.match(text, /^USER rumor:rumor$/m);
  assert.match(text, /^HEALTHCHECK .*rumor-healthcheck/m);
  assert.match(text, /^ENTRYPOINT \["\/app\/bin\/rumor", "agent"\]$/m);
  for (const m of text.matchAll(/^COPY --from=build (.+) \S+$/gm)) {
    for (const src of m[1].split(' ')) assert.ok(src.startsWith('/src/'), `${src}: outside the build stage's /src`);
  }
});

const children: ReturnType<typeof spawnAgent>[] = [];
after(async () => {
  await stopAll(children);
});

function healthcheck(env: NodeJS.ProcessEnv): { status: number | null; err: string } {
  const r = spawnSync('bash', [HEALTHCHECK], { encoding: 'utf8', timeout: 10_000, env: { PATH: process.env.PATH, ...env } });
  return { status: r.status, err: r.stderr.trim() };
}

test('deploy/healthcheck.sh: healthy against a live agent, unhealthy when nothing listens or the token is wrong', async () => {
  ensureBuilt();
  // Started again on new ports when one was taken before it bound it (test/support/agents.ts).
  const [{ apiPort: api }] = await startAgents(1, children, (_, p) => ({ name: 'hc', gossipPort: p.gossip, apiPort: p.api, token: 'sesame', logFile: join(tmp, 'hc.log') }));
  const [closed] = await freePorts(1); // after the agent bound its ports: not one of them
  const addr = `127.0.0.1:${api}`;
  await waitUntil('the agent to answer the health check', 20_000, async () => healthcheck({ RUMOR_API_ADDR: addr, RUMOR_API_TOKEN: 'sesame' }).status === 0, 100);
  const wrong = healthcheck({ RUMOR_API_ADDR: addr, RUMOR_API_TOKEN: 'nope' });
  assert.equal(wrong.status, 1);
  assert.match(wrong.err, / 401 /);
  assert.equal(healthcheck({ RUMOR_API_ADDR: addr }).status, 1, 'no token: 401, unhealthy');
  const none = healthcheck({ RUMOR_API_ADDR: `127.0.0.1:${closed}` });
  assert.equal(none.status, 1);
  assert.match(none.err, /cannot connect/);
  // The image's wildcard API address is checked on loopback.
  assert.equal(healthcheck({ RUMOR_API_ADDR: `0.0.0.0:${api}`, RUMOR_API_TOKEN: 'sesame' }).status, 0);
  copyFileSync(HEALTHCHECK, join(tmp, 'hc.sh')); // the script runs from anywhere (no relative paths)
  assert.equal(spawnSync('bash', [join(tmp, 'hc.sh')], { env: { PATH: process.env.PATH, RUMOR_API_ADDR: addr, RUMOR_API_TOKEN: 'sesame' } }).status, 0);
});
