// The push-gateway's REST API under /api/analytics/ (same origin), with the
// bearer token, a time limit, and errors sorted into what a person can act
// on: a wrong token, a scope too small, the gateway unreachable, the
// database away, bad input.

export type ErrorKind =
  | 'unauthorized' | 'forbidden' | 'not_found' | 'bad_request' | 'rate_limited'
  | 'unavailable' | 'unreachable' | 'server';

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The kind of an HTTP status (0: no answer at all). */
export function errorKind(status: number): ErrorKind {
  if (status === 0) return 'unreachable';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 502 || status === 504) return 'unavailable';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'server';
}

/** What to tell a person about an error. */
export function describeError(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  switch (e.kind) {
    case 'unauthorized':
      return 'The push-gateway does not accept this token (401). Check it against ANALYTICS_API_TOKENS, or the token scripts/run-local printed.';
    case 'forbidden':
      return `This token may not do that (403): ${e.message}`;
    case 'unreachable':
      return 'Cannot reach the push-gateway. Is it running? This page tries again by itself.';
    case 'unavailable':
      return e.code === 'query_timeout'
        ? 'The query took too long (503). Try a shorter range.'
        : 'The push-gateway cannot reach its database right now (503). It recovers by itself; try again in a moment.';
    case 'rate_limited':
      return 'Too many requests (429); try again in a moment.';
    case 'not_found':
      return e.message || 'Not found (404).';
    default:
      return `${e.message} (${e.status}${e.code ? ` ${e.code}` : ''})`;
  }
}

export type Params = Record<string, string | number | null | undefined>;

/** path with its non-empty params as a query string. */
export function withQuery(path: string, params?: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export class Api {
  /** Called once a request is answered 401 (the token was revoked, say). */
  onUnauthorized: (() => void) | null = null;

  constructor(
    private token: string,
    private readonly base = '/api/analytics/',
    private readonly timeoutMs = 15000,
  ) {}

  setToken(t: string): void {
    this.token = t;
  }

  get<T>(path: string, params?: Params, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', withQuery(path, params), undefined, this.token, signal);
  }

  /** A GET with another token (an admin one for the privacy routes). */
  getAs<T>(token: string, path: string, params?: Params): Promise<T> {
    return this.request<T>('GET', withQuery(path, params), undefined, token);
  }

  post<T>(path: string, body: unknown, token?: string): Promise<T> {
    return this.request<T>('POST', path, body, token ?? this.token);
  }

  private async request<T>(method: string, path: string, body: unknown, token: string, signal?: AbortSignal): Promise<T> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeoutMs);
    const abort = () => ctl.abort();
    signal?.addEventListener('abort', abort);
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: ctl.signal,
        cache: 'no-store',
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiError('unreachable', 0, 'network', ctl.signal.aborted ? 'the push-gateway did not answer in time' : 'network error');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      const e = new ApiError(errorKind(res.status), res.status, err?.code ?? '', err?.message ?? res.statusText);
      if (e.kind === 'unauthorized' && token === this.token) this.onUnauthorized?.();
      throw e;
    }
    return json as T;
  }
}
