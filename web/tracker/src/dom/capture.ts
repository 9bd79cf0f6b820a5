// What the tracker captures from the page's own machinery rather than its
// DOM: uncaught errors and rejections read into error_occurred's fields, and
// the site's fetch and XMLHttpRequest calls to its API origins, timed.

import { stripQuery, type errorProps } from '../props';

export type ErrorInfo = Parameters<typeof errorProps>[0];

const STACK_MAX = 2000;

/** An uncaught error's fields, or null for a resource that failed to load
 * (an 'error' event that is not an ErrorEvent, or one with nothing said). */
export function errorInfo(e: Event): ErrorInfo | null {
  if (!(e instanceof ErrorEvent) || (!e.message && !e.error)) return null;
  const err = e.error as { stack?: unknown } | undefined;
  return {
    kind: 'error',
    message: String(e.message || err || 'error'),
    source: e.filename ? stripQuery(e.filename) : undefined,
    line: e.lineno || undefined,
    column: e.colno || undefined,
    stack: typeof err?.stack === 'string' ? err.stack.slice(0, STACK_MAX) : undefined,
  };
}

/** An unhandled rejection's fields. */
export function rejectionInfo(e: PromiseRejectionEvent): ErrorInfo {
  const r = e.reason as { message?: unknown; stack?: unknown } | undefined;
  return {
    kind: 'unhandledrejection',
    message: r && typeof r.message === 'string' ? r.message : String(e.reason),
    stack: r && typeof r.stack === 'string' ? r.stack.slice(0, STACK_MAX) : undefined,
  };
}

/** The URL (origin and path) to time a request to url under, or null when
 * it is not one of apiOrigins' or is the tracker's own (its endpoint, the
 * personalize route). */
export function timedUrl(
  url: string,
  base: string,
  apiOrigins: readonly string[],
  endpoint: string,
  personalizeUrl: string | undefined,
): string | null {
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    return null;
  }
  if (!apiOrigins.includes(u.origin)) return null;
  const plain = u.origin + u.pathname;
  if (plain === stripQuery(endpoint)) return null;
  if (personalizeUrl && plain.startsWith(personalizeUrl.replace(/\/+$/, ''))) return null;
  return plain;
}

export interface ApiHooks {
  /** timedUrl for this page, or null: not timed */
  timed(url: string): string | null;
  /** one timed call answered (status 0: a network error) */
  call(url: string, method: string, status: number, ms: number, kind: 'fetch' | 'xhr'): void;
  /** runs fn measured as the tracker's own time under name */
  run(name: string, fn: () => unknown): unknown;
}

/** Wraps window.fetch and XMLHttpRequest so the calls hooks.timed names
 * are timed and reported through hooks.call; the rest pass untouched. */
export function wrapApis(hooks: ApiHooks): void {
  const native = window.fetch;
  window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
    const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const url = hooks.run('fetch_wrap', () => hooks.timed(raw)) as string | null | undefined;
    const p = native.call(window, input, init);
    if (url) {
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      const t0 = performance.now();
      p.then(
        (r) => hooks.run('api', () => hooks.call(url, method, r.status, performance.now() - t0, 'fetch')),
        () => hooks.run('api', () => hooks.call(url, method, 0, performance.now() - t0, 'fetch')),
      );
    }
    return p;
  } as typeof fetch;
  const X = XMLHttpRequest.prototype;
  const open = X.open;
  const send = X.send;
  const calls = new WeakMap<XMLHttpRequest, { url: string; method: string }>();
  X.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
    const u = hooks.run('xhr_wrap', () => hooks.timed(String(url))) as string | null | undefined;
    if (u) calls.set(this, { url: u, method });
    else calls.delete(this);
    return (open as (...a: unknown[]) => void).call(this, method, url, ...rest);
  } as typeof X.open;
  X.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    const c = calls.get(this);
    if (c) {
      const t0 = performance.now();
      this.addEventListener(
        'loadend',
        () => hooks.run('api', () => hooks.call(c.url, c.method, this.status, performance.now() - t0, 'xhr')),
        { once: true },
      );
    }
    return send.call(this, body);
  };
}
