// Makes sure Debian's `dataset-fashion-mnist` package is installed (the gossip-learning
// experiment, `npm run demo:train` and the training test read its idx files). No download of
// our own: it uses the distribution's package (`apt-get install -y dataset-fashion-mnist`),
// running `apt-get update` first only when the install fails.
// Usage: node scripts/ensure-fashion-mnist.mjs   (prints the data directory, exit 0 when usable)
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { aptInstall } from './apt.mjs';

const PKG = 'dataset-fashion-mnist';
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** The directory holding the four idx files (plain or .gz) of the installed package, or null. */
export function fashionMnistDir() {
  const r = spawnSync('dpkg', ['-L', PKG], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const paths = r.stdout.split('\n').filter(Boolean);
  const hit = paths.find((p) => /train-images-idx3-ubyte(\.gz)?$/.test(p));
  if (!hit) return null;
  const dir = dirname(hit);
  return FILES.every((f) => existsSync(`${dir}/${f}`) || existsSync(`${dir}/${f}.gz`)) ? dir : null;
}

/** Returns `{ ok: true, dir }` when the dataset is available, or `{ ok: false, reason }`. */
export function ensureFashionMnist() {
  let dir = fashionMnistDir();
  if (dir) return { ok: true, dir };
  const reason = aptInstall('ensure-fashion-mnist', [PKG], () => fashionMnistDir() !== null);
  if (reason) return { ok: false, reason: `apt-get install ${PKG} failed (${reason})` };
  dir = fashionMnistDir();
  if (!dir) return { ok: false, reason: `apt-get finished but dpkg -L ${PKG} lists no idx files` };
  return { ok: true, dir };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = ensureFashionMnist();
  if (!r.ok) {
    console.error(`ensure-fashion-mnist: cannot provide Fashion-MNIST: ${r.reason}. Install it by hand: apt-get install -y ${PKG}`);
    process.exit(1);
  }
  console.log(r.dir);
}
