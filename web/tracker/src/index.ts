// The tracker as an ES module (the npm package): createTracker(config)
// returns the same API as the script tag's window.analytics. ThumbmarkJS,
// web-vitals and the banner are imported lazily, so the site's bundler
// splits them into chunks that load only when needed. The pure parts are exported too, for
// server-side checks and tests (nothing here touches the DOM on import).

import { createTracker as create, type AnalyticsApi, type TrackerConfig } from './tracker';

export function createTracker(config: TrackerConfig): AnalyticsApi {
  return create({
    loadFingerprinter: () => import('./fingerprint').then((m) => m.fingerprint),
    loadBanner: () => import('./banner').then((m) => m.createBanner),
    loadVitals: () => import('./vitals').then((m) => m.watchVitals),
    ...config,
  });
}

export type {
  AnalyticsApi,
  TrackerConfig,
  PersonalizeAnswer,
  ConsentView,
  DeliveryStats,
  TrackerState,
} from './tracker';
export type { PerfSnapshot } from './perf';
export type { BannerOptions, BannerText } from './banner';
export { CATALOG } from './catalog';
export { EVENTS, categoryOf } from './eventtypes';
export { LIMITS, sanitizeProps } from './limits';
export { toWire, makeDraft, encodeBatch, uuid, type WireEvent } from './event';
export type { Consent, Category } from './consent';
