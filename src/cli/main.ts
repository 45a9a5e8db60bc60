/**
 * The `rumor` command line: argument parsing and printing only (DESIGN.md, layer `cli/`).
 *
 * One file per verb, each exporting `register<Verb>(program, ctx)`; to add a verb (agent,
 * members, event, monitor, info, leave, ui...), write `src/cli/<verb>.ts` and add its
 * register call to `VERBS` below. Registration must stay light: a verb file declares its
 * options and help, and its action `await import()`s what it runs (the simulator, the
 * agent, report rendering...), so `--help`, usage errors and `rumor agent` load only what
 * they need (`rumor agent` through bin/rumor.js and its one-file bundle: ~60 ms of CPU to a
 * ready API on node 20, against ~21 ms for `node -e 0`, both without NODE_EXTRA_CA_CERTS;
 * docs/results.md).
 *
 * Exit codes: 0 success (also `--help`, `--version`), 1 failure while running,
 * 2 usage error. Every error is one line `rumor: <problem>` on stderr, no stack trace.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as CommanderModule from 'commander';
import { registerBenchSim } from './bench-sim.js';
import { type CliContext, RunError, type TextOut, UsageError } from './context.js';
import { registerDemo } from './demo.js';
import { registerSim } from './sim.js';
import { quickAgentOptions, registerAgent, runAgent } from './agent.js';
import { registerMembers } from './members.js';
import { registerEvent } from './event.js';
import { registerAggregate } from './aggregate.js';
import { registerReset } from './reset.js';
import { registerMonitor } from './monitor.js';
import { registerInfo } from './info.js';
import { registerLeave } from './leave.js';
import { registerCluster } from './cluster.js';
import { registerUi } from './ui.js';
import { registerKv } from './kv.js';
import { registerTags } from './tags.js';
import { registerKeys } from './keys.js';
import { registerJoin } from './join.js';
import { registerForceLeave } from './force-leave.js';
import { registerQuery } from './query.js';
import { registerReachability } from './reachability.js';

// commander is CommonJS: loading it with `require` rather than `import` spares every
// process the ESM-to-CommonJS translation (measured: ~6 MB of RSS on node 20 when no other
// CommonJS module is imported from ESM; `rumor agent` is started many at a time). Loaded at its
// first use: an agent whose command line `quickAgentOptions` reads never loads it.
let commanderModule: typeof CommanderModule | null = null;
const commander = (): typeof CommanderModule => (commanderModule ??= createRequire(import.meta.url)('commander') as typeof CommanderModule);
type Command = CommanderModule.Command;

/** Verb registrations, in help order. Extension point for new verbs. */
const VERBS: ((program: Command, ctx: CliContext) => void)[] = [registerSim, registerDemo, registerBenchSim];
VERBS.push(registerAgent);
VERBS.push(registerMembers);
VERBS.push(registerEvent);
VERBS.push(registerAggregate);
VERBS.push(registerReset);
VERBS.push(registerMonitor);
VERBS.push(registerInfo);
VERBS.push(registerLeave);
VERBS.push(registerCluster);
VERBS.push(registerUi);
VERBS.push(registerKv);
VERBS.push(registerTags);
VERBS.push(registerKeys);
VERBS.push(registerJoin);
VERBS.push(registerForceLeave);
VERBS.push(registerQuery);
VERBS.push(registerReachability);

/** Streams and directory `main` runs with (tests pass buffers). */
export interface MainIo {
  stdout?: TextOut;
  stderr?: TextOut;
  cwd?: string;
}

/** The package version, from the nearest package.json named "rumor" above this file. */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rumor' && pkg.version) return pkg.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** Build the commander program; exposed for tests and for documentation generators. With
 *  `only`, just that verb is registered (`main` does so for `rumor agent`: registering the
 *  other verbs' options and help cost ~3 ms of CPU at each agent start, docs/results.md). */
export function buildProgram(ctx: CliContext, only?: (program: Command, ctx: CliContext) => void): Command {
  const program = new (commander().Command)('rumor');
  program
    .description('gossip for Node.js: HyParView membership, Plumtree broadcast, a deterministic simulator')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(`rumor: ${firstLine(s.replace(/^error: /, ''))}\n`),
    });
  for (const register of only ? [only] : VERBS) register(program, ctx);
  return program;
}

/** `rumor sim ... | head`: a closed pipe ends the output quietly instead of crashing. */
function quietEpipe(stream: NodeJS.WriteStream): void {
  if (stream.listenerCount('error') > 0) return;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0];
}

/**
 * Run the CLI with `argv` (without `node` and the script path). Resolves to the exit code;
 * never rejects for user errors.
 */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  if (!io.stdout) quietEpipe(process.stdout);
  const ctx: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    cwd: io.cwd ?? process.cwd(),
    exitCode: 0,
  };
  try {
    // `rumor agent` with a plain command line runs without commander (`quickAgentOptions`).
    const quick = argv[0] === 'agent' ? quickAgentOptions(argv.slice(1)) : null;
    if (quick !== null) await runAgent(ctx, quick);
    else await buildProgram(ctx, argv[0] === 'agent' ? registerAgent : undefined).parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (commanderModule !== null && e instanceof commanderModule.CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError || e instanceof RunError) {
      ctx.stderr.write(`rumor: ${firstLine(e.message)}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
    throw e;
  }
}
