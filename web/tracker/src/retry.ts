// What to do with a batch after the collector answered (or did not), and
// when to try again. Pure: the random source and the time come in.
//
// The collector (README "The collector", "Answers"): 202 with
// {"accepted":N,"rejected":[{"index":i,"error":"...","retryable":true?}]}
// takes the batch but the listed events; those marked retryable (the
// broker away and the spool full) may be sent again, the others never will
// be taken. 429 and 503 carry Retry-After. A network error, 408 and 5xx are
// worth retrying whole; any other 4xx will not change by resending.

export interface Verdict {
  /** indexes into the batch: delivered, or refused for good */
  done: number[];
  /** indexes to send again later */
  retry: number[];
  /** indexes refused for good (a subset of done), with the reason */
  refused: { index: number; error: string }[];
  /** the server's wait before retrying, ms, or null */
  retryAfterMs: number | null;
  /** send the batch again in halves (413 for a batch of more than one) */
  split: boolean;
}

const RETRY_STATUSES = new Set([0, 408, 425, 429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 3_600_000;

/** Retry-After (delta seconds, or an HTTP date) in ms from now, at most an
 * hour; null when absent or unreadable. */
export function parseRetryAfter(h: string | null | undefined, now: number): number | null {
  if (h == null) return null;
  const t = h.trim();
  if (/^\d+$/.test(t)) return Math.min(Number(t) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(t);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** The verdict on a batch of n events sent: status 0 for a network error
 * (no answer), body the answer's text (null when unread). */
export function judge(
  status: number,
  body: string | null,
  retryAfter: string | null,
  n: number,
  now: number,
): Verdict {
  const v: Verdict = { done: [], retry: [], refused: [], retryAfterMs: null, split: false };
  if (RETRY_STATUSES.has(status)) {
    v.retry = range(n);
    v.retryAfterMs = parseRetryAfter(retryAfter, now);
    return v;
  }
  if (status === 413 && n > 1) {
    v.retry = range(n);
    v.split = true;
    return v;
  }
  const listed = rejectedList(body);
  if (status >= 200 && status < 300) {
    const retryable = new Set<number>();
    for (const r of listed) {
      if (r.index < 0 || r.index >= n) continue;
      if (r.retryable) retryable.add(r.index);
      else v.refused.push({ index: r.index, error: r.error });
    }
    for (let i = 0; i < n; i++) (retryable.has(i) ? v.retry : v.done).push(i);
    return v;
  }
  // 400 (each event refused, listed or not) and every other 4xx: final.
  v.done = range(n);
  const byIndex = new Map(listed.map((r) => [r.index, r.error]));
  const whole = errorText(body) ?? `HTTP ${status}`;
  v.refused = v.done.map((i) => ({ index: i, error: byIndex.get(i) ?? whole }));
  return v;
}

interface Rejection {
  index: number;
  error: string;
  retryable: boolean;
}

function rejectedList(body: string | null): Rejection[] {
  if (!body) return [];
  try {
    const o = JSON.parse(body) as { rejected?: unknown };
    if (!Array.isArray(o.rejected)) return [];
    return o.rejected
      .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null)
      .filter((r) => typeof r.index === 'number')
      .map((r) => ({
        index: r.index as number,
        error: typeof r.error === 'string' ? r.error : 'rejected',
        retryable: r.retryable === true,
      }));
  } catch {
    return [];
  }
}

function errorText(body: string | null): string | null {
  if (!body) return null;
  try {
    const o = JSON.parse(body) as { error?: unknown };
    return typeof o.error === 'string' ? o.error : null;
  } catch {
    return null;
  }
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random: () => number;
}

/** Exponential backoff with full jitter: the k-th wait in a row is
 * uniform in [0, min(max, base * 2^k)], and never shorter than what the
 * server asked for (Retry-After), plus up to a tenth more so that clients
 * told the same time do not all come back at once. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly o: BackoffOptions) {}

  /** Failures in a row so far. */
  get failures(): number {
    return this.attempt;
  }

  /** The wait before the next try, after one more failure. */
  next(retryAfterMs: number | null = null): number {
    const cap = Math.min(this.o.maxMs, this.o.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = this.o.random() * cap;
    if (retryAfterMs !== null && retryAfterMs > 0) {
      return retryAfterMs + this.o.random() * retryAfterMs * 0.1;
    }
    return Math.max(jittered, Math.min(100, cap));
  }

  /** A success: the next failure starts from the base again. */
  reset(): void {
    this.attempt = 0;
  }
}
