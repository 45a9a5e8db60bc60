/**
 * Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) from Debian's `dataset-fashion-mnist` package
 * (`/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz`; `node scripts/ensure-fashion-mnist.mjs`
 * installs it): the idx files parsed, every 28×28 image average-pooled 2×2 to 14×14 (196
 * features in [0, 1]: 4× less arithmetic for the simulator at 1,000 nodes, and a 7.9 kB model
 * message; softmax regression loses about a point of accuracy to it) and the labels 0–9.
 *
 * The idx format: a big-endian u32 magic (0x00000803 for u8 images, 0x00000801 for u8
 * labels), one big-endian u32 per dimension, then the bytes. Loaded lazily (node:fs, node:zlib)
 * and cached per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Shard } from '../proto/learn/gossip.js';

/** Where Debian's package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
/** Features per example after 2×2 pooling. */
export const FASHION_FEATURES = 14 * 14;
export const FASHION_CLASSES = 10;

export interface FashionMnist {
  train: Shard;
  test: Shard;
}

export type LoadResult = { ok: true; data: FashionMnist } | { ok: false; reason: string };

let cached: FashionMnist | undefined;

function readIdx(dir: string, name: string): Buffer {
  const plain = `${dir}/${name}`;
  if (existsSync(plain)) return readFileSync(plain);
  return gunzipSync(readFileSync(`${plain}.gz`));
}

/** Parse an idx file of u8 values: its dimensions and its data. Throws on a malformed file. */
export function parseIdx(buf: Uint8Array, what: string): { dims: number[]; data: Uint8Array } {
  if (buf.length < 8) throw new Error(`${what}: ${buf.length} bytes is too short for an idx header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0);
  if (magic >>> 8 !== 0x08) throw new Error(`${what}: magic 0x${magic.toString(16)} is not an idx file of unsigned bytes`);
  const nd = magic & 0xff;
  if (nd < 1 || nd > 3 || buf.length < 4 + 4 * nd) throw new Error(`${what}: ${nd} dimensions not supported`);
  const dims: number[] = [];
  for (let k = 0; k < nd; k++) dims.push(dv.getUint32(4 + 4 * k));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (buf.length !== start + size) throw new Error(`${what}: ${buf.length - start} data bytes, dimensions ${dims.join('×')} need ${size}`);
  return { dims, data: buf.subarray(start) };
}

/** 28×28 u8 images → 14×14 float32 in [0, 1] (mean of each 2×2 block / 255). */
export function pool2x2(images: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count * FASHION_FEATURES);
  for (let n = 0; n < count; n++) {
    const io = n * 784;
    const oo = n * FASHION_FEATURES;
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        const p = io + 2 * r * 28 + 2 * c;
        out[oo + r * 14 + c] = (images[p] + images[p + 1] + images[p + 28] + images[p + 29]) / 1020;
      }
    }
  }
  return out;
}

function loadSplit(dir: string, prefix: string): Shard {
  const img = parseIdx(readIdx(dir, `${prefix}-images-idx3-ubyte`), `${prefix} images`);
  const lab = parseIdx(readIdx(dir, `${prefix}-labels-idx1-ubyte`), `${prefix} labels`);
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) throw new Error(`${prefix} images: dimensions ${img.dims.join('×')}, expected N×28×28`);
  if (lab.dims[0] !== img.dims[0]) throw new Error(`${prefix}: ${img.dims[0]} images but ${lab.dims[0]} labels`);
  for (const l of lab.data) if (l >= FASHION_CLASSES) throw new Error(`${prefix} labels: label ${l} out of range`);
  return { xs: pool2x2(img.data, img.dims[0]), labels: Uint8Array.from(lab.data), count: img.dims[0] };
}

/** Load (once per process) the training and test sets, or say why not. */
export function loadFashionMnist(dir = FASHION_MNIST_DIR): LoadResult {
  if (cached && dir === FASHION_MNIST_DIR) return { ok: true, data: cached };
  if (!existsSync(`${dir}/train-images-idx3-ubyte.gz`) && !existsSync(`${dir}/train-images-idx3-ubyte`)) {
    return { ok: false, reason: `Fashion-MNIST not found in ${dir}: run \`node scripts/ensure-fashion-mnist.mjs\` (installs Debian's dataset-fashion-mnist)` };
  }
  try {
    const data = { train: loadSplit(dir, 'train'), test: loadSplit(dir, 't10k') };
    if (dir === FASHION_MNIST_DIR) cached = data;
    return { ok: true, data };
  } catch (err) {
    return { ok: false, reason: `Fashion-MNIST in ${dir}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The examples `idx` of `data` as a compact shard of their own. */
export function subset(data: Shard, idx: ArrayLike<number>, features: number): Shard {
  const xs = new Float32Array(idx.length * features);
  const labels = new Uint8Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    xs.set(data.xs.subarray(idx[k] * features, (idx[k] + 1) * features), k * features);
    labels[k] = data.labels[idx[k]];
  }
  return { xs, labels, count: idx.length };
}
