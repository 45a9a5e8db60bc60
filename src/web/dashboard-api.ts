/**
 * The dashboard page's link to its agent: the API token (asked once, kept in sessionStorage
 * for this tab only, sent as `Authorization: Bearer`), `GET /v1/info`, and the one
 * server-sent-events stream (`/v1/dashboard/stream`) read with `fetch` (EventSource cannot
 * send an Authorization header), reconnecting with backoff (1 s doubling to 10 s).
 */

const TOKEN_KEY = 'rumor.apiToken';

export type InfoResult = { ok: true; info: Record<string, unknown> } | { ok: false; status: number; reason: string };

export class AgentLink {
  token: string | null;

  constructor(private readonly base = '') {
    this.token = sessionStorage.getItem(TOKEN_KEY);
  }

  setToken(t: string | null): void {
    this.token = t;
    if (t === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, t);
  }

  private headers(): Record<string, string> {
    return this.token === null ? {} : { authorization: `Bearer ${this.token}` };
  }

  /** `GET /v1/info`: the info, or why not (401 = token missing or wrong). */
  async info(): Promise<InfoResult> {
    try {
      const r = await fetch(`${this.base}/v1/info`, { headers: this.headers() });
      if (r.ok) return { ok: true, info: (await r.json()) as Record<string, unknown> };
      let reason = `HTTP ${r.status}`;
      try {
        reason = String(((await r.json()) as { error?: string }).error ?? reason);
      } catch {
        // not JSON
      }
      return { ok: false, status: r.status, reason };
    } catch (e) {
      return { ok: false, status: 0, reason: `cannot reach the agent: ${(e as Error).message}` };
    }
  }

  /**
   * Keep the stream open: `onEvent` for each event, `onState` on connection changes. A 401
   * stops it (`onState('unauthorized')`). Returns a function that closes it.
   */
  stream(onEvent: (event: string, data: unknown) => void, onState: (s: 'open' | 'retrying' | 'unauthorized', detail: string) => void): () => void {
    let stopped = false;
    let ctl: AbortController | null = null;
    let delay = 1000;
    let timer: number | undefined;
    const connect = async (): Promise<void> => {
      ctl = new AbortController();
      let detail = 'stream ended';
      try {
        const r = await fetch(`${this.base}/v1/dashboard/stream`, { headers: this.headers(), signal: ctl.signal, cache: 'no-store' });
        if (r.status === 401) {
          onState('unauthorized', 'the agent refused the token');
          return;
        }
        if (!r.ok || r.body === null) throw new Error(`HTTP ${r.status}`);
        onState('open', '');
        delay = 1000;
        const parser = new SseParser(onEvent);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
        }
      } catch (e) {
        detail = (e as Error).message;
      }
      if (stopped) return;
      onState('retrying', `${detail}; reconnecting in ${delay / 1000} s`);
      timer = window.setTimeout(() => void connect(), delay);
      delay = Math.min(10_000, delay * 2);
    };
    void connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      ctl?.abort();
    };
  }
}

/** Incremental parser of the server-sent-events text format (only `event:` and `data:`
 *  fields; comments such as `: ping` are skipped). */
export class SseParser {
  private buf = '';
  private event = 'message';
  private data: string[] = [];

  constructor(private readonly onEvent: (event: string, data: unknown) => void) {}

  push(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        const text = this.data.join('\n');
        let value: unknown = text;
        try {
          value = JSON.parse(text);
        } catch {
          // keep the text
        }
        this.onEvent(this.event, value);
      }
      this.event = 'message';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}
