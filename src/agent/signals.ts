/**
 * The agent's signals, as Serf's: SIGINT (Ctrl-C) leaves the cluster gracefully, then the
 * process exits 0, unless `skipLeaveOnInterrupt`; SIGTERM stops without leaving (peers mark
 * the node failed, and a restart with a data dir rejoins from its snapshot) unless
 * `leaveOnTerminate`. A second signal exits 1 at once.
 */
import type { Agent } from './agent.js';
import type { AgentConfig } from './config.js';

/** Whether `sig` makes the agent leave first (Serf's defaults): SIGINT unless
 *  `skipLeaveOnInterrupt`; SIGTERM only with `leaveOnTerminate`. */
export function leavesOn(sig: 'SIGINT' | 'SIGTERM', c: Pick<AgentConfig, 'leaveOnTerminate' | 'skipLeaveOnInterrupt'>): boolean {
  return sig === 'SIGINT' ? !c.skipLeaveOnInterrupt : c.leaveOnTerminate;
}

/** On SIGINT/SIGTERM: leave gracefully (see `leavesOn`) or stop without leaving (peers will
 *  mark the node failed), then `exit(0)`; a second signal exits 1 at once.
 *  Returns a function that removes the handlers. */
export function installSignalHandlers(agent: Agent, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  let signalled = false;
  const on = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (signalled) return exit(1);
    signalled = true;
    const leave = leavesOn(sig, agent.config);
    agent.log.info({ signal: sig }, leave ? 'signal: leaving' : 'signal: stopping without leaving');
    (leave ? agent.leave() : agent.shutdown()).then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}
