/**
 * Serve the built dashboard page (Vite's `dist/web/dashboard.html` and its assets) at `/ui/`
 * on the agent's API address. The files are the public app code, served without the API
 * token: the page then asks for the token and sends it on every API call. Read-only, no
 * directory listing, no path outside `dist/web`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Answer `req` with the built web app's file `file` (already checked to lie inside it):
 *  its type by extension, no caching, no sniffing; no body for HEAD. Shared by the agent's
 *  `/ui/` and `rumor ui`'s local server. */
export async function sendWebFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const body = await readFile(file);
  res.writeHead(200, {
    'content-type': MIME[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

let cachedDir: string | null | undefined;

/** `dist/web` of the rumor package this file belongs to, or null if not found. */
export function webDir(): string | null {
  if (cachedDir !== undefined) return cachedDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'rumor') return (cachedDir = join(dir, 'dist', 'web'));
      } catch {
        // keep walking up
      }
    }
    dir = dirname(dir);
  }
  return (cachedDir = null);
}

/** Answer a `/ui` request. `path` is the URL path (it starts with `/ui`). */
export async function serveUi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: `method ${req.method ?? ''} not allowed on /ui` }));
    return;
  }
  if (path === '/ui') {
    res.writeHead(308, { location: '/ui/' }).end();
    return;
  }
  const base = webDir();
  if (base === null || !existsSync(join(base, 'dashboard.html'))) {
    const body = JSON.stringify({ error: 'dashboard not built: run `npm run build:web` in the rumor checkout (the npm package ships it built)' });
    res.writeHead(503, { 'content-type': 'application/json' }).end(body);
    return;
  }
  let rel: string;
  try {
    rel = path === '/ui/' ? 'dashboard.html' : decodeURIComponent(path.slice('/ui/'.length));
  } catch {
    rel = '\0'; // malformed %-escape: no such file
  }
  const file = normalize(join(resolve(base), rel));
  if (rel.includes('\0') || !file.startsWith(resolve(base) + sep) || !existsSync(file) || statSync(file).isDirectory() || rel === 'index.html') {
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no such file: ${path}` }));
    return;
  }
  await sendWebFile(req, res, file);
}
