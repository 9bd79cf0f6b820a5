// Web Vitals (npm web-vitals): a chunk of its own (analytics-vitals.js),
// loaded once the visitor allowed analytics (page_performance needs it).
// web-vitals reads buffered performance entries, so loading it after the
// page's first paint loses nothing.

import { onCLS, onFCP, onINP, onLCP, onTTFB } from 'web-vitals';

export type VitalName = 'ttfb' | 'fcp' | 'lcp' | 'cls' | 'inp';

/** Calls set with each metric as it changes (the latest value wins). */
export function watchVitals(set: (name: VitalName, value: number) => void): void {
  // A fresh options object each: web-vitals keys per-metric state by it
  // (one object shared by onCLS and onINP makes onINP use CLS's state).
  const opts = () => ({ reportAllChanges: true });
  onTTFB((m) => set('ttfb', m.value), opts());
  onFCP((m) => set('fcp', m.value), opts());
  onLCP((m) => set('lcp', m.value), opts());
  onCLS((m) => set('cls', m.value), opts());
  onINP((m) => set('inp', m.value), opts());
}
