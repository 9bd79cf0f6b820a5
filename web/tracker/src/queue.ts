// The bounded queue of events waiting to be sent, kept in first-party
// storage (localStorage) when the visitor allowed analytics, so that what an
// offline or closing page could not send leaves with the next page load.
// Pure: the storage comes in as a KV, the time as arguments.
//
// Each page load owns one storage key (prefix + owner): two tabs never send
// the same events. A page marks its key closed when it goes away (pagehide)
// with what it could not hand to the browser; the next page load adopts
// closed keys, and keys whose owner stopped writing (staleMs: a crashed or
// killed tab), into its own queue.
//
// Every event is in exactly one of three states: idle (to send), in flight
// (a request carries it: kept, and stored, until the answer), handed (given
// to sendBeacon or a keepalive request at pagehide: the browser delivers it,
// so it is no longer stored, and a next page cannot send it again). An event
// that failed once (the collector away, the network down) is never handed
// to a beacon, whose failure nobody hears of: it stays stored, closed, for
// the next page load.

import { encodedSize, type WireEvent } from './event';

export interface KV {
  get(key: string): string | null;
  /** false when the storage refused (quota, disabled) */
  set(key: string, value: string): boolean;
  remove(key: string): void;
  keys(): string[];
}

export interface QueueOptions {
  /** events held at most; past it the oldest waiting one is dropped */
  maxEvents: number;
  /** bytes of event JSON held at most, likewise */
  maxBytes: number;
  /** a stored queue not written for this long belongs to a dead page */
  staleMs: number;
  /** storage key prefix; the owner id follows */
  prefix: string;
  /** this page load's id */
  owner: string;
}

const IDLE = 0;
const INFLIGHT = 1;
const HANDED = 2;

interface Item {
  e: WireEvent;
  size: number;
  state: number;
  /** sends that failed */
  tries: number;
}

interface Stored {
  v: 1;
  owner: string;
  ts: number;
  closed: boolean;
  events: WireEvent[];
}

export class EventQueue {
  private items: Item[] = [];
  private kv: KV | null = null;
  private bytes = 0;
  /** events dropped because the queue was full */
  dropped = 0;

  constructor(private readonly o: QueueOptions) {}

  /** Events held (idle, in flight or handed). */
  get length(): number {
    return this.items.length;
  }

  /** Events waiting to be sent. */
  get waiting(): number {
    let n = 0;
    for (const it of this.items) if (it.state === IDLE) n++;
    return n;
  }

  /** Whether the queue is kept in storage. */
  get persistent(): boolean {
    return this.kv !== null;
  }

  private key(): string {
    return this.o.prefix + this.o.owner;
  }

  /** Starts keeping the queue in kv, first adopting the queues of pages
   * gone (closed or stale at now). Returns how many events were adopted. */
  attach(kv: KV, now: number): number {
    this.kv = kv;
    const n = this.adopt(now);
    this.persist(now);
    return n;
  }

  /** Stops keeping the queue in storage and removes what was stored. */
  detach(): void {
    if (this.kv) this.kv.remove(this.key());
    this.kv = null;
  }

  /** Adds an event, dropping the oldest waiting ones past the bounds. An
   * event whose id is held already is ignored. Returns false if so. */
  add(e: WireEvent): boolean {
    if (this.items.some((it) => it.e.event_id === e.event_id)) return false;
    const size = encodedSize(e);
    this.items.push({ e, size, state: IDLE, tries: 0 });
    this.bytes += size;
    this.bound();
    return true;
  }

  private bound(): void {
    while (this.items.length > this.o.maxEvents || this.bytes > this.o.maxBytes) {
      const i = this.items.findIndex((it) => it.state === IDLE);
      if (i < 0) break; // only events in flight: they leave soon
      this.bytes -= this.items[i]!.size;
      this.items.splice(i, 1);
      this.dropped++;
    }
  }

  /** The oldest waiting events, at most maxEvents and maxBytes of JSON
   * (always at least one), now in flight. */
  take(maxEvents: number, maxBytes: number): WireEvent[] {
    const out: WireEvent[] = [];
    let bytes = 0;
    for (const it of this.items) {
      if (it.state !== IDLE) continue;
      if (out.length >= maxEvents || (out.length > 0 && bytes + it.size > maxBytes)) break;
      it.state = INFLIGHT;
      bytes += it.size;
      out.push(it.e);
    }
    return out;
  }

  /** Removes the events with these ids (delivered, or refused for good). */
  remove(ids: Iterable<string>): void {
    const set = new Set(ids);
    this.items = this.items.filter((it) => {
      if (!set.has(it.e.event_id)) return true;
      this.bytes -= it.size;
      return false;
    });
  }

  /** Makes the events with these ids wait again, after a failed send
   * (failed: counted as a try) or a beacon refused (not). */
  release(ids: Iterable<string>, failed = true): void {
    const set = new Set(ids);
    for (const it of this.items) {
      if (!set.has(it.e.event_id)) continue;
      it.state = IDLE;
      if (failed) it.tries++;
    }
  }

  /** For a page going away: returns the waiting events that never failed,
   * now handed (the caller gives them to sendBeacon), and hands the ones in
   * flight that never failed (a keepalive request carries them). Neither is
   * stored from now on; events that failed before stay, to be stored. */
  handOff(): WireEvent[] {
    const out: WireEvent[] = [];
    for (const it of this.items) {
      if (it.tries > 0 || it.state === HANDED) continue;
      if (it.state === IDLE) out.push(it.e);
      it.state = HANDED;
    }
    return out;
  }

  /** Drops the events for which pred holds (consent withdrawn, say).
   * Returns how many. */
  purge(pred: (e: WireEvent) => boolean): number {
    const before = this.items.length;
    this.items = this.items.filter((it) => {
      if (it.state !== IDLE || !pred(it.e)) return true;
      this.bytes -= it.size;
      return false;
    });
    return before - this.items.length;
  }

  /** Writes the queue (idle and in-flight events) to storage, closed when
   * the page is going away; removes the key when nothing is left. Returns
   * false when the storage refused. */
  persist(now: number, closed = false): boolean {
    if (!this.kv) return true;
    const events = this.items.filter((it) => it.state !== HANDED).map((it) => it.e);
    if (events.length === 0) {
      this.kv.remove(this.key());
      return true;
    }
    const rec: Stored = { v: 1, owner: this.o.owner, ts: now, closed, events };
    return this.kv.set(this.key(), JSON.stringify(rec));
  }

  /** After the page came back (from the back-forward cache): what was
   * handed is the browser's; the rest is still this page's only if its key
   * is still stored (another page may have adopted it meanwhile). */
  reopen(now: number): void {
    const stored = this.kv ? this.kv.get(this.key()) !== null : true;
    this.items = this.items.filter((it) => it.state !== HANDED && stored);
    this.bytes = this.items.reduce((n, it) => n + it.size, 0);
    this.persist(now);
  }

  /** Takes in the stored queues of pages gone (closed, or not written for
   * staleMs), oldest first, ahead of this page's own events. Returns how
   * many events were adopted. */
  adopt(now: number): number {
    if (!this.kv) return 0;
    const mine = this.key();
    const orphans: Stored[] = [];
    for (const k of this.kv.keys()) {
      if (k === mine || !k.startsWith(this.o.prefix)) continue;
      const rec = parseStored(this.kv.get(k));
      if (rec === null) {
        this.kv.remove(k); // not ours to read: unreadable garbage
        continue;
      }
      if (rec.closed || now - rec.ts > this.o.staleMs) {
        orphans.push(rec);
        this.kv.remove(k);
      }
    }
    orphans.sort((a, b) => a.ts - b.ts);
    const seen = new Set(this.items.map((it) => it.e.event_id));
    const adopted: Item[] = [];
    for (const rec of orphans) {
      for (const e of rec.events) {
        if (seen.has(e.event_id)) continue;
        seen.add(e.event_id);
        const size = encodedSize(e);
        adopted.push({ e, size, state: IDLE, tries: 1 });
        this.bytes += size;
      }
    }
    this.items = adopted.concat(this.items);
    this.bound();
    return adopted.length;
  }
}

function parseStored(text: string | null): Stored | null {
  if (!text) return null;
  try {
    const r = JSON.parse(text) as Partial<Stored>;
    if (r && r.v === 1 && typeof r.ts === 'number' && Array.isArray(r.events)) {
      const events = r.events.filter(
        (e): e is WireEvent =>
          typeof e === 'object' && e !== null && typeof e.event_id === 'string' && typeof e.event_type === 'string',
      );
      return { v: 1, owner: String(r.owner), ts: r.ts, closed: r.closed === true, events };
    }
  } catch {
    /* fall through */
  }
  return null;
}
