// The push-gateway's WebSocket (/api/analytics/ws): the token in the first
// message, then subscriptions. One connection for the whole page; views add
// and remove handlers per channel. When the connection drops it is tried
// again with backoff, and once back it asks to resume after the last seq it
// saw: the gateway replays what was missed from its ring, or says resync
// (restarted, or too long away), and then every handler's onResync re-reads
// by REST. A connection that goes quiet is pinged, and dropped if it stays
// quiet.
import { backoffDelay } from './backoff';

export type Channel = 'metrics' | 'events' | 'scores' | 'journeys' | 'triggers';
export type Filter = Partial<Record<'event_type' | 'page_type' | 'country' | 'fingerprint', string>>;
export type SocketState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'unauthorized';

export interface Handler {
  onMessage(data: unknown, seq: number): void;
  /** The gateway dropped messages for this slow client. */
  onLagged?(missed: number): void;
  /** What was missed cannot be replayed: read the state again by REST. */
  onResync?(): void;
}

interface Sub {
  filter: Filter;
  handlers: Set<Handler>;
}

const QUIET_PING_MS = 15000;
const QUIET_DROP_MS = 25000;

export class LiveSocket {
  state: SocketState = 'closed';
  /** When the next attempt is due (reconnecting), ms since the epoch. */
  retryAt = 0;
  attempts = 0;
  private ws: WebSocket | null = null;
  private subs = new Map<Channel, Sub>();
  private instance: string | null = null;
  private lastSeq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private quiet: ReturnType<typeof setInterval> | null = null;
  private lastFrame = 0;
  private pinged = false;
  private stopped = true;
  private listeners = new Set<(s: SocketState) => void>();

  constructor(
    private readonly url: string,
    private token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  /** Listens to state changes; returns the function that stops it. */
  watch(fn: (s: SocketState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.quiet = setInterval(() => this.checkQuiet(), 5000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.quiet) clearInterval(this.quiet);
    this.timer = null;
    this.quiet = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
    this.setState('closed');
  }

  /** Subscribes handler to channel (with filter: the channel's one filter, replaced). Returns the unsubscribe. */
  subscribe(channel: Channel, handler: Handler, filter: Filter = {}): () => void {
    let sub = this.subs.get(channel);
    if (!sub) {
      sub = { filter, handlers: new Set() };
      this.subs.set(channel, sub);
      this.sendSubscribe(channel, filter);
    } else if (JSON.stringify(sub.filter) !== JSON.stringify(filter)) {
      sub.filter = filter;
      this.send({ type: 'unsubscribe', channel });
      this.sendSubscribe(channel, filter);
    }
    sub.handlers.add(handler);
    return () => {
      const s = this.subs.get(channel);
      if (!s) return;
      s.handlers.delete(handler);
      if (s.handlers.size === 0) {
        this.subs.delete(channel);
        this.send({ type: 'unsubscribe', channel });
      }
    };
  }

  /** Drops the connection now (and reconnects): for tests and the "retry now" button. */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.attempts = 0;
    if (this.ws) this.ws.close(4000);
    else this.connect();
  }

  private setState(s: SocketState): void {
    this.state = s;
    for (const fn of this.listeners) fn(s);
  }

  private send(m: unknown): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === 'open') this.ws.send(JSON.stringify(m));
  }

  private sendSubscribe(channel: Channel, filter: Filter): void {
    this.send(Object.keys(filter).length ? { type: 'subscribe', channel, filter } : { type: 'subscribe', channel });
  }

  private connect(): void {
    this.setState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.lastFrame = Date.now();
    this.pinged = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token }));
    ws.onmessage = (e) => this.frame(ws, e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped || this.state === 'unauthorized') return;
      this.scheduleRetry();
    };
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.attempts, Math.random());
    this.attempts++;
    this.retryAt = Date.now() + delay;
    this.setState('reconnecting');
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private checkQuiet(): void {
    if (!this.ws || this.state !== 'open') return;
    const q = Date.now() - this.lastFrame;
    if (q > QUIET_DROP_MS) {
      this.ws.close(4001); // the close handler schedules the retry
    } else if (q > QUIET_PING_MS && !this.pinged) {
      this.pinged = true;
      this.ws.send(JSON.stringify({ type: 'ping' }));
    }
  }

  private frame(ws: WebSocket, raw: unknown): void {
    if (this.ws !== ws || typeof raw !== 'string') return;
    this.lastFrame = Date.now();
    this.pinged = false;
    let m: { type?: string; channel?: Channel; seq?: number; data?: unknown; instance?: string; missed?: number; code?: string };
    try {
      m = JSON.parse(raw);
    } catch {
      return;
    }
    switch (m.type) {
      case 'authenticated': {
        const before = this.instance;
        const seq = this.lastSeq;
        this.attempts = 0;
        this.setState('open');
        for (const [ch, sub] of this.subs) this.sendSubscribe(ch, sub.filter);
        // After a drop: what was missed since seq (replayed, or a resync).
        if (before !== null && seq > 0) this.send({ type: 'resume', instance: before, seq });
        this.instance = m.instance ?? null;
        if (this.instance !== before) this.lastSeq = m.seq ?? 0; // seqs count per instance
        break;
      }
      case 'message': {
        if (typeof m.seq === 'number') this.lastSeq = m.seq;
        const sub = m.channel ? this.subs.get(m.channel) : undefined;
        for (const h of sub?.handlers ?? []) h.onMessage(m.data, m.seq ?? 0);
        break;
      }
      case 'lagged': {
        const sub = m.channel ? this.subs.get(m.channel) : undefined;
        for (const h of sub?.handlers ?? []) h.onLagged?.(m.missed ?? 0);
        break;
      }
      case 'resync':
        for (const sub of this.subs.values()) for (const h of sub.handlers) h.onResync?.();
        break;
      case 'error':
        if (m.code === 'unauthorized') {
          this.setState('unauthorized');
          this.onUnauthorized();
        }
        break;
      default:
        break;
    }
  }
}

/** The WebSocket URL of the page's own origin. */
export function socketUrl(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api/analytics/ws`;
}
