/**
 * Softmax regression (multinomial logistic regression) in typed arrays: the model every
 * gossip-learning node trains (`gossip.ts`), and the centralised reference.
 *
 * Parameters are one `Float32Array` of `classes × (features + 1)` numbers: row `c` holds the
 * `features` weights of class `c`, and the `classes` biases follow the last row. A step of
 * stochastic gradient descent on one example `(x, y)` with learning rate `lr`:
 *   p = softmax(W x + b);  W_c -= lr (p_c − [c = y]) x;  b_c -= lr (p_c − [c = y]).
 * Pure functions over caller-owned arrays: no allocation on the hot path (the scratch buffer
 * is the caller's), no clock, no randomness.
 */

/** Dimensions of a model. */
export interface ModelShape {
  readonly features: number;
  readonly classes: number;
}

/** Number of parameters of a model of `shape`. */
export function paramCount(shape: ModelShape): number {
  return shape.classes * (shape.features + 1);
}

/** A zero model (softmax regression is convex: zero is as good a start as any). */
export function zeroParams(shape: ModelShape): Float32Array {
  return new Float32Array(paramCount(shape));
}

/** Logits of example `i` of `xs` (row-major, `features` per example) into `out`. */
export function logits(shape: ModelShape, w: Float32Array, xs: Float32Array, i: number, out: Float64Array): void {
  const F = shape.features;
  const C = shape.classes;
  const xo = i * F;
  const bo = C * F;
  for (let c = 0; c < C; c++) {
    let s = w[bo + c];
    const wo = c * F;
    for (let f = 0; f < F; f++) s += w[wo + f] * xs[xo + f];
    out[c] = s;
  }
}

/** Class predicted for example `i` (the first of equal maxima). */
export function predict(shape: ModelShape, w: Float32Array, xs: Float32Array, i: number, scratch: Float64Array): number {
  logits(shape, w, xs, i, scratch);
  let best = 0;
  for (let c = 1; c < shape.classes; c++) if (scratch[c] > scratch[best]) best = c;
  return best;
}

/** Softmax of `z` in place (shifted by the maximum, so it never overflows). */
export function softmaxInPlace(z: Float64Array, n: number): void {
  let m = -Infinity;
  for (let c = 0; c < n; c++) if (z[c] > m) m = z[c];
  let s = 0;
  for (let c = 0; c < n; c++) {
    z[c] = Math.exp(z[c] - m);
    s += z[c];
  }
  for (let c = 0; c < n; c++) z[c] /= s;
}

/** The forward pass on example `i`: class probabilities in `scratch[0..classes)`; returns the
 *  cross-entropy loss of label `y`. */
function forward(shape: ModelShape, w: Float32Array, xs: Float32Array, i: number, y: number, scratch: Float64Array): number {
  logits(shape, w, xs, i, scratch);
  softmaxInPlace(scratch, shape.classes);
  return -Math.log(Math.max(scratch[y], 1e-30));
}

/** One SGD step on example `i` (label `y`) with rate `lr`; returns its cross-entropy loss. */
export function sgdStep(shape: ModelShape, w: Float32Array, xs: Float32Array, i: number, y: number, lr: number, scratch: Float64Array): number {
  const F = shape.features;
  const C = shape.classes;
  const loss = forward(shape, w, xs, i, y, scratch);
  const xo = i * F;
  const bo = C * F;
  for (let c = 0; c < C; c++) {
    const g = lr * (scratch[c] - (c === y ? 1 : 0));
    if (g === 0) continue;
    const wo = c * F;
    for (let f = 0; f < F; f++) w[wo + f] -= g * xs[xo + f];
    w[bo + c] -= g;
  }
  return loss;
}

/**
 * One SGD step with heavy-ball momentum (Polyak 1964; the form of most libraries) on example
 * `i` (label `y`): `v ← mu v + g;  w ← w − lr v`, with `g` the gradient of the example's
 * cross-entropy. `v` is the caller's velocity, as long as `w`; `mu` 0 is `sgdStep`. Returns the
 * example's loss.
 */
export function momentumStep(shape: ModelShape, w: Float32Array, v: Float32Array, xs: Float32Array, i: number, y: number, lr: number, mu: number, scratch: Float64Array): number {
  if (v.length !== w.length) throw new RangeError(`momentum: velocity of ${v.length}, model of ${w.length}`);
  const F = shape.features;
  const C = shape.classes;
  const loss = forward(shape, w, xs, i, y, scratch);
  const xo = i * F;
  const bo = C * F;
  for (let c = 0; c < C; c++) {
    const g = scratch[c] - (c === y ? 1 : 0);
    const wo = c * F;
    for (let f = 0; f < F; f++) {
      const vk = mu * v[wo + f] + g * xs[xo + f];
      v[wo + f] = vk;
      w[wo + f] -= lr * vk;
    }
    const vb = mu * v[bo + c] + g;
    v[bo + c] = vb;
    w[bo + c] -= lr * vb;
  }
  return loss;
}

/** Fraction of `indices` (or of every example) that `w` classifies right. */
export function accuracy(shape: ModelShape, w: Float32Array, xs: Float32Array, labels: Uint8Array, indices?: ArrayLike<number>): number {
  const scratch = new Float64Array(shape.classes);
  const n = indices ? indices.length : labels.length;
  if (n === 0) return 0;
  let right = 0;
  for (let k = 0; k < n; k++) {
    const i = indices ? indices[k] : k;
    if (predict(shape, w, xs, i, scratch) === labels[i]) right++;
  }
  return right / n;
}

/**
 * Age-weighted average of two models into `out` (which may be `a` or `b`): weights
 * `ageA / (ageA + ageB)` and `ageB / (ageA + ageB)`, or one half each when both ages are 0.
 * Returns the merged model's age, `max(ageA, ageB)` (Ormándi et al. 2013, Alg. 3 keeps the
 * larger age).
 */
export function mergeWeighted(a: Float32Array, ageA: number, b: Float32Array, ageB: number, out: Float32Array): number {
  if (a.length !== b.length || out.length !== a.length) throw new RangeError(`merge: length mismatch ${a.length}/${b.length}/${out.length}`);
  const t = ageA + ageB;
  const wa = t > 0 ? ageA / t : 0.5;
  const wb = 1 - wa;
  for (let k = 0; k < a.length; k++) out[k] = wa * a[k] + wb * b[k];
  return Math.max(ageA, ageB);
}

/** Learning rate after `epochs` passes over the data: `lr0 / (1 + decay × epochs)`. */
export function learningRate(lr0: number, decay: number, epochs: number): number {
  return lr0 / (1 + decay * epochs);
}

/** Per-feature mean of the first `count` examples of `xs` (`features` per example). */
export function featureMeans(xs: Float32Array, count: number, features: number): Float64Array {
  const mu = new Float64Array(features);
  for (let i = 0; i < count; i++) {
    const o = i * features;
    for (let f = 0; f < features; f++) mu[f] += xs[o + f];
  }
  for (let f = 0; f < features; f++) mu[f] /= Math.max(count, 1);
  return mu;
}

/**
 * Subtract `means` from every example of `xs`, in place (centred inputs). Why: with raw pixel
 * intensities in [0, 1] every input shares a large mean component, which gives the loss one
 * curvature far above the others and caps the stable learning rate; an averaged model
 * progresses like gradient descent with a large batch, so that cap is what limits it
 * (measured in docs/results.md, gossip-learning section). Centring is a change of the model's
 * input, applied alike to the central reference, to training and to test data.
 */
export function centre(xs: Float32Array, count: number, means: ArrayLike<number>): void {
  const F = means.length;
  for (let i = 0; i < count; i++) {
    const o = i * F;
    for (let f = 0; f < F; f++) xs[o + f] -= means[f];
  }
}
