/**
 * SIGHUP: reload the event handlers (Serf's `SIGHUP` reloads its configuration and event
 * handlers). The agent re-reads its configuration from the same sources it started with (the
 * `--config` file, the environment, the flags); when it resolves, the new `eventHandlers`
 * replace the old ones at once (runs already started finish with their script) and the change
 * is logged; other settings that changed are logged as needing a restart. A configuration that
 * no longer resolves is logged as an error and the current handlers stay.
 */
import type { Agent } from './agent.js';
import type { AgentConfig } from './config.js';

/** Settings SIGHUP applies; every other one needs a restart. */
const RELOADED: readonly (keyof AgentConfig)[] = ['eventHandlers'];

/** Reload `agent`'s handlers from `reread()`; returns what changed (for tests and logs). */
export function reloadAgent(agent: Agent, reread: () => { ok: true; config: AgentConfig } | { ok: false; reason: string }): { ok: true; handlers: number; needRestart: string[] } | { ok: false; reason: string } {
  const r = reread();
  if (!r.ok) {
    agent.log.error({ reason: r.reason }, 'reload failed: the configuration does not resolve; keeping the current handlers');
    return r;
  }
  const needRestart = (Object.keys(r.config) as (keyof AgentConfig)[]).filter((k) => !RELOADED.includes(k) && JSON.stringify(r.config[k]) !== JSON.stringify(agent.config[k]));
  agent.reloadHandlers(r.config.eventHandlers);
  if (needRestart.length > 0) agent.log.warn({ keys: needRestart }, 'reload: these changed settings take effect at the next restart');
  return { ok: true, handlers: r.config.eventHandlers.length, needRestart };
}

/** On SIGHUP, `reloadAgent`. Returns a function that removes the handler. */
export function installReloadHandler(agent: Agent, reread: Parameters<typeof reloadAgent>[1]): () => void {
  const on = (): void => {
    agent.log.info({ signal: 'SIGHUP' }, 'signal: reloading event handlers');
    reloadAgent(agent, reread);
  };
  process.on('SIGHUP', on);
  return () => void process.off('SIGHUP', on);
}
