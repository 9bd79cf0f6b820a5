// Consent: which categories the visitor granted, how that was decided, and
// what each category lets the tracker do. Pure: the banner (banner.ts) asks,
// the tracker stores the record and calls these.
//
// Categories: necessary (always: the consent record itself, errors),
// analytics (a device id in first-party storage, behaviour events),
// marketing (personalised offers, marketing triggers downstream).
//
// Browser signals: Do Not Track denies analytics and marketing, Global
// Privacy Control denies marketing (an opt-out of sale and sharing). A
// choice the visitor makes while the signal is on wins over it (they chose,
// knowing); a choice made before the signal appeared does not.

export type Category = 'necessary' | 'analytics' | 'marketing';
export const CATEGORIES: readonly Category[] = ['necessary', 'analytics', 'marketing'];

/** The categories granted, as sent with every event. */
export interface Consent {
  necessary: true;
  analytics: boolean;
  marketing: boolean;
}

/** How a consent came about. */
export type ConsentSource =
  | 'default' // nothing decided yet: necessary only
  | 'accept_all'
  | 'reject_all'
  | 'choose'
  | 'api' // the site called consent.set()
  | 'dnt' // Do Not Track, nothing asked
  | 'gpc'; // Global Privacy Control, nothing asked

export interface Signals {
  dnt: boolean;
  gpc: boolean;
}

/** What is stored (first-party, as necessary storage) once the visitor chose. */
export interface ConsentRecord {
  v: 1;
  analytics: boolean;
  marketing: boolean;
  source: ConsentSource;
  /** ms since the epoch of the choice */
  ts: number;
  /** the signals on when the choice was made */
  dnt: boolean;
  gpc: boolean;
}

export interface ConsentStatus {
  consent: Consent;
  /** true once a choice or a signal decided; false: ask (show the banner) */
  decided: boolean;
  source: ConsentSource;
  signals: Signals;
}

export const NECESSARY_ONLY: Consent = Object.freeze({
  necessary: true,
  analytics: false,
  marketing: false,
}) as Consent;

/** Parses a stored record; null when absent, malformed or of another version. */
export function parseRecord(text: string | null): ConsentRecord | null {
  if (!text) return null;
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null) return null;
  const o = r as Record<string, unknown>;
  if (
    o.v !== 1 ||
    typeof o.analytics !== 'boolean' ||
    typeof o.marketing !== 'boolean' ||
    typeof o.ts !== 'number' ||
    typeof o.source !== 'string'
  ) {
    return null;
  }
  return {
    v: 1,
    analytics: o.analytics,
    marketing: o.marketing,
    source: o.source as ConsentSource,
    ts: o.ts,
    dnt: o.dnt === true,
    gpc: o.gpc === true,
  };
}

/** The record for a choice made now under signals. */
export function makeRecord(
  choice: { analytics: boolean; marketing: boolean },
  source: ConsentSource,
  signals: Signals,
  now: number,
): ConsentRecord {
  return {
    v: 1,
    analytics: !!choice.analytics,
    marketing: !!choice.marketing,
    source,
    ts: now,
    dnt: signals.dnt,
    gpc: signals.gpc,
  };
}

/** What holds now, from the stored record (null: none), the browser's
 * signals, the time and how long a choice lasts (maxAgeMs; older ones are
 * asked again). */
export function resolveConsent(
  stored: ConsentRecord | null,
  signals: Signals,
  now: number,
  maxAgeMs: number,
): ConsentStatus {
  const fresh = stored !== null && stored.ts <= now + 60_000 && now - stored.ts < maxAgeMs;
  if (stored !== null && fresh) {
    let analytics = stored.analytics;
    let marketing = stored.marketing;
    // A signal that came on after the choice overrides it.
    if (signals.dnt && !stored.dnt) analytics = marketing = false;
    if (signals.gpc && !stored.gpc) marketing = false;
    return {
      consent: { necessary: true, analytics, marketing },
      decided: true,
      source: stored.source,
      signals,
    };
  }
  if (signals.dnt || signals.gpc) {
    // DNT: nothing but necessary, and no banner. GPC alone: marketing is
    // denied, analytics still to be asked (the banner shows).
    return {
      consent: NECESSARY_ONLY,
      decided: signals.dnt,
      source: signals.dnt ? 'dnt' : 'gpc',
      signals,
    };
  }
  return { consent: NECESSARY_ONLY, decided: false, source: 'default', signals };
}

/** The choice an "accept all" makes under signals: Global Privacy Control
 * keeps marketing off unless the visitor turns it on one by one. */
export function acceptAll(signals: Signals): { analytics: boolean; marketing: boolean } {
  return { analytics: true, marketing: !signals.gpc };
}

/** Whether consent lets an event of category leave the page. */
export function allows(consent: Consent, category: Category): boolean {
  return category === 'necessary' || consent[category] === true;
}

/** Whether a and b grant the same categories. */
export function sameConsent(a: Consent, b: Consent): boolean {
  return a.analytics === b.analytics && a.marketing === b.marketing;
}

/** The browser's signals, from navigator-like values. */
export function readSignals(nav: {
  doNotTrack?: string | null;
  globalPrivacyControl?: boolean;
}, win?: { doNotTrack?: string | null }): Signals {
  const dnt = nav.doNotTrack ?? win?.doNotTrack ?? null;
  return { dnt: dnt === '1' || dnt === 'yes', gpc: nav.globalPrivacyControl === true };
}
