// The tracker on a page: reads the DOM, asks for consent, turns what the
// visitor does into events (pure builders in props.ts), and delivers them
// (queue.ts, retry.ts, transport.ts). Everything it runs on the page's
// thread goes through Perf, passive where the browser allows, and reads
// layout only where the browser has just computed it (a click, a frame).

import type { Banner, BannerOptions, Choice, createBanner } from './banner';
import type { watchVitals } from './vitals';
import { EVENTS, categoryOf } from './eventtypes';
import {
  acceptAll,
  allows,
  makeRecord,
  parseRecord,
  readSignals,
  resolveConsent,
  type Category,
  type Consent,
  type ConsentSource,
  type ConsentStatus,
} from './consent';
import { errorInfo, rejectionInfo, timedUrl, wrapApis, type ErrorInfo } from './dom/capture';
import { clickTarget, dataProps, describe, ignored } from './dom/element';
import { encodeBatch, makeDraft, toWire, uuid, type Draft, type WireEvent } from './event';
import { ExitIntent, EXIT_DEFAULTS, type ExitTrigger } from './exitintent';
import { Forms, type FormStep } from './forms';
import { sanitizeProps, type Props } from './limits';
import { Perf, type PerfSnapshot } from './perf';
import {
  apiProps,
  clickProps,
  consentProps,
  errorProps,
  exitProps,
  formProps,
  pageViewProps,
  perfProps,
  rageProps,
  scrollProps,
  sessionEndProps,
  sessionStartProps,
  type ElementInfo,
  type PerfInfo,
  type SessionEndReason,
} from './props';
import { EventQueue, type KV } from './queue';
import { RageClicks } from './rage';
import { Backoff, judge } from './retry';
import { ScrollMilestones, depthPercent } from './scroll';
import { parseSession, sessionExpired, touchSession, type Session } from './session';
import { localKV } from './storage';
import { Transport, UNLOAD_BODY_MAX, withQuery } from './transport';

export interface TrackerConfig {
  /** the collector's events URL, e.g. https://collect.example/api/analytics/events */
  endpoint: string;
  /** the site's write key (ANALYTICS_COLLECTOR_WRITE_KEYS) */
  writeKey?: string;
  /** the push-gateway's base URL, e.g. https://api.example:8090: turns on onPersonalize */
  personalizeUrl?: string;
  /** events that start a send at once (default 10) */
  batchSize?: number;
  /** the longest an event waits before it is sent (default 5000 ms) */
  flushIntervalMs?: number;
  /** events kept while they cannot be sent (default 500) */
  maxQueue?: number;
  /** a session ends after this long without an event (default 30 min) */
  sessionTimeoutMs?: number;
  /** a consent choice is asked again after this many days (default 365) */
  consentMaxAgeDays?: number;
  /** origins whose fetch and XHR calls are timed (default: the page's own) */
  apiOrigins?: string[];
  trackClicks?: boolean;
  trackApi?: boolean;
  trackErrors?: boolean;
  trackPerformance?: boolean;
  /** single-page-app navigation (pushState, popstate) as page views (default true) */
  spa?: boolean;
  /** show the consent banner when nothing is decided (default true) */
  banner?: boolean | BannerOptions;
  /** honour Do Not Track (default true; Global Privacy Control always is) */
  respectDoNotTrack?: boolean;
  /** loads the fingerprinting function (ThumbmarkJS), lazily */
  loadFingerprinter?: () => Promise<() => Promise<string>>;
  /** loads the consent banner, lazily (only a visitor to ask needs it) */
  loadBanner?: () => Promise<typeof createBanner>;
  /** loads the Web Vitals watcher, lazily (only with analytics consent) */
  loadVitals?: () => Promise<typeof watchVitals>;
  /** console.debug what happens */
  debug?: boolean;
}

export interface PersonalizeAnswer {
  fingerprint: string;
  known: boolean;
  band: string;
  persona: string | null;
  lead_score: number | null;
  answer: { rule: string | null; id: string; message: string; content: unknown };
  /** what asked: the page load, an exit intent, a consent given */
  trigger: 'load' | 'exit_intent' | 'consent';
}

export interface ConsentView extends Consent {
  decided: boolean;
  source: ConsentSource;
}

export interface DeliveryStats {
  /** events sent by fetch, by beacon */
  sent: number;
  beaconed: number;
  /** taken by the collector (202), refused for good, retried */
  delivered: number;
  refused: number;
  retried: number;
  /** dropped because the queue was full */
  dropped: number;
  /** the refusals' reasons, the last 20 */
  errors: string[];
  /** waiting now */
  queued: number;
}

export interface TrackerState {
  fingerprint: string;
  identity: 'fingerprint' | 'cookieless' | 'pending';
  sessionId: string;
  pageId: string;
  userId: string | null;
  persistent: boolean;
  fingerprintMs: number | null;
}

export interface AnalyticsApi {
  /** An event of the site's own, e.g. track('booking_completed', {value: 89}).
   * opts.category 'necessary' lets it leave without consent (use sparingly). */
  track(type: string, props?: Record<string, unknown>, opts?: { category?: Category }): void;
  /** The visitor logged in: later events carry userId. */
  identify(userId: string, traits?: Record<string, unknown>): void;
  /** The visitor logged out: the session ends and the user id is forgotten. */
  reset(): void;
  /** A page view now (for a single-page app that does not use the History API). */
  page(props?: Record<string, unknown>): void;
  /** cb gets the push-gateway's answer for this visitor (now, if one came). */
  onPersonalize(cb: (a: PersonalizeAnswer) => void): () => void;
  consent: {
    get(): ConsentView;
    set(choice: { analytics?: boolean; marketing?: boolean }): void;
    /** Opens the consent settings (what a "Cookie settings" link does). */
    open(): void;
    onChange(cb: (c: ConsentView) => void): () => void;
  };
  /** Sends what waits now. */
  flush(): Promise<void>;
  perf(): PerfSnapshot;
  stats(): DeliveryStats;
  state(): TrackerState;
}

const KEY = { consent: '_an.consent', fp: '_an.fp', session: '_an.session', uid: '_an.uid', queue: '_an.q.' };
const PRECONSENT_MAX = 200;
const REQUEST_EVENTS = 50;
const API_EVENTS_MAX = 100;
const ERROR_EVENTS_MAX = 20;
const FINGERPRINT_TIMEOUT_MS = 4000;
const PERSIST_DELAY_MS = 400;
const HEARTBEAT_MS = 20_000;
const FP_PATTERN = /^[\w.:-]{8,128}$/;

type Timer = ReturnType<typeof setTimeout>;

const rnd = (b: Uint8Array) => crypto.getRandomValues(b);

export class Tracker {
  readonly api: AnalyticsApi;
  private readonly cfg: Required<
    Omit<TrackerConfig, 'writeKey' | 'personalizeUrl' | 'loadFingerprinter' | 'loadBanner' | 'loadVitals' | 'banner'>
  > &
    TrackerConfig;
  private readonly perfm: Perf;
  private kv: KV | null = null;
  private booted = false;
  private readonly pageId = uuid(rnd);
  private readonly nativeFetch: typeof fetch;
  private readonly transport: Transport;
  private readonly queue: EventQueue;
  private readonly backoff = new Backoff({ baseMs: 1000, maxMs: 60_000, random: Math.random });
  private status: ConsentStatus;
  private identity: TrackerState['identity'] = 'cookieless';
  private fingerprint: string;
  private fingerprintMs: number | null = null;
  private userId: string | null = null;
  private session: Session | null = null;
  private preConsent: Draft[] = [];
  /** drafts made by handlers, routed in the next idle moment; a lazy one
   * gets its props then (what would force a layout now) */
  private later: { d: Draft; lazy?: () => unknown }[] = [];
  private laterScheduled = false;
  private sessionFresh = false;
  private sessionDirty = false;
  private pendingIdentity: Draft[] = [];
  private url: string;
  private referrer: string;
  private pageStart = Date.now();
  private perfSent = false;
  /** pagehide came (the visibilitychange after it must not reopen the stored queue) */
  private gone = false;
  private vitals: PerfInfo = {};
  private readonly scroll = new ScrollMilestones();
  private readonly rage = new RageClicks<ElementInfo>();
  private readonly exit: ExitIntent;
  private readonly forms = new Forms();
  private readonly formEvents = new Map<string, { el: Element }>();
  private banner: Promise<Banner | null> | null = null;
  private vitalsLoading = false;
  private personalizeCbs: ((a: PersonalizeAnswer) => void)[] = [];
  private consentCbs: ((c: ConsentView) => void)[] = [];
  private answer: PersonalizeAnswer | null = null;
  private flushTimer: Timer | null = null;
  private flushDue = Infinity;
  private persistTimer: Timer | null = null;
  private rageTimer: Timer | null = null;
  private inflight = false;
  private requestEvents = REQUEST_EVENTS;
  private scrollFrame = 0;
  private apiCount = 0;
  private errorKeys = new Set<string>();
  private viewObserver: IntersectionObserver | null = null;
  private seenDecl = new WeakSet<Element>();
  private readonly stats: Omit<DeliveryStats, 'queued' | 'dropped'> = {
    sent: 0,
    beaconed: 0,
    delivered: 0,
    refused: 0,
    retried: 0,
    errors: [],
  };

  constructor(config: TrackerConfig) {
    const t0 = performance.now();
    this.cfg = {
      batchSize: 10,
      flushIntervalMs: 5000,
      maxQueue: 500,
      sessionTimeoutMs: 30 * 60_000,
      consentMaxAgeDays: 365,
      apiOrigins: [location.origin],
      trackClicks: true,
      trackApi: true,
      trackErrors: true,
      trackPerformance: true,
      spa: true,
      respectDoNotTrack: true,
      debug: false,
      ...stripUndefined(config),
      endpoint: config.endpoint,
    };
    this.perfm = new Perf(
      () => performance.now(),
      (e) => this.cfg.debug && console.debug('analytics: handler failed', e),
    );
    this.nativeFetch = window.fetch.bind(window);
    const beacon = typeof navigator.sendBeacon === 'function' ? navigator.sendBeacon.bind(navigator) : null;
    this.transport = new Transport(this.cfg.endpoint, this.cfg.writeKey, this.nativeFetch, beacon);
    this.queue = new EventQueue({
      maxEvents: this.cfg.maxQueue,
      maxBytes: 512 * 1024,
      staleMs: 3 * HEARTBEAT_MS,
      prefix: KEY.queue,
      owner: this.pageId,
    });
    this.status = resolveConsent(null, { dnt: false, gpc: false }, 0, 1); // until boot() reads it
    this.fingerprint = 'cl-' + this.pageId;
    this.url = location.href;
    this.referrer = document.referrer;
    const mobile = matchMedia('(hover: none) and (pointer: coarse)').matches;
    this.exit = new ExitIntent({ ...EXIT_DEFAULTS, mobile }, performance.now());
    this.api = this.makeApi();

    // At once: only the listeners (so nothing the visitor does is missed)
    // and the page view. Storage, consent and the banner wait for the first
    // idle moment after the DOM is in (first reads of localStorage cost
    // milliseconds), or for whatever needs them sooner (boot()).
    this.perfm.run('init', () => {
      this.listen();
      this.pageView(false, false, {});
    });
    onReady(() => idle(this.perfm.wrap('boot', () => this.boot())));
    this.perfm.setInit(performance.now() - t0);
  }

  /** Reads the stored consent, settles the identity, shows the banner if
   * nothing is decided, routes what waited. Once; everything that needs the
   * consent calls it first. */
  private boot(): void {
    if (this.booted) return;
    this.booted = true;
    this.kv = localKV();
    const sig = readSignals(navigator as Navigator & { globalPrivacyControl?: boolean }, window as unknown as {
      doNotTrack?: string;
    });
    if (!this.cfg.respectDoNotTrack) sig.dnt = false;
    this.status = resolveConsent(
      parseRecord(this.kv?.get(KEY.consent) ?? null),
      sig,
      Date.now(),
      this.cfg.consentMaxAgeDays * 86_400_000,
    );
    this.applyIdentity();
    this.watchVitals();
    onReady(() => this.ready());
    this.drain();
  }

  // ---- the API ----

  private makeApi(): AnalyticsApi {
    const t = this;
    return {
      track: (type, props, opts) =>
        t.perfm.run('track', () => t.emit(type, props ?? {}, opts?.category ?? categoryOf(type))),
      identify: (userId, traits) => t.perfm.run('identify', () => t.identify(userId, traits)),
      reset: () => t.perfm.run('reset', () => t.reset()),
      page: (props) => t.perfm.run('page', () => t.pageView(true, false, props ?? {})),
      onPersonalize(cb) {
        t.personalizeCbs.push(cb);
        if (t.answer) {
          const a = t.answer;
          queueMicrotask(() => cb(a));
        }
        return () => (t.personalizeCbs = t.personalizeCbs.filter((c) => c !== cb));
      },
      consent: {
        get: () => t.consentView(),
        set: (c) =>
          t.perfm.run('consent', () =>
            t.setConsent(
              { analytics: c.analytics ?? t.status.consent.analytics, marketing: c.marketing ?? t.status.consent.marketing },
              'api',
            ),
          ),
        open: () => t.openSettings(),
        onChange(cb) {
          t.consentCbs.push(cb);
          return () => (t.consentCbs = t.consentCbs.filter((c) => c !== cb));
        },
      },
      flush: () => t.flushNow(),
      perf: () => t.perfm.snapshot(),
      stats: () => ({ ...t.stats, errors: t.stats.errors.slice(), queued: t.queue.waiting, dropped: t.queue.dropped }),
      state: () => (t.boot(), {
        fingerprint: t.fingerprint,
        identity: t.identity,
        sessionId: t.currentSessionId(),
        pageId: t.pageId,
        userId: t.userId,
        persistent: t.queue.persistent,
        fingerprintMs: t.fingerprintMs,
      }),
    };
  }

  private log(...a: unknown[]): void {
    if (this.cfg.debug) console.debug('analytics:', ...a);
  }

  private consentView(): ConsentView {
    this.boot();
    return { ...this.status.consent, decided: this.status.decided, source: this.status.source };
  }

  // ---- events ----

  /** Makes an event of type now (or at ts), routed in the next idle
   * moment: a handler only reads what it must from the DOM, the rest
   * (session, consent, queue, storage) waits until the page is idle. */
  private emit(type: string, props: unknown, category: Category, ts = Date.now(), lazy?: () => unknown): void {
    const d = makeDraft(type, category, props, {
      id: uuid(rnd),
      ts,
      url: this.url,
      referrer: this.referrer,
      sessionId: '',
      userId: null,
    });
    this.later.push({ d, lazy });
    if (this.laterScheduled) return;
    this.laterScheduled = true;
    idle(this.perfm.wrap('route', () => this.drain()));
  }

  /** Routes the drafts made so far, in order (at once when the page goes
   * away, consent changes, or the user id does). */
  private drain(): void {
    this.laterScheduled = false;
    if (this.later.length === 0 || !this.booted) return;
    const ds = this.later;
    this.later = [];
    this.sessionFresh = false;
    for (const { d, lazy } of ds) {
      if (lazy) d.data = sanitizeProps({ ...d.data, ...(lazy() as object) });
      this.route(d);
    }
    if (this.sessionDirty) this.saveSession();
  }

  /** Sends d on if consent lets it leave: held while nothing is decided,
   * dropped once it is refused. */
  private route(d: Draft): void {
    const c = this.status.consent;
    if (!allows(c, d.category)) {
      if (!this.status.decided && this.preConsent.length < PRECONSENT_MAX) this.preConsent.push(d);
      return;
    }
    d.userId = c.analytics ? this.userId : null;
    d.sessionId = c.analytics ? this.touch(d) : this.pageId;
    if (this.identity === 'pending') this.pendingIdentity.push(d);
    else this.enqueue(d);
  }

  private enqueue(d: Draft): void {
    const e = toWire(d, this.fingerprint, this.status.consent);
    this.queue.add(e);
    this.log('queued', e.event_type, e);
    this.persistSoon();
    this.scheduleFlush();
  }

  /** The session of an analytics event d (ending a timed-out one, starting
   * a new one with its session_start). Returns its id. */
  private touch(d: Draft): string {
    if (!this.sessionFresh && this.kv && this.identity !== 'cookieless') {
      // Once per batch of drafts: another tab of the site may have moved it on.
      const stored = parseSession(this.kv.get(KEY.session));
      if (stored) this.session = stored;
      this.sessionFresh = true;
    }
    const t = touchSession(this.session, d.ts, this.cfg.sessionTimeoutMs, () => uuid(rnd), d.type === EVENTS.pageView);
    this.session = t.session;
    this.sessionDirty = true;
    if (t.ended) this.endSession(t.ended, 'idle');
    if (t.started) {
      const s = makeDraft(EVENTS.sessionStart, 'analytics', sessionStartProps(path(this.url), this.referrer), {
        id: 'session_start:' + t.session.id,
        ts: d.ts,
        url: this.url,
        referrer: this.referrer,
        sessionId: t.session.id,
        userId: this.userId,
      });
      this.queueOrHold(s);
    }
    return t.session.id;
  }

  /** session_end for s. Its event id comes from the session's, so that two
   * tabs that both see it end send one event (the pipeline drops the copy). */
  private endSession(s: Session, reason: SessionEndReason): void {
    const d = makeDraft(EVENTS.sessionEnd, 'analytics', sessionEndProps(s, reason), {
      id: 'session_end:' + s.id,
      ts: Math.max(s.last, s.start),
      url: this.url,
      referrer: this.referrer,
      sessionId: s.id,
      userId: this.userId,
    });
    this.queueOrHold(d);
  }

  private queueOrHold(d: Draft): void {
    if (this.identity === 'pending') this.pendingIdentity.push(d);
    else this.enqueue(d);
  }

  private saveSession(): void {
    this.sessionDirty = false;
    if (this.kv && this.identity !== 'cookieless' && this.session) {
      this.kv.set(KEY.session, JSON.stringify(this.session));
    }
  }

  private currentSessionId(): string {
    return this.status.consent.analytics && this.session ? this.session.id : this.pageId;
  }

  /** An idle session ends even while the page stays open. */
  private checkIdle(): void {
    if (!this.status.consent.analytics) return;
    const s = this.kv && this.identity !== 'cookieless' ? parseSession(this.kv.get(KEY.session)) : this.session;
    if (s && sessionExpired(s, Date.now(), this.cfg.sessionTimeoutMs)) {
      this.endSession(s, 'idle');
      this.session = null;
      this.kv?.remove(KEY.session);
    }
  }

  /** A page view. Its viewport size is read when it is routed (idle, the
   * page laid out): reading it at start-up would force the first layout. */
  private pageView(spa: boolean, restored: boolean, extra: Record<string, unknown>): void {
    const title = document.title;
    const at = path(this.url);
    this.emit(EVENTS.pageView, {}, 'analytics', Date.now(), () => ({
      ...pageViewProps({
        title,
        path: at,
        spa,
        restored,
        vw: innerWidth,
        vh: innerHeight,
        screenW: screen.width,
        screenH: screen.height,
        language: navigator.language,
      }),
      ...extra,
    }));
  }

  private identify(userId: string, traits?: Record<string, unknown>): void {
    this.boot();
    this.drain(); // what happened before carries no user id
    this.userId = String(userId);
    if (this.kv && this.status.consent.analytics && this.identity !== 'cookieless') this.kv.set(KEY.uid, this.userId);
    this.emit(EVENTS.identify, traits ?? {}, 'analytics');
  }

  private reset(): void {
    this.boot();
    this.drain();
    if (this.session && this.status.consent.analytics) this.endSession(this.session, 'reset');
    this.session = null;
    this.userId = null;
    this.kv?.remove(KEY.session);
    this.kv?.remove(KEY.uid);
  }

  // ---- identity and consent ----

  /** The device id the consent allows: the stored fingerprint (computed
   * once, lazily) with analytics and working storage, else a random id of
   * this page load and no storage (cookieless). */
  private applyIdentity(): void {
    const kv = this.kv;
    if (!this.status.consent.analytics || !kv) {
      this.goCookieless();
      return;
    }
    this.userId = kv.get(KEY.uid);
    const stored = kv.get(KEY.fp);
    if (stored && FP_PATTERN.test(stored)) {
      this.identityReady(stored, 'fingerprint');
      return;
    }
    if (!this.cfg.loadFingerprinter) {
      this.goCookieless();
      return;
    }
    this.identity = 'pending';
    const t0 = performance.now();
    const give = (fp: string | null) => {
      if (this.identity !== 'pending') return;
      this.fingerprintMs = performance.now() - t0;
      if (fp && FP_PATTERN.test(fp) && this.status.consent.analytics && this.kv) {
        this.kv.set(KEY.fp, fp);
        this.identityReady(fp, 'fingerprint');
      } else {
        this.log('no fingerprint: cookieless');
        this.identityReady('cl-' + this.pageId, 'cookieless');
      }
    };
    const timer = setTimeout(() => give(null), FINGERPRINT_TIMEOUT_MS);
    this.cfg
      .loadFingerprinter()
      .then((f) => f())
      .then(
        (fp) => {
          clearTimeout(timer);
          this.perfm.run('fingerprint', () => give(fp));
        },
        () => {
          clearTimeout(timer);
          this.perfm.run('fingerprint', () => give(null));
        },
      );
  }

  private goCookieless(): void {
    this.queue.detach();
    this.identityReady('cl-' + this.pageId, 'cookieless');
  }

  private identityReady(fp: string, kind: 'fingerprint' | 'cookieless'): void {
    this.fingerprint = fp;
    this.identity = kind;
    if (kind === 'fingerprint' && this.kv) {
      const adopted = this.queue.attach(this.kv, Date.now());
      if (adopted) this.log('adopted', adopted, 'events of pages gone');
    }
    const held = this.pendingIdentity;
    this.pendingIdentity = [];
    for (const d of held) this.enqueue(d);
    if (kind === 'fingerprint') idle(this.perfm.wrap('personalize', () => this.personalize('load')));
    this.scheduleFlush();
  }

  private setConsent(choice: Choice, source: ConsentSource): void {
    this.boot();
    this.drain(); // what happened before the choice is held (or dropped) like the rest
    const before = this.status.consent;
    const wasDecided = this.status.decided;
    const now = Date.now();
    const rec = makeRecord(choice, source, this.status.signals, now);
    this.kv?.set(KEY.consent, JSON.stringify(rec));
    this.status = resolveConsent(rec, this.status.signals, now, this.cfg.consentMaxAgeDays * 86_400_000);
    const c = this.status.consent;
    if (before.analytics && !c.analytics) this.withdrawAnalytics();
    if (!before.analytics && c.analytics) {
      this.applyIdentity();
      this.watchVitals();
    }
    this.emit(EVENTS.consent, consentProps(c, source, wasDecided ? before : null), 'necessary');
    this.drain(); // the consent_update first
    const held = this.preConsent;
    this.preConsent = [];
    for (const d of held) if (allows(c, d.category)) this.route(d);
    if (this.sessionDirty) this.saveSession();
    if (c.marketing && !before.marketing) this.personalize('consent');
    const view = this.consentView();
    for (const cb of this.consentCbs) callSite(cb, view);
    this.flushSoon();
  }

  /** Analytics consent withdrawn: the device id, the session, the user id
   * and the stored queue go; what waits and needed analytics is dropped. */
  private withdrawAnalytics(): void {
    this.kv?.remove(KEY.fp);
    this.kv?.remove(KEY.session);
    this.kv?.remove(KEY.uid);
    this.session = null;
    this.userId = null;
    this.pendingIdentity = [];
    this.queue.purge((e) => categoryOf(e.event_type) !== 'necessary');
    this.goCookieless();
  }

  /** The banner, shown (settings: open for choosing, focused). */
  private showBanner(settings: boolean): void {
    this.banner ??= this.makeBanner();
    this.banner.then((b) => b && this.perfm.run('banner', () => b.show(settings)));
  }

  private openSettings(): void {
    this.boot();
    this.showBanner(true);
  }

  private async makeBanner(): Promise<Banner | null> {
    if (this.cfg.banner === false || !document.body || !this.cfg.loadBanner) return null;
    const opts = typeof this.cfg.banner === 'object' ? this.cfg.banner : {};
    let createBanner: Awaited<ReturnType<NonNullable<TrackerConfig['loadBanner']>>>;
    try {
      createBanner = await this.cfg.loadBanner();
    } catch (e) {
      console.warn('analytics: the consent banner did not load', e);
      this.banner = null; // try again next time
      return null;
    }
    return createBanner(
      {
        current: () => this.status.consent,
        signals: this.status.signals,
        decided: () => this.status.decided,
        choose: (c, source) =>
          this.perfm.run('consent', () =>
            this.setConsent(
              c === 'accept_all'
                ? acceptAll(this.status.signals)
                : c === 'reject_all'
                  ? { analytics: false, marketing: false }
                  : c,
              source,
            ),
          ),
      },
      opts,
    );
  }

  // ---- personalisation ----

  private personalize(trigger: PersonalizeAnswer['trigger']): void {
    const base = this.cfg.personalizeUrl;
    const c = this.status.consent;
    if (!base || !c.analytics || !c.marketing || this.identity !== 'fingerprint') return;
    const url = withQuery(
      base.replace(/\/+$/, '') + '/api/analytics/personalize/' + encodeURIComponent(this.fingerprint),
      'write_key',
      this.cfg.writeKey,
    );
    const ac = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = setTimeout(() => ac?.abort(), 2000);
    this.nativeFetch(url, { credentials: 'omit', signal: ac?.signal ?? null })
      .then((r) => (r.ok ? (r.json() as Promise<Omit<PersonalizeAnswer, 'trigger'>>) : null))
      .then(
        (a) => {
          clearTimeout(timer);
          if (!a || typeof a !== 'object') return;
          const ans: PersonalizeAnswer = { ...a, trigger };
          this.answer = ans;
          for (const cb of this.personalizeCbs) callSite(cb, ans);
        },
        () => clearTimeout(timer),
      );
  }

  // ---- delivery ----

  private scheduleFlush(): void {
    if (this.inflight || this.identity === 'pending') return;
    const waiting = this.queue.waiting;
    if (waiting === 0) return;
    this.arm(waiting >= this.cfg.batchSize ? 0 : this.cfg.flushIntervalMs);
  }

  private flushSoon(): void {
    this.arm(0);
  }

  /** Sends in ms, unless a send is due sooner already. */
  private arm(ms: number): void {
    const due = Date.now() + ms;
    if (this.flushTimer !== null && this.flushDue <= due) return;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushDue = due;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushDue = Infinity;
      this.perfm.run('flush', () => this.send());
    }, ms);
  }

  private online(): boolean {
    return navigator.onLine !== false;
  }

  /** One request with the oldest waiting events. */
  private send(): Promise<void> {
    if (this.inflight || this.identity === 'pending') return Promise.resolve();
    if (!this.online()) return Promise.resolve(); // the online event sends again
    const batch = this.queue.take(this.requestEvents, UNLOAD_BODY_MAX);
    if (batch.length === 0) return Promise.resolve();
    this.inflight = true;
    this.stats.sent += batch.length;
    const body = encodeBatch(batch);
    return this.transport.post(body).then((a) => {
      this.perfm.run('answer', () => this.answered(batch, a.status, a.body, a.retryAfter));
    });
  }

  private answered(batch: WireEvent[], status: number, body: string | null, retryAfter: string | null): void {
    this.inflight = false;
    const v = judge(status, body, retryAfter, batch.length, Date.now());
    const ids = (ix: number[]) => ix.map((i) => batch[i]!.event_id);
    this.queue.remove(ids(v.done));
    this.queue.release(ids(v.retry));
    this.stats.delivered += v.done.length - v.refused.length;
    this.stats.refused += v.refused.length;
    for (const r of v.refused) {
      const e = batch[r.index]!;
      this.stats.errors.push(`${e.event_type}: ${r.error}`);
      if (this.stats.errors.length > 20) this.stats.errors.shift();
      console.warn('analytics: the collector refused', e.event_type, r.error);
    }
    this.persistSoon();
    if (v.split) this.requestEvents = Math.max(1, Math.floor(batch.length / 2));
    if (v.retry.length > 0) {
      this.stats.retried += v.retry.length;
      const wait = v.split ? 0 : this.backoff.next(v.retryAfterMs);
      this.log('retry in', Math.round(wait), 'ms, status', status);
      this.arm(wait);
      return;
    }
    this.backoff.reset();
    this.requestEvents = REQUEST_EVENTS;
    if (this.queue.waiting > 0) this.arm(this.queue.waiting >= this.cfg.batchSize ? 0 : this.cfg.flushIntervalMs);
  }

  private async flushNow(): Promise<void> {
    this.perfm.run('route', () => {
      this.boot();
      this.drain();
    });
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.flushDue = Infinity;
    }
    for (let i = 0; i < 20 && this.queue.waiting > 0 && !this.inflight && this.online(); i++) {
      const before = this.queue.waiting;
      await this.send();
      if (this.queue.waiting >= before) break; // nothing went: it is retried by its timer
    }
  }

  private persistSoon(): void {
    if (this.persistTimer !== null || !this.queue.persistent) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      this.perfm.run('persist', () => this.queue.persist(Date.now()));
    }, PERSIST_DELAY_MS);
  }

  /** The page is hidden or going away: what is pending becomes events, and
   * everything waiting goes by sendBeacon (unless offline: then it stays
   * stored, closed, for the next page load to send). */
  private leave(kind: 'hidden' | 'pagehide'): void {
    this.boot(); // left before the first idle moment: what was held is judged now
    const burst = this.rage.flush();
    if (burst) this.emit(EVENTS.rageClick, rageProps(burst), 'analytics');
    if (kind === 'pagehide') this.abandonForms();
    if (this.cfg.trackPerformance && !this.perfSent && this.status.consent.analytics) {
      this.perfSent = true;
      this.emit(EVENTS.performance, perfProps(this.navTiming()), 'analytics');
    }
    this.drain();
    if (this.identity === 'pending') {
      // No time left to wait for the fingerprint: this page's events go
      // with its own random id.
      this.identityReady('cl-' + this.pageId, 'cookieless');
    }
    if (this.online()) {
      const events = this.queue.handOff();
      for (let i = 0; i < events.length; ) {
        let j = i;
        let bytes = 0;
        while (j < events.length && j - i < REQUEST_EVENTS) {
          const n = JSON.stringify(events[j]).length + 1;
          if (j > i && bytes + n > UNLOAD_BODY_MAX - 20) break;
          bytes += n;
          j++;
        }
        const chunk = events.slice(i, j);
        const ids = chunk.map((e) => e.event_id);
        if (this.transport.beacon(encodeBatch(chunk))) {
          this.queue.remove(ids);
          this.stats.beaconed += chunk.length;
        } else {
          this.queue.release(ids, false);
        }
        i = j;
      }
    }
    if (this.persistTimer !== null) {
      clearTimeout(this.persistTimer);
      this.persistTimer = null;
    }
    if (kind === 'pagehide') this.gone = true;
    this.queue.persist(Date.now(), this.gone);
  }

  private abandonForms(): void {
    for (const step of this.forms.abandonAll(Date.now())) {
      this.emit(EVENTS.form, formProps(step), 'analytics');
      this.declaredFormEvent(step, 'abandon');
    }
  }

  private navTiming(): PerfInfo {
    const p: PerfInfo = { ...this.vitals };
    const nav = performance.getEntriesByType?.('navigation')?.[0] as PerformanceNavigationTiming | undefined;
    if (nav) {
      p.navigationType = nav.type;
      p.ttfb ??= nav.responseStart;
      if (nav.domInteractive > 0) p.domInteractive = nav.domInteractive;
      if (nav.domContentLoadedEventEnd > 0) p.domContentLoaded = nav.domContentLoadedEventEnd;
      if (nav.loadEventEnd > 0) p.load = nav.loadEventEnd;
      if (nav.transferSize > 0) p.transferBytes = nav.transferSize;
    }
    return p;
  }

  /** Starts watching the Web Vitals, once analytics is allowed. */
  private watchVitals(): void {
    if (this.vitalsLoading || !this.cfg.trackPerformance || !this.cfg.loadVitals || !this.status.consent.analytics) return;
    this.vitalsLoading = true;
    this.cfg.loadVitals().then(
      (watch) =>
        this.perfm.run('vitals', () =>
          watch((name, value) => {
            this.vitals[name] = value;
          }),
        ),
      (e) => this.log('web-vitals did not load', e),
    );
  }

  // ---- the page's events ----

  private listen(): void {
    const w = this.perfm;
    const opt = { capture: true, passive: true };
    addEventListener('click', w.wrap('click', (e: MouseEvent) => this.onClick(e)), opt);
    addEventListener('scroll', w.wrap('scroll', () => this.onScroll()), { passive: true });
    addEventListener('focusin', w.wrap('focusin', (e: FocusEvent) => this.onFocus(e)), opt);
    addEventListener('input', w.wrap('input', (e: Event) => this.onInput(e)), opt);
    addEventListener('submit', w.wrap('submit', (e: SubmitEvent) => this.onSubmit(e)), opt);
    document.addEventListener('mouseout', w.wrap('mouseout', (e: MouseEvent) => this.onMouseOut(e)), { passive: true });
    document.addEventListener('visibilitychange', w.wrap('visibilitychange', () => this.onVisibility()));
    addEventListener('pagehide', w.wrap('pagehide', () => this.leave('pagehide')));
    addEventListener('pageshow', w.wrap('pageshow', (e: PageTransitionEvent) => this.onPageShow(e)));
    addEventListener('online', w.wrap('online', () => this.flushSoon()));
    // Consent links: not passive, a "#" link must not jump.
    document.addEventListener(
      'click',
      (e) => {
        const a = (e.target as Element | null)?.closest?.('[data-analytics-consent]');
        if (!a) return;
        e.preventDefault();
        w.run('consent_link', () => this.openSettings());
      },
      true,
    );
    if (this.cfg.trackErrors) {
      addEventListener(
        'error',
        w.wrap('error', (e: Event) => {
          const info = errorInfo(e);
          if (info) this.reportError(info);
        }),
      );
      addEventListener(
        'unhandledrejection',
        w.wrap('unhandledrejection', (e: PromiseRejectionEvent) => this.reportError(rejectionInfo(e))),
      );
    }
    if (this.cfg.trackApi) {
      wrapApis({
        timed: (url) =>
          timedUrl(url, location.href, this.cfg.apiOrigins, this.cfg.endpoint, this.cfg.personalizeUrl),
        call: (url, method, status, ms, kind) => this.apiCall(url, method, status, ms, kind),
        run: (name, fn) => this.perfm.run(name, fn),
      });
    }
    if (this.cfg.spa) this.watchHistory();
    setInterval(
      w.wrap('heartbeat', () => {
        this.checkIdle();
        if (this.queue.length > 0) this.queue.persist(Date.now());
      }),
      HEARTBEAT_MS,
    );
  }

  /** Once the DOM is in (and boot ran): the banner, and the declarations. */
  private ready(): void {
    if (!this.status.decided && this.cfg.banner !== false) this.showBanner(false);
    this.scanDeclarations();
  }

  private onClick(e: MouseEvent): void {
    const el = clickTarget(e.target);
    if (!el || ignored(el)) return;
    const info = describe(el);
    const keyboard = e.detail === 0 && e.clientX === 0 && e.clientY === 0;
    if (!keyboard) {
      const burst = this.rage.click(performance.now(), e.pageX, e.pageY, info);
      if (burst) this.emit(EVENTS.rageClick, rageProps(burst), 'analytics');
      this.armRage();
    }
    if (this.cfg.trackClicks) {
      // Layout is fresh here: the browser has just hit-tested this click.
      const r = el.getBoundingClientRect();
      const de = document.documentElement;
      const cx = keyboard ? r.left + r.width / 2 : e.clientX;
      const cy = keyboard ? r.top + r.height / 2 : e.clientY;
      this.emit(
        EVENTS.click,
        clickProps({
          el: info,
          x: cx + scrollX,
          y: cy + scrollY,
          elX: cx - r.left,
          elY: cy - r.top,
          elW: r.width,
          elH: r.height,
          pageW: de.scrollWidth,
          pageH: de.scrollHeight,
          vw: innerWidth,
          vh: innerHeight,
        }),
        'analytics',
      );
    }
    const decl = (e.target instanceof Element ? e.target : el).closest('[data-analytics-event]');
    if (decl && decl.tagName !== 'FORM' && (decl.getAttribute('data-analytics-on') ?? 'click') === 'click') {
      this.declared(decl);
    }
  }

  private armRage(): void {
    const due = this.rage.deadline;
    if (due === null) return;
    if (this.rageTimer !== null) clearTimeout(this.rageTimer);
    this.rageTimer = setTimeout(
      this.perfm.wrap('rage_timer', () => {
        this.rageTimer = null;
        const burst = this.rage.due(performance.now());
        if (burst) this.emit(EVENTS.rageClick, rageProps(burst), 'analytics');
      }),
      Math.max(0, due - performance.now()),
    );
  }

  /** Scrolls are read once a frame, after it is painted (layout is fresh
   * then: reading the scroll position and the page height costs nothing). */
  private onScroll(): void {
    if (this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() =>
      setTimeout(
        this.perfm.wrap('scroll_frame', () => {
          this.scrollFrame = 0;
          const y = scrollY;
          const vh = innerHeight;
          const ph = document.documentElement.scrollHeight;
          for (const m of this.scroll.update(y, vh, ph)) this.emit(EVENTS.scroll, scrollProps(m, ph), 'analytics');
          const trig = this.exit.scroll(performance.now(), y, vh);
          if (trig) this.exitIntent(trig);
        }),
        0,
      ),
    );
  }

  private onMouseOut(e: MouseEvent): void {
    if (e.relatedTarget) return;
    const trig = this.exit.pointerOut(performance.now(), e.clientY, false);
    if (trig) this.exitIntent(trig);
  }

  private onVisibility(): void {
    if (document.visibilityState !== 'hidden') return;
    const trig = this.exit.hidden(performance.now());
    if (trig) this.exitIntent(trig);
    this.leave('hidden');
  }

  private exitIntent(trigger: ExitTrigger): void {
    const depth = depthPercent(scrollY, innerHeight, document.documentElement.scrollHeight);
    this.emit(EVENTS.exitIntent, exitProps(trigger, Date.now() - this.pageStart, depth), 'analytics');
    setTimeout(this.perfm.wrap('personalize', () => this.personalize('exit_intent')), 0);
  }

  private onPageShow(e: PageTransitionEvent): void {
    if (!e.persisted) return;
    this.gone = false;
    this.queue.reopen(Date.now());
    this.newView(false);
    this.pageView(false, true, {});
  }

  // ---- forms ----

  private field(t: EventTarget | null): { form: string; formEl: HTMLFormElement; name: string } | null {
    if (!(t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement)) return null;
    if (t instanceof HTMLInputElement && /^(hidden|submit|button|reset|image)$/.test(t.type)) return null;
    const formEl = t.form;
    if (!formEl || ignored(formEl)) return null;
    return { form: formId(formEl), formEl, name: t.name || t.id || t.type || t.tagName.toLowerCase() };
  }

  private onFocus(e: FocusEvent): void {
    const f = this.field(e.target);
    if (!f) return;
    const step = this.forms.focus(f.form, f.name);
    if (step) this.emit(EVENTS.form, formProps(step), 'analytics');
  }

  private onInput(e: Event): void {
    const f = this.field(e.target);
    if (!f) return;
    const step = this.forms.input(f.form, f.name, Date.now());
    if (!step) return;
    this.formEvents.set(f.form, { el: f.formEl });
    this.emit(EVENTS.form, formProps(step), 'analytics');
    this.declaredFormEvent(step, 'start');
  }

  private onSubmit(e: SubmitEvent): void {
    const formEl = e.target;
    if (!(formEl instanceof HTMLFormElement) || ignored(formEl)) return;
    const id = formId(formEl);
    this.formEvents.set(id, { el: formEl });
    const step = this.forms.submit(id, Date.now());
    this.emit(EVENTS.form, formProps(step), 'analytics');
    this.declaredFormEvent(step, 'submit');
  }

  /** The form's own event for a step (data-analytics-start="booking_started"). */
  private declaredFormEvent(step: FormStep, which: 'start' | 'submit' | 'abandon'): void {
    const el = this.formEvents.get(step.form)?.el;
    const type = el?.getAttribute(`data-analytics-${which}`);
    if (!el || !type) return;
    this.emit(type, { ...dataProps(el), ...formProps(step) }, categoryOf(type));
  }

  // ---- declarations ----

  /** The event an element declares (data-analytics-event), with its
   * data-analytics-* props. */
  private declared(el: Element): void {
    const type = el.getAttribute('data-analytics-event');
    if (!type) return;
    this.emit(type, dataProps(el, 0), categoryOf(type));
  }

  /** Declarations fired by the page (load) or by being seen (view). */
  private scanDeclarations(): void {
    const els = document.querySelectorAll('[data-analytics-event][data-analytics-on]');
    for (const el of Array.from(els)) {
      if (this.seenDecl.has(el)) continue;
      const on = el.getAttribute('data-analytics-on');
      if (on === 'load') {
        this.seenDecl.add(el);
        this.declared(el);
      } else if (on === 'view' && typeof IntersectionObserver === 'function') {
        this.seenDecl.add(el);
        this.viewObserver ??= new IntersectionObserver(
          this.perfm.wrap('view', (entries: IntersectionObserverEntry[]) => {
            for (const en of entries) {
              if (!en.isIntersecting) continue;
              this.viewObserver?.unobserve(en.target);
              this.declared(en.target);
            }
          }),
          { threshold: 0.5 },
        );
        this.viewObserver.observe(el);
      }
    }
  }

  // ---- single-page apps ----

  private watchHistory(): void {
    const h = history;
    const push = h.pushState;
    const replace = h.replaceState;
    const t = this;
    h.pushState = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = push.apply(this, a);
      t.perfm.run('history', () => t.onLocation(true));
      return r;
    };
    h.replaceState = function (this: History, ...a: Parameters<History['replaceState']>) {
      const r = replace.apply(this, a);
      t.perfm.run('history', () => t.onLocation(false));
      return r;
    };
    addEventListener('popstate', this.perfm.wrap('popstate', () => this.onLocation(true)));
  }

  /** The URL changed without a load: a new page view when the path or the
   * query did (a pushState or back/forward); replaceState only updates it. */
  private onLocation(view: boolean): void {
    const href = location.href;
    if (noHash(href) === noHash(this.url)) {
      this.url = href;
      return;
    }
    if (!view) {
      this.url = href;
      return;
    }
    this.abandonForms();
    const burst = this.rage.flush();
    if (burst) this.emit(EVENTS.rageClick, rageProps(burst), 'analytics');
    this.referrer = this.url;
    this.url = href;
    this.newView(true);
    this.pageView(true, false, {});
    setTimeout(this.perfm.wrap('scan', () => this.scanDeclarations()), 0);
  }

  private newView(spa: boolean): void {
    this.scroll.reset();
    this.exit.reset(performance.now());
    this.pageStart = Date.now();
    if (!spa) this.perfSent = true; // a restored page has no new navigation timing
  }

  // ---- errors and API timing ----

  private reportError(info: ErrorInfo): void {
    const key = `${info.kind}|${info.message}|${info.source ?? ''}|${info.line ?? ''}`;
    if (this.errorKeys.has(key) || this.errorKeys.size >= ERROR_EVENTS_MAX) return;
    this.errorKeys.add(key);
    const clean: typeof info = { kind: info.kind, message: info.message };
    if (info.source) clean.source = info.source;
    if (info.line !== undefined) clean.line = info.line;
    if (info.column !== undefined) clean.column = info.column;
    if (info.stack) clean.stack = info.stack;
    this.emit(EVENTS.error, errorProps(clean), 'necessary');
  }

  private apiCall(url: string, method: string, status: number, ms: number, kind: 'fetch' | 'xhr'): void {
    if (this.apiCount >= API_EVENTS_MAX) return;
    this.apiCount++;
    this.emit(EVENTS.apiResponse, apiProps({ url, method, status, durationMs: ms, kind }), 'analytics');
  }
}

/** Calls a site's callback: its errors are its own (reported, not ours
 * to swallow silently), its time is not the tracker's. */
function callSite<A>(cb: (a: A) => void, a: A): void {
  try {
    cb(a);
  } catch (e) {
    setTimeout(() => {
      throw e;
    }, 0);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function path(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '/';
  }
}

function noHash(url: string): string {
  const i = url.indexOf('#');
  return i < 0 ? url : url.slice(0, i);
}

function formId(f: HTMLFormElement): string {
  return (
    f.getAttribute('data-analytics-form') ||
    f.id ||
    f.getAttribute('name') ||
    (f.getAttribute('action') ? path(new URL(f.getAttribute('action')!, location.href).href) : '') ||
    'form'
  );
}

/** fn in the next idle moment (at most 300 ms away). */
function idle(fn: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 300 });
  else setTimeout(fn, 30);
}

function onReady(fn: () => void): void {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn, { once: true });
  else fn();
}

/** Starts the tracker on this page. */
export function createTracker(config: TrackerConfig): AnalyticsApi {
  return new Tracker(config).api;
}

export type { Props, Consent, Category };
