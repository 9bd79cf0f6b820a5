// The event_data of each event the tracker makes, from what the DOM layer
// read (plain values). Pure, so the unit tests and the schema test
// (catalog.ts) build the very objects the page sends.

import type { Burst } from './rage';
import type { ExitTrigger } from './exitintent';
import type { FormStep } from './forms';
import type { Session } from './session';
import type { ConsentSource } from './consent';
import type { Props } from './limits';

/** What the DOM layer says about an element. */
export interface ElementInfo {
  /** lower-case tag name */
  tag: string;
  id?: string;
  /** a short CSS path (tag#id, tag.class:nth-of-type) from the nearest id */
  selector: string;
  /** its text, trimmed and cut (never a field's value) */
  text?: string;
  /** a link's or button's target: href, form action */
  href?: string;
  /** data-analytics-* attributes of it or its nearest ancestor having some
   * (data-analytics-name="cta" is name: "cta") */
  data: Record<string, string | number | boolean>;
}

export interface ClickInfo {
  el: ElementInfo;
  /** page coordinates (from the document's top left) */
  x: number;
  y: number;
  /** relative to the element's box, and its size */
  elX: number;
  elY: number;
  elW: number;
  elH: number;
  /** the page's scroll size and the viewport's size */
  pageW: number;
  pageH: number;
  vw: number;
  vh: number;
}

const round = (n: number) => Math.round(n);

/** A click: what (element, selector, text, link, the data-analytics-*
 * names), and where, on the page and in the element, with the sizes a
 * heatmap scales by. */
export function clickProps(c: ClickInfo): Props {
  const p: Props = {
    element: typeof c.el.data.name === 'string' ? c.el.data.name : c.el.tag,
    tag: c.el.tag,
    selector: c.el.selector,
    x: round(c.x),
    y: round(c.y),
    element_x: round(c.elX),
    element_y: round(c.elY),
    element_w: round(c.elW),
    element_h: round(c.elH),
    page_w: round(c.pageW),
    page_h: round(c.pageH),
    viewport_w: round(c.vw),
    viewport_h: round(c.vh),
  };
  if (c.el.id) p.id = c.el.id;
  if (c.el.text) p.text = c.el.text;
  if (c.el.href) p.target = c.el.href;
  for (const [k, v] of Object.entries(c.el.data)) if (!(k in p)) p[k] = v;
  return p;
}

export function rageProps(b: Burst<ElementInfo>): Props {
  return {
    element: typeof b.target.data.name === 'string' ? b.target.data.name : b.target.tag,
    selector: b.target.selector,
    clicks: b.clicks,
    duration_ms: round(b.last - b.first),
    x: round(b.x),
    y: round(b.y),
  };
}

export function scrollProps(depth: number, pageH: number): Props {
  return { depth_pct: depth, page_h: round(pageH) };
}

export function formProps(s: FormStep): Props {
  const p: Props = { action: s.action, form_id: s.form };
  if (s.field !== undefined) p.field = s.field;
  if (s.fields !== undefined) p.fields = s.fields;
  if (s.last_field !== undefined) p.last_field = s.last_field;
  if (s.duration_ms !== undefined) p.duration_ms = s.duration_ms;
  return p;
}

export function exitProps(trigger: ExitTrigger, timeOnPageMs: number, depthPct: number): Props {
  return { trigger, time_on_page_ms: round(timeOnPageMs), scroll_depth_pct: round(depthPct) };
}

export interface PageInfo {
  title: string;
  path: string;
  /** a single-page-app navigation (History API) rather than a load */
  spa: boolean;
  /** shown again from the back-forward cache */
  restored: boolean;
  vw: number;
  vh: number;
  screenW: number;
  screenH: number;
  language: string;
}

export function pageViewProps(p: PageInfo): Props {
  const o: Props = {
    title: p.title,
    path: p.path,
    viewport_w: round(p.vw),
    viewport_h: round(p.vh),
    screen_w: round(p.screenW),
    screen_h: round(p.screenH),
    language: p.language,
  };
  if (p.spa) o.spa = true;
  if (p.restored) o.restored = true;
  return o;
}

export function sessionStartProps(landingPath: string, referrer: string): Props {
  const o: Props = { landing_page: landingPath };
  if (referrer) o.referrer = referrer;
  return o;
}

export type SessionEndReason = 'idle' | 'reset' | 'consent_withdrawn';

export function sessionEndProps(s: Session, reason: SessionEndReason): Props {
  return {
    reason,
    duration_ms: Math.max(0, round(s.last - s.start)),
    page_views: s.page_views,
    events: s.events,
    started_at: s.start,
    ended_at: s.last,
  };
}

/** Navigation Timing (ms from the start of the navigation) and the Web
 * Vitals seen; a value not known is left out. */
export interface PerfInfo {
  navigationType?: string;
  ttfb?: number;
  domInteractive?: number;
  domContentLoaded?: number;
  load?: number;
  transferBytes?: number;
  fcp?: number;
  lcp?: number;
  cls?: number;
  inp?: number;
}

export function perfProps(p: PerfInfo): Props {
  const o: Props = {};
  const ms = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v) && v >= 0) o[k] = round(v);
  };
  if (p.navigationType) o.navigation_type = p.navigationType;
  ms('ttfb_ms', p.ttfb);
  ms('dom_interactive_ms', p.domInteractive);
  ms('dom_content_loaded_ms', p.domContentLoaded);
  ms('load_ms', p.load);
  ms('transfer_bytes', p.transferBytes);
  ms('fcp_ms', p.fcp);
  ms('lcp_ms', p.lcp);
  ms('inp_ms', p.inp);
  if (p.cls !== undefined && Number.isFinite(p.cls) && p.cls >= 0) o.cls = Math.round(p.cls * 10000) / 10000;
  return o;
}

export interface ApiInfo {
  /** origin and path: the query is left out (it may hold personal data) */
  url: string;
  method: string;
  status: number;
  durationMs: number;
  kind: 'fetch' | 'xhr';
}

export function apiProps(a: ApiInfo): Props {
  return {
    url: a.url,
    method: a.method.toUpperCase(),
    status: a.status,
    ok: a.status >= 200 && a.status < 400,
    duration_ms: Math.round(a.durationMs * 10) / 10,
    kind: a.kind,
  };
}

export interface ErrorInfo {
  kind: 'error' | 'unhandledrejection';
  message: string;
  source?: string;
  line?: number;
  column?: number;
  stack?: string;
}

export function errorProps(e: ErrorInfo): Props {
  const o: Props = { kind: e.kind, message: e.message };
  if (e.source) o.source = e.source;
  if (e.line !== undefined) o.line = e.line;
  if (e.column !== undefined) o.column = e.column;
  if (e.stack) o.stack = e.stack;
  return o;
}

export function consentProps(
  now: { analytics: boolean; marketing: boolean },
  source: ConsentSource,
  before: { analytics: boolean; marketing: boolean } | null,
): Props {
  const o: Props = { analytics: now.analytics, marketing: now.marketing, source };
  if (before) o.previous = { analytics: before.analytics, marketing: before.marketing };
  return o;
}

/** A URL without its query and fragment (which may hold personal data). */
export function stripQuery(url: string): string {
  const i = url.search(/[?#]/);
  return i < 0 ? url : url.slice(0, i);
}
