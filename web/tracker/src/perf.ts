// The tracker's own cost to the page: every listener and timer it runs is
// wrapped, timed with performance.now() and counted per name, so the
// browser test (and anyone, through analytics.perf()) can check it stays
// under 1 ms a call and 100 ms a page. A wrapped function that throws is
// counted, never passed to the page.

export interface HandlerStats {
  count: number;
  total_ms: number;
  max_ms: number;
  /** the median and 95th percentile of the last 256 calls */
  p50_ms: number;
  p95_ms: number;
}

const SAMPLES = 256;

export interface PerfSnapshot {
  /** the script's start up: reading the config, consent, first events */
  init_ms: number;
  handlers: Record<string, HandlerStats>;
  /** init and every handler call */
  total_ms: number;
  /** the slowest single call of any handler */
  max_ms: number;
  /** calls that threw (and were swallowed) */
  errors: number;
}

export class Perf {
  private stats: Record<string, { count: number; total_ms: number; max_ms: number; last: number[] }> = {};
  private initMs = 0;
  errors = 0;

  constructor(private readonly now: () => number, private readonly onError?: (e: unknown) => void) {}

  private record(name: string, ms: number): void {
    const s = this.stats[name] ?? (this.stats[name] = { count: 0, total_ms: 0, max_ms: 0, last: [] });
    s.last[s.count % SAMPLES] = ms;
    s.count++;
    s.total_ms += ms;
    if (ms > s.max_ms) s.max_ms = ms;
  }

  /** Runs fn, timed under name; returns its result (undefined if it threw). */
  run<R>(name: string, fn: () => R): R | undefined {
    const t0 = this.now();
    try {
      return fn();
    } catch (e) {
      this.errors++;
      this.onError?.(e);
      return undefined;
    } finally {
      this.record(name, this.now() - t0);
    }
  }

  /** fn wrapped as a listener timed under name. */
  wrap<A extends unknown[]>(name: string, fn: (...a: A) => void): (...a: A) => void {
    return (...a: A) => {
      this.run(name, () => fn(...a));
    };
  }

  /** The start-up's cost (measured by the caller around it). */
  setInit(ms: number): void {
    this.initMs = ms;
  }

  snapshot(): PerfSnapshot {
    let total = this.initMs;
    let max = 0;
    const handlers: Record<string, HandlerStats> = {};
    for (const [k, s] of Object.entries(this.stats)) {
      const sorted = s.last.slice().sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      handlers[k] = { count: s.count, total_ms: s.total_ms, max_ms: s.max_ms, p50_ms: at(0.5), p95_ms: at(0.95) };
      total += s.total_ms;
      if (s.max_ms > max) max = s.max_ms;
    }
    return { init_ms: this.initMs, handlers, total_ms: total, max_ms: max, errors: this.errors };
  }
}
