/**
 * When the agent warms its handler spawn path (HandlerRunner.warmUp: the launcher's spawn and
 * two no-op runs): off the start-up path — each warm-up spawn forks the agent and blocks its
 * event loop for a moment, which delayed the first API answer and, when a fleet starts at once,
 * its join — but before the first events. It runs `afterRequestMs` after the API's first
 * request (a readiness probe, `rumor members`, a bench's poll: the agent is up), or `delayMs`
 * after start-up when no request comes sooner. Timed from start-up only, the last agents of a
 * 50-agent fleet started at once warmed up while the fleet's first events ran (docs/results.md,
 * h29e).
 */
export class WarmUpTimer {
  private timer: NodeJS.Timeout | null = null;
  private requested_ = false;
  private at_: number | null = null;
  private stopped = false;

  constructor(
    private readonly run: () => void,
    private readonly delayMs: number,
    private readonly afterRequestMs: number,
  ) {}

  /** Arm the start-up timer (`delayMs`). */
  start(): void {
    this.arm(this.delayMs);
  }

  /** The API got a request: the first one brings the warm-up forward to `afterRequestMs`. */
  requested(): void {
    if (this.requested_ || this.stopped) return;
    this.requested_ = true;
    if (this.at_ === null && this.afterRequestMs < this.delayMs) this.arm(this.afterRequestMs);
  }

  /** When the warm-up ran (ms since the epoch; null: not yet). */
  get at(): number | null {
    return this.at_;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.at_ = Date.now();
      this.run();
    }, ms);
    this.timer.unref();
  }
}
