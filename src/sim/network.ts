/**
 * The simulator's network model: per-message latency, loss, and the delays after which a
 * node learns that a link failed.
 *
 * Links behave like TCP connections between processes: a message is either delivered after
 * a sampled one-way latency (FIFO per link, enforced by the simulator) or lost with
 * probability `loss` (a path whose retransmissions outlived the message's usefulness).
 * When a process crashes, the peers holding a connection to it learn it after one one-way
 * latency (`rst`: the kernel resets the connection) or after a timeout (a silent host);
 * connecting to a crashed process is refused after one round trip, connecting across a
 * partition (or to a silent host) gives up after `connectTimeoutMs`.
 *
 * All randomness comes from one seeded generator owned by the network.
 */
import type { Sfc32 } from '../proto/rng.js';
import type { LatencyModel, NetworkConfig } from './scenario-types.js';

/** Defaults: a LAN-ish network. Latency uniform 5–25 ms (measured: typical intra-region
 *  RTTs of 10–50 ms, iroh-gossip's simulator uses 10–50 ms one-way [protocols.md §2.3]);
 *  no loss; crashes detected by connection reset; 1 s connect timeout (a common client default). */
export const DEFAULT_NETWORK_CONFIG: NetworkConfig = Object.freeze({
  latency: Object.freeze({ kind: 'uniform', minMs: 5, maxMs: 25 }) as LatencyModel,
  loss: 0,
  failureDetection: Object.freeze({ kind: 'rst' }) as NetworkConfig['failureDetection'],
  connectTimeoutMs: 1000,
}) as NetworkConfig;

/** Merge `input` over the defaults and validate; throws an Error naming the field. */
export function resolveNetworkConfig(input: Partial<NetworkConfig> = {}): NetworkConfig {
  const c: NetworkConfig = { ...DEFAULT_NETWORK_CONFIG, ...input };
  const bad = (field: string, v: unknown): never => {
    throw new Error(`network.${field}: invalid value ${JSON.stringify(v)}`);
  };
  const nonNeg = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  const L = c.latency;
  if (L === null || typeof L !== 'object') bad('latency', L);
  if (L.kind === 'constant') {
    if (!nonNeg(L.ms)) bad('latency.ms', L.ms);
  } else if (L.kind === 'uniform') {
    if (!nonNeg(L.minMs)) bad('latency.minMs', L.minMs);
    if (!nonNeg(L.maxMs) || L.maxMs < L.minMs) bad('latency.maxMs', L.maxMs);
  } else if (L.kind === 'lognormal') {
    if (!nonNeg(L.medianMs)) bad('latency.medianMs', L.medianMs);
    if (!nonNeg(L.sigma)) bad('latency.sigma', L.sigma);
  } else {
    bad('latency.kind', (L as { kind: unknown }).kind);
  }
  if (!nonNeg(c.loss) || c.loss > 1) bad('loss', c.loss);
  const fd = c.failureDetection;
  if (fd === null || typeof fd !== 'object' || (fd.kind !== 'rst' && fd.kind !== 'timeout')) {
    bad('failureDetection', fd);
  }
  if (fd.kind === 'timeout' && !nonNeg(fd.ms)) bad('failureDetection.ms', fd.ms);
  if (!nonNeg(c.connectTimeoutMs)) bad('connectTimeoutMs', c.connectTimeoutMs);
  return c;
}

/** Latency, loss and failure-detection delays, drawn from the network's generator. */
export class NetworkModel {
  loss: number;
  private readonly kind: 0 | 1 | 2;
  private readonly a: number;
  private readonly b: number;

  constructor(
    readonly config: NetworkConfig,
    private readonly rng: Sfc32,
  ) {
    this.loss = config.loss;
    const L = config.latency;
    if (L.kind === 'constant') {
      this.kind = 0;
      this.a = L.ms;
      this.b = 0;
    } else if (L.kind === 'uniform') {
      this.kind = 1;
      this.a = L.minMs;
      this.b = L.maxMs - L.minMs;
    } else {
      this.kind = 2;
      this.a = L.medianMs;
      this.b = L.sigma;
    }
  }

  /** One-way latency of one message (ms). */
  latency(): number {
    if (this.kind === 0) return this.a;
    if (this.kind === 1) return this.a + this.b * this.rng.next();
    // Log-normal: median · exp(sigma · Z), Z standard normal by Box–Muller.
    const u = 1 - this.rng.next();
    const v = this.rng.next();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return this.a * Math.exp(this.b * z);
  }

  /** Whether the next message is lost. Draws nothing when loss is 0. */
  lost(): boolean {
    return this.loss > 0 && this.rng.next() < this.loss;
  }

  /** Delay until a connection peer learns that a process crashed. */
  crashDetectMs(): number {
    const fd = this.config.failureDetection;
    return fd.kind === 'rst' ? this.latency() : fd.ms;
  }

  /** Delay until a connect to a crashed process fails: refused after one round trip
   *  (`rst`), or the connect timeout for a silent host (`timeout`). */
  refusedMs(): number {
    return this.config.failureDetection.kind === 'rst' ? this.latency() + this.latency() : this.config.connectTimeoutMs;
  }

  /** Delay until a connection across a partition (or a connect into it) is given up. */
  silentMs(): number {
    const fd = this.config.failureDetection;
    return fd.kind === 'timeout' ? fd.ms : this.config.connectTimeoutMs;
  }
}
