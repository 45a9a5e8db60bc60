/**
 * `rumor ui [--port N]`: serve the built web app (the visual simulator) from loopback.
 * `rumor ui --agent ADDR [--open]`: the live dashboard of a running agent, which the agent
 * itself serves at `http://ADDR/ui/`: checks that it answers, prints the URL, and opens a
 * browser only with `--open`.
 *
 * The app is built by Vite into `dist/web` (shipped with the package). When running from a
 * source checkout and the build is missing or older than its sources, it is (re)built first
 * with Vite's JS API. The same static server is used by the browser tests and benchmark.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { sendWebFile } from '../agent/dashboard-ui.js';

/** The package root (the directory holding rumor's package.json). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'rumor') return dir;
      } catch {
        // keep walking up
      }
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the rumor package root');
}

/** Where Vite writes the built app. */
export function webDistDir(root = packageRoot()): string {
  return join(root, 'dist', 'web');
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const name of readdirSync(path)) {
    if (name === 'dist' || name === 'node_modules') continue;
    m = Math.max(m, newestMtime(join(path, name)));
  }
  return m;
}

/** True when the built app is missing or older than any of its sources. */
export function webBuildStale(root = packageRoot()): boolean {
  const index = join(webDistDir(root), 'index.html');
  if (!existsSync(index)) return true;
  const sources = ['web', 'src/web', 'src/proto', 'src/sim'].map((p) => join(root, p));
  if (!sources.every((s) => existsSync(s))) return false; // installed package: no sources
  const built = statSync(index).mtimeMs;
  return sources.some((s) => newestMtime(s) > built);
}

/** Build the app with Vite's JS API (only from a source checkout). */
export async function buildWeb(root = packageRoot()): Promise<void> {
  const config = join(root, 'web', 'vite.config.ts');
  if (!existsSync(config)) throw new Error(`web app sources not found (${config}); reinstall the package`);
  const vite = await import('vite');
  await vite.build({ configFile: config, logLevel: 'warn' });
}

/** Build if missing or stale; returns the directory to serve. */
export async function ensureWebBuild(root = packageRoot()): Promise<string> {
  if (webBuildStale(root)) await buildWeb(root);
  const dir = webDistDir(root);
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`web app not built (${dir}/index.html missing): run npm run build:web`);
  return dir;
}

export interface StaticServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Serve `dir` read-only on `host:port` (port 0: any free port). Unknown paths serve index.html. */
export function startStaticServer(dir: string, port = 0, host = '127.0.0.1'): Promise<StaticServer> {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
      if (!existsSync(file) || statSync(file).isDirectory()) file = join(base, 'index.html');
      await sendWebFile(req, res, file);
    } catch {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        url: `http://${host}:${p}/`,
        port: p,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

export interface UiOptions {
  port?: string | number;
  agent?: string;
  open?: boolean;
}

/** Parse `--agent`: `host:port` or `http(s)://host:port`; returns the agent's base URL. */
export function parseAgentAddr(v: string): { ok: true; url: string } | { ok: false; reason: string } {
  const bad = { ok: false as const, reason: `--agent: expected host:port or http://host:port of an agent's API, got ${JSON.stringify(v)}` };
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`);
  } catch {
    return bad;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || u.port === '' || (u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.username !== '') return bad;
  return { ok: true, url: `${u.protocol}//${u.host}` };
}

/** Open `url` in the desktop's browser (xdg-open, open, start). Resolves with an error line or null. */
function openBrowser(url: string): Promise<string | null> {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.once('error', (e) => done(`${cmd}: ${e.message}`));
    child.once('spawn', () => {
      child.unref();
      done(null);
    });
  });
}

/** `rumor ui --agent ADDR`: print (and with `--open`, open) the agent's dashboard URL. */
export async function runUiAgent(opts: UiOptions, out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const a = parseAgentAddr(opts.agent ?? '');
  if (!a.ok) {
    err(`rumor ui: ${a.reason}`);
    return 2;
  }
  const url = `${a.url}/ui/`;
  let page: Response;
  try {
    page = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    err(`rumor ui: cannot reach the agent at ${a.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    return 1;
  }
  if (page.status !== 200) {
    let reason = `HTTP ${page.status}`;
    try {
      reason = String(((await page.json()) as { error?: string }).error ?? reason);
    } catch {
      // not JSON: an older agent, or not an agent
    }
    err(`rumor ui: ${a.url} does not serve the dashboard (${reason})`);
    return 1;
  }
  const info = await fetch(`${a.url}/v1/info`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  out(`rumor ui: the live dashboard of the agent at ${a.url} is at ${url}`);
  if (info?.status === 401) out('rumor ui: this agent has an API token: the page asks for it and keeps it for the browser tab only');
  if (opts.open) {
    const e = await openBrowser(url);
    if (e !== null) {
      err(`rumor ui: could not open a browser (${e}); open ${url} yourself`);
      return 1;
    }
  }
  return 0;
}

/** Parse `--port`: an integer 0..65535 (0 = any free port). Default 7380 (7373 is the agent API). */
export function parsePort(v: string | number | undefined): { ok: true; port: number } | { ok: false; reason: string } {
  if (v === undefined) return { ok: true, port: 7380 };
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) return { ok: false, reason: `--port: expected an integer from 0 to 65535, got ${JSON.stringify(v)}` };
  return { ok: true, port: n };
}

/** Run `rumor ui`: serve until SIGINT/SIGTERM. Resolves with the process exit code. */
export async function runUi(opts: UiOptions): Promise<number> {
  if (opts.agent !== undefined) return runUiAgent(opts);
  if (opts.open) {
    console.error('rumor ui: --open goes with --agent (the simulator prints its URL)');
    return 2;
  }
  const p = parsePort(opts.port);
  if (!p.ok) {
    console.error(`rumor ui: ${p.reason}`);
    return 2;
  }
  let srv: StaticServer;
  try {
    const dir = await ensureWebBuild();
    srv = await startStaticServer(dir, p.port);
  } catch (e) {
    console.error(`rumor ui: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  console.log(`rumor ui: serving the visual simulator at ${srv.url} (Ctrl-C to stop)`);
  return new Promise<number>((done) => {
    const stop = (): void => {
      void srv.close().then(() => done(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Register `rumor ui [--port N] [--agent ADDR [--open]]` on a commander program. */
export function registerUi(program: Command, ctx?: CliContext): void {
  program
    .command('ui')
    .description('serve the visual simulator (spread, convergence, overlay views) on 127.0.0.1, or with --agent show where a running agent serves its live dashboard')
    .option('--port <n>', 'TCP port (0 = any free port)', '7380')
    .option('--agent <addr>', "a running agent's API address (host:port or http://host:port): print the URL of its live dashboard (/ui/)")
    .option('--open', 'with --agent: also open the dashboard in the default browser')
    .action(async (o: UiOptions) => {
      const code = await runUi(o);
      // The CLI's exit code is the context's (main() returns it); without one, the process's.
      if (ctx !== undefined) ctx.exitCode = code;
      else process.exitCode = code;
    });
}
