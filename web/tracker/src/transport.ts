// Sending to the collector: fetch (keepalive, so it outlives the page) for
// batches, sendBeacon for a page going away. Bodies are text/plain and the
// write key rides in the query (the collector takes both), which keeps
// every request a CORS "simple request": no preflight round trip.

import { utf8Length } from './limits';

export interface Answer {
  /** 0: no answer (network error, blocked, offline) */
  status: number;
  body: string | null;
  retryAfter: string | null;
}

/** Under the 64 KiB a page may have in keepalive requests and beacons. */
export const UNLOAD_BODY_MAX = 60_000;

export class Transport {
  readonly url: string;

  constructor(
    endpoint: string,
    writeKey: string | undefined,
    private readonly fetchFn: typeof fetch,
    private readonly beaconFn: ((url: string, body: string) => boolean) | null,
  ) {
    this.url = withQuery(endpoint, 'write_key', writeKey);
  }

  /** POSTs body; never rejects. */
  async post(body: string): Promise<Answer> {
    try {
      const r = await this.fetchFn(this.url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
        keepalive: utf8Length(body) <= UNLOAD_BODY_MAX,
        credentials: 'omit',
        mode: 'cors',
      });
      let text: string | null = null;
      try {
        text = await r.text();
      } catch {
        text = null;
      }
      return { status: r.status, body: text, retryAfter: r.headers.get('Retry-After') };
    } catch {
      return { status: 0, body: null, retryAfter: null };
    }
  }

  /** Hands body to sendBeacon: true when the browser took it. */
  beacon(body: string): boolean {
    if (!this.beaconFn || utf8Length(body) > UNLOAD_BODY_MAX) return false;
    try {
      return this.beaconFn(this.url, body);
    } catch {
      return false;
    }
  }
}

/** url with name=value added to its query (nothing when value is empty). */
export function withQuery(url: string, name: string, value: string | undefined): string {
  if (!value) return url;
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
}
