// Events of the live stream (the events channel: EnrichedEvent as JSON) as
// rows of the live feed.
import type { EnrichedEvent } from '../types';
import { enumWords } from '../format';

export interface FeedItem {
  id: string;
  at: number;
  type: string;
  fingerprint: string;
  page: string;
  country: string;
  device: string;
  channel: string;
  detail: string;
}

/** The feed row of one event. */
export function feedItem(e: EnrichedEvent): FeedItem {
  const host = e.page?.host ?? '';
  const path = e.page?.path ?? '';
  return {
    id: e.event_id,
    at: e.event_ts_ms ?? e.received_ts_ms ?? 0,
    type: e.event_type,
    fingerprint: e.fingerprint,
    page: path ? `${host}${path}` : (e.page_url ?? ''),
    country: e.geo?.country_code ?? '',
    device: e.ua?.device_type ? enumWords(e.ua.device_type, 'DEVICE_TYPE_') : '',
    channel: e.campaign?.channel ? enumWords(e.campaign.channel, 'CHANNEL_') : '',
    detail: eventDetail(e),
  };
}

/** A short note from event_data: a click's target, a scroll's depth, a booking's service. */
export function eventDetail(e: EnrichedEvent): string {
  let d: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(e.event_data_json ?? '{}');
    if (v && typeof v === 'object' && !Array.isArray(v)) d = v as Record<string, unknown>;
  } catch {
    return '';
  }
  const str = (k: string) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : '');
  switch (e.event_type) {
    case 'scroll':
      return str('depth_pct') ? `${str('depth_pct')}% down` : '';
    case 'click':
    case 'rage_click':
      return [str('text') || str('element'), str('clicks') ? `×${str('clicks')}` : ''].filter(Boolean).join(' ');
    case 'booking_started':
    case 'booking_completed':
      return [str('service'), str('value') ? `${str('value')} ${str('currency')}`.trim() : ''].filter(Boolean).join(', ');
    case 'form_start':
      return str('form_id');
    case 'exit_intent':
      return enumWords(str('trigger'));
    default:
      return str('title');
  }
}

/** Whether item passes the feed's filters (empty ones pass everything). */
export function feedMatches(item: FeedItem, f: { type: string; country: string; text: string }): boolean {
  if (f.type && item.type !== f.type) return false;
  if (f.country && item.country.toUpperCase() !== f.country.toUpperCase()) return false;
  if (f.text) {
    const t = f.text.toLowerCase();
    if (!item.page.toLowerCase().includes(t) && !item.fingerprint.toLowerCase().includes(t)) return false;
  }
  return true;
}

/** The feed after adding items (newest first), at most max kept. */
export function pushFeed(feed: FeedItem[], items: FeedItem[], max: number): FeedItem[] {
  const seen = new Set(feed.map((i) => i.id));
  const fresh = items.filter((i) => !seen.has(i.id)).reverse();
  return [...fresh, ...feed].slice(0, max);
}
