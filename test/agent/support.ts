// In-process agents for the agent tests: loopback ports chosen by the OS, the `local` profile,
// logs discarded.
import { after } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { createLogger } from '../../src/agent/log.js';

/** Start an agent with `flags` over the test defaults; throws the config error if any. */
export async function startTestAgent(flags: Record<string, unknown>): Promise<Agent> {
  const r = resolveAgentConfig({ flags: { bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local', ...flags }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  return Agent.start(r.config, { logger: createLogger({ level: 'silent', format: 'json' }) });
}

/** A `startAgent(name, flags)` for one test file: every agent it starts is shut down after the
 *  file's tests. */
export function agentStarter(): (name: string, flags?: Record<string, unknown>) => Promise<Agent> {
  const agents: Agent[] = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.shutdown()));
  });
  return async (name, flags = {}) => {
    const a = await startTestAgent({ name, ...flags });
    agents.push(a);
    return a;
  };
}
