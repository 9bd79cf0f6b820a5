// One event as the collector takes it (POST /api/analytics/events), built
// so that it always passes the collector's checks, and the batch body.
// Pure: time, ids and the page come in as arguments.

import type { Category, Consent } from './consent';
import { LIMITS, cleanText, isToken, sanitizeProps, toToken, utf8Length, type Props } from './limits';

/** The wire form (README "The collector"). */
export interface WireEvent {
  event_id: string;
  event_type: string;
  fingerprint: string;
  user_id?: string;
  session_id?: string;
  /** client time, ms since the epoch */
  timestamp: number;
  page_url?: string;
  referrer_url?: string;
  event_data: Props;
  consent: Consent;
}

/** An event before it has an identity: the tracker stamps the fingerprint
 * (and the consent it leaves under) when it is queued. */
export interface Draft {
  id: string;
  type: string;
  category: Category;
  ts: number;
  url: string;
  referrer: string;
  sessionId: string;
  userId: string | null;
  data: Props;
}

/** A random UUID v4 from rnd (crypto.getRandomValues, which unlike
 * randomUUID also works on plain-http pages). */
export function uuid(rnd: (b: Uint8Array) => Uint8Array): string {
  const b = rnd(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let h = '';
  for (let i = 0; i < 16; i++) {
    h += (b[i]! + 0x100).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) h += '-';
  }
  return h;
}

/** A draft of type with props; type is made a valid event type. */
export function makeDraft(
  type: string,
  category: Category,
  props: unknown,
  ctx: { id: string; ts: number; url: string; referrer: string; sessionId: string; userId: string | null },
): Draft {
  return {
    id: ctx.id,
    type: isToken(type) ? type : toToken(type) || 'custom',
    category,
    ts: ctx.ts,
    url: ctx.url,
    referrer: ctx.referrer,
    sessionId: ctx.sessionId,
    userId: ctx.userId,
    data: sanitizeProps(props),
  };
}

/** The wire event of d, sent by fingerprint under consent. Every string is
 * cut to what the collector takes. */
export function toWire(d: Draft, fingerprint: string, consent: Consent): WireEvent {
  const e: WireEvent = {
    event_id: isToken(d.id, LIMITS.maxId) ? d.id : toToken(d.id, LIMITS.maxId),
    event_type: d.type,
    fingerprint: cleanText(fingerprint, LIMITS.maxId) || 'unknown',
    timestamp: Math.round(d.ts),
    event_data: d.data,
    consent: { necessary: true, analytics: consent.analytics, marketing: consent.marketing },
  };
  const sid = cleanText(d.sessionId, LIMITS.maxId);
  if (sid) e.session_id = sid;
  if (d.userId) {
    const uid = cleanText(d.userId, LIMITS.maxId);
    if (uid) e.user_id = uid;
  }
  const url = cleanText(d.url, LIMITS.maxUrl);
  if (url) e.page_url = url;
  const ref = cleanText(d.referrer, LIMITS.maxUrl);
  if (ref) e.referrer_url = ref;
  return e;
}

/** The request body for events: {"events":[...]}. */
export function encodeBatch(events: readonly WireEvent[]): string {
  return '{"events":[' + events.map((e) => JSON.stringify(e)).join(',') + ']}';
}

/** UTF-8 bytes one event adds to a batch body (its JSON and a comma). */
export function encodedSize(e: WireEvent): number {
  return utf8Length(JSON.stringify(e)) + 1;
}
