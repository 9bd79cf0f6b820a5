// The script tag: <script src="https://collect.example/analytics.js"
// data-write-key="..." defer></script>. Reads its configuration from the
// tag's data-* attributes and window.analyticsConfig, starts the tracker as
// window.analytics, and runs the calls queued in window.analyticsQueue
// before it loaded (["track", "booking_completed", {...}], or a function
// given the API). What only some visitors need comes, when needed, as ES
// module chunks from next to this script: analytics-consent.js (the
// banner), analytics-vitals.js (web-vitals, with analytics consent),
// analytics-fingerprint.js (ThumbmarkJS, once per device).

import { createTracker, type AnalyticsApi, type TrackerConfig } from './tracker';

type Call = unknown[] | ((a: AnalyticsApi) => void);

interface Win {
  analytics?: AnalyticsApi;
  analyticsConfig?: Partial<TrackerConfig>;
  analyticsQueue?: Call[] | { push(c: Call): void };
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function bool(v: string | undefined): boolean | undefined {
  return v === undefined ? undefined : v !== 'false' && v !== '0';
}

function fromTag(s: HTMLScriptElement | null): Partial<TrackerConfig> {
  if (!s) return {};
  const d = s.dataset;
  const src = s.src || location.href;
  const base = new URL('.', src).href;
  const c: Partial<TrackerConfig> = {
    endpoint: d.endpoint ?? new URL('/api/analytics/events', src).href,
    writeKey: d.writeKey,
    personalizeUrl: d.personalizeUrl,
    batchSize: num(d.batchSize),
    flushIntervalMs: num(d.flushInterval),
    maxQueue: num(d.maxQueue),
    sessionTimeoutMs: num(d.sessionTimeout),
    respectDoNotTrack: bool(d.respectDnt),
    spa: bool(d.spa),
    debug: bool(d.debug),
  };
  if (d.banner === 'false') c.banner = false;
  else if (d.privacyUrl || d.accent) c.banner = { privacyUrl: d.privacyUrl, accent: d.accent };
  if (d.apiOrigins) c.apiOrigins = d.apiOrigins.split(/[\s,]+/).filter(Boolean);
  const chunk = (name: string) => import(/* @vite-ignore */ new URL(`analytics-${name}.js`, base).href);
  c.loadFingerprinter = () => chunk('fingerprint').then((m: typeof import('./fingerprint')) => m.fingerprint);
  c.loadBanner = () => chunk('consent').then((m: typeof import('./banner')) => m.createBanner);
  c.loadVitals = () => chunk('vitals').then((m: typeof import('./vitals')) => m.watchVitals);
  return c;
}

function start(): void {
  const w = window as unknown as Win;
  if (w.analytics && typeof w.analytics.track === 'function') return; // loaded twice
  const tag = document.currentScript as HTMLScriptElement | null;
  const cfg = { ...fromTag(tag), ...w.analyticsConfig } as TrackerConfig;
  if (!cfg.endpoint) {
    console.warn('analytics: no endpoint (data-endpoint or analyticsConfig.endpoint)');
    return;
  }
  const api = createTracker(cfg);
  w.analytics = api;
  const run = (c: Call) => {
    try {
      if (typeof c === 'function') c(api);
      else if (Array.isArray(c) && typeof c[0] === 'string') {
        const [name, ...args] = c;
        const fn = (api as unknown as Record<string, unknown>)[name];
        if (typeof fn === 'function') (fn as (...a: unknown[]) => unknown).apply(api, args);
      }
    } catch (e) {
      console.warn('analytics: a queued call failed', e);
    }
  };
  const q = w.analyticsQueue;
  if (Array.isArray(q)) for (const c of q) run(c);
  w.analyticsQueue = { push: run };
}

start();
