// Vite configuration of the web app. Root: this folder (index.html); sources in ../src/web;
// output in ../dist/web, which the npm package ships, `rumor ui` serves (the simulator) and
// the agent serves at /ui/ (the dashboard).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
    // Two pages: the visual simulator (index.html) and the live dashboard the agent serves
    // at /ui/ (dashboard.html).
    rollupOptions: { input: { main: fileURLToPath(new URL('index.html', import.meta.url)), dashboard: fileURLToPath(new URL('dashboard.html', import.meta.url)) } },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
});
