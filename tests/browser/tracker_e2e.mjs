// The tracker in a real browser (Debian's chromium), on the demo site,
// against the real collector, devbroker and push-gateway that
// test_tracker.sh started. Each scenario drives pages like a visitor, then
// checks what reached events.raw (read from RAW_FILE, which an
// analytics-dump --follow beside it writes) and what the browser sent
// (every request to the collector, captured). Prints PASS:/FAIL: lines for
// the shell to count, writes timings to RESULTS and screenshots to SHOTS.
//
// Environment: DEMO_URL, COLLECTOR_URL, GATEWAY_URL, RAW_FILE, SHOTS,
// RESULTS, REDIS_PORT (a profile is seeded there for personalisation),
// ANALYTICS_TEST_TMP.
import { launch as launchChromium } from './chromium.mjs';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const DEMO = process.env.DEMO_URL;
const GATEWAY = process.env.GATEWAY_URL;
const RAW = process.env.RAW_FILE;
const SHOTS = process.env.SHOTS;
const RESULTS = process.env.RESULTS;
const REDIS_PORT = process.env.REDIS_PORT;
const COLLECTOR_CTL = process.env.COLLECTOR_CTL;

/** Stops or starts the collector (test_tracker.sh's script; same port). */
function collector(what) {
  execFileSync('bash', [COLLECTOR_CTL, what], { stdio: 'inherit' });
}
mkdirSync(SHOTS, { recursive: true });

const results = { scenarios: {}, pages: [] };
let failed = 0;
function check(ok, what, detail) {
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}${!ok && detail !== undefined ? ` (${JSON.stringify(detail).slice(0, 600)})` : ''}`);
  return ok;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Reduced motion: screenshots without the banner half faded in (and the
// site's reduced-motion styles used).
const launch = (opts) => launchChromium({ reducedMotion: 'reduce', ...opts });

/** Every event on events.raw so far: the RawEvent with event_data parsed. */
function raw() {
  let text = '';
  try {
    text = readFileSync(RAW, 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const m = JSON.parse(line);
      const v = m.value;
      if (!v) continue;
      v.data = v.event_data_json ? JSON.parse(v.event_data_json) : {};
      out.push(v);
    } catch {
      /* a line being written */
    }
  }
  return out;
}

/** Polls raw() until pred(events) holds (then returns the events) or ms pass (then null). */
async function until(pred, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const evs = raw();
    if (pred(evs)) return evs;
    if (Date.now() > end) return null;
    await sleep(200);
  }
}

/** Every request the context makes to the collector's events endpoint:
 * its transport (fetch or beacon), the event ids it carried, its status. */
function capture(context) {
  const reqs = [];
  context.on('request', (r) => {
    if (!r.url().includes('/api/analytics/events')) return;
    let ids = [];
    try {
      ids = JSON.parse(r.postData() ?? '{}').events.map((e) => e.event_id);
    } catch {
      /* not ours */
    }
    const rec = { type: r.resourceType(), ids, status: null, at: Date.now() };
    reqs.push(rec);
    r.response()
      .then((resp) => (rec.status = resp ? resp.status() : null))
      .catch(() => (rec.status = 'failed'));
  });
  context.on('requestfailed', (r) => {
    const rec = reqs.find((x) => x.status === null && r.url().includes('/api/analytics/events'));
    if (rec) rec.status = 'failed';
  });
  return reqs;
}

/** The visitor leaves the site (a real pagehide, with the browser still up
 * to send its beacons). */
async function leave(page) {
  await page.goto('about:blank');
  await sleep(400);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name) });
}

/** The tracker's own cost on this page (analytics.perf()), kept for RESULTS. */
async function perfOf(page, label) {
  const p = await page.evaluate(() => window.analytics?.perf());
  if (p) results.pages.push({ label, ...p });
  return p;
}

const inWindow = (evs, t0, t1) => evs.filter((e) => e.client_ts_ms >= t0 && e.client_ts_ms <= t1);
const types = (evs) => [...new Set(evs.map((e) => e.event_type))].sort();
const shadow = (page, fn, arg) =>
  page.evaluate(
    ([src, a]) => {
      const root = document.getElementById('analytics-consent')?.shadowRoot ?? null;
      return new Function('root', 'a', src)(root, a);
    },
    [fn, arg],
  );

async function bannerVisible(page) {
  return shadow(page, "return !!root && root.host.isConnected && !root.querySelector('[role=dialog]').hidden");
}

// ---------------------------------------------------------------------------

/** Reject all, by keyboard: before and after, nothing but necessary events. */
async function scenarioReject() {
  const t0 = Date.now();
  const { context, close } = await launch({ viewport: { width: 1280, height: 800 } });
  const net = capture(context);
  const page = await context.newPage();
  await page.goto(DEMO + '/');
  await page.locator('#analytics-consent [role="dialog"]').waitFor({ timeout: 10000 });
  await shot(page, 'banner-desktop.png');
  const a11y = await shadow(
    page,
    `const d = root.querySelector('[role=dialog]');
     return { first: document.body.firstElementChild === root.host, modal: d.getAttribute('aria-modal'),
       title: root.getElementById(d.getAttribute('aria-labelledby'))?.textContent,
       desc: !!root.getElementById(d.getAttribute('aria-describedby')),
       buttons: [...root.querySelectorAll('button:not([hidden])')].map((b) => b.textContent) }`,
  );
  check(a11y.first && a11y.modal === 'false' && a11y.title === 'Your privacy' && a11y.desc,
    'banner: a labelled, described non-modal dialog, first in the page', a11y);
  check(JSON.stringify(a11y.buttons) === JSON.stringify(['Reject all', 'Choose', 'Accept all']),
    'banner: reject all, choose and accept all, as buttons', a11y.buttons);

  // Before any choice: a scroll, a click, an error.
  await page.mouse.wheel(0, 1200);
  await sleep(300);
  await page.click('#reviews-badge');
  await page.evaluate(() => setTimeout(() => { throw new Error('demo: an error before consent'); }, 0));
  await page.evaluate(() => { Promise.reject(new Error('demo: a rejection before consent')); });
  await sleep(1500);

  // Reject all by keyboard, as a keyboard user meets the next page: what
  // was held on this one is dropped, never sent.
  await page.click('a[href="/services"]');
  await page.waitForURL('**/services');
  await page.locator('#analytics-consent [role="dialog"]').waitFor({ timeout: 10000 });
  let onReject = false;
  for (let i = 0; i < 6 && !onReject; i++) {
    await page.keyboard.press('Tab');
    onReject = await shadow(page, "return root.activeElement?.getAttribute('data-act') === 'reject'");
  }
  check(onReject, 'banner: Tab reaches "Reject all" first thing on the page');
  await page.keyboard.press('Enter');
  await sleep(200);
  check(!(await bannerVisible(page)), 'banner: gone after the choice');
  await sleep(300);
  const said = await shadow(page, "return root?.querySelector('[role=status]')?.textContent ?? ''");
  check(/saved/.test(said), 'banner: a polite live region says the choice is saved', said);
  const tDecided = Date.now();

  // After: pages, clicks, scrolls, none of it leaves.
  await page.click('a[href="/pricing"]');
  await page.waitForURL('**/pricing');
  await page.mouse.wheel(0, 2500);
  await sleep(500);
  await page.click('a[data-analytics-name="choose-express"]');
  await page.waitForURL('**/book**');
  await page.fill('#device', 'Pixel 7');
  const keys = await page.evaluate(() => Object.keys(localStorage).sort());
  check(JSON.stringify(keys) === '["_an.consent"]', 'after "reject all": nothing stored but the consent record', keys);
  const st = await page.evaluate(() => window.analytics.state());
  check(st.identity === 'cookieless' && st.fingerprint.startsWith('cl-'), 'after "reject all": cookieless, a random id per page', st);

  await page.reload();
  await sleep(1200);
  check(!(await bannerVisible(page)), 'the choice is remembered: no banner on the next page');

  // The settings, from the footer link, by keyboard; Escape closes them.
  await page.focus('a[data-analytics-consent]');
  await page.keyboard.press('Enter');
  await page.locator('#analytics-consent fieldset').waitFor({ timeout: 5000 });
  const open = await shadow(
    page,
    `return { focus: root.activeElement?.id, checked: [...root.querySelectorAll('input')].map((i) => i.name + ':' + i.checked + (i.disabled ? ':fixed' : '')),
      expanded: root.querySelector('[data-act=choose]').getAttribute('aria-expanded') }`,
  );
  check(open.focus === 't', 'settings from the link: focus on the dialog heading', open);
  check(JSON.stringify(open.checked) === '["necessary:true:fixed","analytics:false","marketing:false"]',
    'settings show the stored choice, necessary fixed on', open.checked);
  await shot(page, 'settings-desktop.png');
  await page.keyboard.press('Escape');
  await sleep(100);
  const back = await page.evaluate(() => document.activeElement?.hasAttribute('data-analytics-consent'));
  check(!(await bannerVisible(page)) && back, 'Escape closes the settings and gives the focus back to the link');
  await perfOf(page, 'reject: book');
  await leave(page);
  await close();
  const t1 = Date.now();

  const evs = await until((e) => inWindow(e, t0, t1).some((x) => x.event_type === 'consent_update'), 10000);
  await sleep(1500); // what a closing page sent
  const mine = inWindow(raw(), t0, t1);
  check(evs !== null, 'reject: consent_update arrived');
  const consentEv = mine.find((e) => e.event_type === 'consent_update');
  check(consentEv?.data.source === 'reject_all' && consentEv?.consent.analytics === false && consentEv?.consent.marketing === false,
    'reject: the consent_update says reject_all, under necessary only', consentEv?.data);
  const errs = mine.filter((e) => e.event_type === 'error_occurred');
  check(errs.some((e) => e.data.kind === 'error' && /an error before consent/.test(e.data.message) && e.data.line > 0) &&
    errs.some((e) => e.data.kind === 'unhandledrejection' && /a rejection before consent/.test(e.data.message)),
    'before consent: the error reports (necessary: error, unhandledrejection) were sent', errs.map((e) => e.data));
  check(mine.every((e) => ['consent_update', 'error_occurred'].includes(e.event_type)),
    'before and after "reject all": nothing but necessary events left the page', types(mine));
  check(mine.every((e) => e.consent.specified && !e.consent.analytics && !e.consent.marketing && e.consent.necessary),
    'every event carries the consent it was sent under (necessary only)');
  check(mine.every((e) => e.fingerprint.startsWith('cl-')), 'cookieless: every fingerprint a random per-page id');
  check(net.length > 0 && net.every((r) => r.status === 202 || r.status === null), 'reject: every request answered 202 (those of a page gone unseen)', net.map((r) => [r.type, r.status]));
  results.scenarios.reject = { seconds: (t1 - t0) / 1000, events: mine.length };
}

/** Accept all: the whole journey, every event type, beacons, offline and back. */
async function scenarioJourney() {
  const t0 = Date.now();
  const { context, close } = await launch({ viewport: { width: 1280, height: 800 } });
  const net = capture(context);
  const gwCalls = [];
  context.on('request', (r) => r.url().startsWith(GATEWAY) && gwCalls.push(r.url()));
  // What the page hands to sendBeacon (and the browser took), kept across
  // its navigations in sessionStorage: the pagehide events' way out.
  await context.addInitScript(() => {
    const send = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, body) => {
      const ok = send(url, body);
      try {
        const ids = ok ? JSON.parse(String(body)).events.map((e) => e.event_id) : [];
        const had = JSON.parse(sessionStorage.getItem('test.beacons') ?? '[]');
        sessionStorage.setItem('test.beacons', JSON.stringify(had.concat(ids)));
      } catch {
        /* not the tracker's */
      }
      return ok;
    };
  });
  const page = await context.newPage();
  await page.goto(DEMO + '/');
  await page.locator('#analytics-consent [role="dialog"]').waitFor({ timeout: 10000 });
  await page.mouse.wheel(0, 500); // before the choice: held, sent once accepted
  await sleep(400);
  await page.locator('#analytics-consent button[data-act="accept"]').click();
  const tAccept = Date.now();
  let evs = await until((e) => ['consent_update', 'page_view', 'session_start'].every((t) => inWindow(e, t0, Date.now()).some((x) => x.event_type === t)));
  check(evs !== null, 'accept all: consent_update, session_start and the page view held before the choice arrive');
  const st = await page.evaluate(() => window.analytics.state());
  check(st.identity === 'fingerprint' && /^[0-9a-f]{32}$/.test(st.fingerprint) && st.persistent,
    'accept all: a ThumbmarkJS fingerprint, kept in first-party storage', st);
  results.fingerprint_ms = st.fingerprintMs;
  const fp = st.fingerprint;
  await page.locator('#offer:not([hidden])').waitFor({ timeout: 5000 }).catch(() => {});
  const offer0 = await page.evaluate(() => ({ id: document.getElementById('offer').dataset.offer, trigger: document.getElementById('offer').dataset.trigger }));
  check(offer0.id === 'welcome', 'onPersonalize: the push-gateway answer for a new visitor is shown at load', offer0);
  await page.evaluate(() => window.scrollTo({ top: 0, behavior: 'instant' }));
  await shot(page, 'home-accepted.png');

  // Seed the visitor's hot profile as the scorer would: a price comparer.
  execFileSync('redis-cli', ['-p', REDIS_PORT, 'HSET', `analytics.profile:${fp}`, 'pricing_views', '4', 'bookings_completed', '0', 'lead_score', '62']);

  // Scroll to the bottom in steps: every milestone.
  for (let i = 0; i < 12; i++) {
    await page.mouse.wheel(0, 400);
    await sleep(60);
  }
  await sleep(300);
  // Rage clicks on the badge that looks like a link.
  const badge = await page.locator('#reviews-badge').boundingBox();
  await page.evaluate(() => window.scrollTo(0, 0));
  await sleep(200);
  const b2 = await page.locator('#reviews-badge').boundingBox();
  for (let i = 0; i < 5; i++) {
    await page.mouse.click(b2.x + b2.width / 2 + i, b2.y + b2.height / 2);
    await sleep(70);
  }
  await sleep(800);
  void badge;
  await perfOf(page, 'journey: home');
  await page.click('a[data-analytics-name="hero-prices"]');
  await page.waitForURL('**/pricing');
  for (let i = 0; i < 10; i++) {
    await page.mouse.wheel(0, 350);
    await sleep(80);
  }
  await sleep(500);
  await perfOf(page, 'journey: pricing');
  await page.click('a[data-analytics-name="choose-express"]');
  await page.waitForURL('**/book?level=express');

  // Start a booking and leave it: abandoned, by beacon at pagehide.
  await page.focus('#service');
  await page.selectOption('#service', 'screen-repair');
  await page.fill('#device', 'iPhone 13');
  await page.fill('#name', 'Alex Sample');
  await sleep(300);
  await perfOf(page, 'journey: book (abandoned)');
  const tLeave = Date.now();
  await page.click('nav a[href="/contact"]');
  await page.waitForURL('**/contact');
  await sleep(500);

  // Exit intent: the pointer out through the top; the gateway is asked again.
  await page.mouse.move(640, 200);
  await sleep(1100);
  await page.mouse.move(640, 2);
  await page.mouse.move(640, -20);
  await page.waitForFunction(() => document.getElementById('offer').dataset.trigger === 'exit_intent', null, { timeout: 5000 }).catch(() => {});
  const offer1 = await page.evaluate(() => ({ id: document.getElementById('offer').dataset.offer, trigger: document.getElementById('offer').dataset.trigger, text: document.getElementById('offer').textContent }));
  check(offer1.id === 'offer-10pct' && offer1.trigger === 'exit_intent',
    'exit intent asks the push-gateway again; the price comparer gets the discount offer', offer1);
  check(gwCalls.length >= 2 && gwCalls.every((u) => u.includes(`/api/analytics/personalize/${fp}`) && u.includes('write_key=')),
    'personalize called with the fingerprint and the write key', gwCalls);
  await shot(page, 'contact-exit-offer.png');
  await page.evaluate(() => new Promise((done) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/messages?ref=secret');
    x.onloadend = () => done();
    x.send('{}');
  }));
  await perfOf(page, 'journey: contact');

  // Book for real: the site's API call is timed, the conversion tracked.
  await page.goto(DEMO + '/book?service=screen-repair');
  await page.fill('#device', 'iPhone 13');
  const day = new Date(Date.now() + 3 * 86400000).toISOString().slice(0, 10);
  await page.fill('#date', day);
  await page.selectOption('#time', '14:00');
  await page.fill('#name', 'Alex Sample');
  await page.fill('#email', 'alex@example.org');
  await shot(page, 'booking-filled.png');
  await perfOf(page, 'journey: book (completed)');
  await page.click('#book-submit');
  await page.waitForURL('**/book/thank-you**', { timeout: 10000 });
  await sleep(300);
  await shot(page, 'booking-done.png');

  // A single-page-app navigation.
  await page.evaluate(() => history.pushState({}, '', '/services/water-damage'));
  await sleep(200);

  // Offline and back: clicks wait in the localStorage queue; the browser
  // says it is online again and they leave.
  await context.setOffline(true);
  await sleep(100);
  for (const sel of ['h1', '#booking-summary']) {
    await page.click(sel);
    await sleep(100);
  }
  await page.evaluate(() => window.analytics.flush());
  await sleep(1200);
  const queued = () =>
    page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('_an.q.')).flatMap((k) => JSON.parse(localStorage.getItem(k)).events));
  const offlineIds = (await queued()).filter((e) => e.event_type === 'click').map((e) => e.event_id);
  check(offlineIds.length === 2, 'offline: the clicks wait in the localStorage queue', offlineIds.length);
  await perfOf(page, 'journey: thank-you (offline)');
  const tOnline = Date.now();
  await context.setOffline(false);
  evs = await until((e) => offlineIds.every((id) => e.some((x) => x.event_id === id)), 15000);
  const back = (evs ?? []).filter((x) => offlineIds.includes(x.event_id));
  check(back.length === 2 && back.every((x) => x.received_ts_ms >= tOnline), 'offline and back: the queued clicks arrive once online',
    back.map((x) => x.received_ts_ms - tOnline));

  // The collector down: the clicks fail, stay stored through a reload (a
  // beacon would be lost), the next page load takes them over and sends
  // them once the collector is back.
  collector('stop');
  const tDown = Date.now();
  for (const sel of ['h1', 'footer strong', '#booking-summary']) {
    await page.click(sel);
    await sleep(100);
  }
  await page.evaluate(() => window.analytics.flush());
  await sleep(500);
  const downIds = (await queued()).filter((e) => e.event_type === 'click' && e.timestamp >= tDown).map((e) => e.event_id);
  check(downIds.length === 3, 'collector down: the clicks wait in the localStorage queue', downIds.length);
  const retried = await page.evaluate(() => window.analytics.stats().retried);
  check(retried >= 3, 'collector down: the send failed and is retried', retried);
  await page.reload();
  await sleep(1500);
  const mineNow = await page.evaluate(() => {
    const k = '_an.q.' + window.analytics.state().pageId;
    return { own: JSON.parse(localStorage.getItem(k) ?? '{"events":[]}').events.map((e) => e.event_id), keys: Object.keys(localStorage).filter((x) => x.startsWith('_an.q.')).length };
  });
  check(downIds.every((id) => mineNow.own.includes(id)) && mineNow.keys === 1, 'after the reload the new page holds them (the closed queue adopted)', mineNow);
  const tUp = Date.now();
  collector('start');
  evs = await until((e) => downIds.every((id) => e.some((x) => x.event_id === id)), 20000);
  const later = (evs ?? []).filter((x) => downIds.includes(x.event_id));
  check(later.length === 3 && later.every((x) => x.received_ts_ms >= tUp), 'events queued while the collector was down arrive after the reload, once it is back',
    { later: later.map((x) => x.received_ts_ms - tUp), stats: await page.evaluate(() => window.analytics.stats()) });
  await sleep(300);
  check((await queued()).length === 0, 'nothing left in the queue');
  await perfOf(page, 'journey: thank-you (reloaded)');
  const beaconed = await page.evaluate(() => JSON.parse(sessionStorage.getItem('test.beacons') ?? '[]'));
  check(!downIds.some((id) => beaconed.includes(id)), 'the next page load sent them by fetch, not by a beacon');
  await leave(page);
  await close();
  const t1 = Date.now();

  await until((e) => inWindow(e, t0, t1).some((x) => x.event_type === 'page_performance' && x.page_url.endsWith('/')), 8000);
  await sleep(1000);
  const mine = inWindow(raw(), t0, t1).filter((e) => e.fingerprint === fp);
  const of = (t) => mine.filter((e) => e.event_type === t);
  const want = ['page_view', 'session_start', 'consent_update', 'scroll_milestone', 'click', 'rage_click', 'pricing_viewed',
    'service_comparison', 'form_interaction', 'booking_started', 'booking_abandoned', 'contact_viewed', 'exit_intent',
    'api_response_time', 'booking_completed', 'identify', 'page_performance'];
  const missing = want.filter((t) => of(t).length === 0);
  check(missing.length === 0, 'journey: every expected event type arrived', { missing, got: types(mine) });
  check(mine.every((e) => e.consent.analytics && e.consent.marketing && e.consent.specified),
    'journey: every event carries the consent it was sent under (analytics and marketing)');
  check(mine.every((e) => e.session_id === st.sessionId), 'journey: one session throughout', [...new Set(mine.map((e) => e.session_id))]);
  check(inWindow(raw(), tAccept, t1).filter((e) => e.fingerprint.startsWith('cl-')).length === 0, 'journey: no cookieless event once accepted');

  const home = (e) => new URL(e.page_url).pathname === '/';
  const ms = of('scroll_milestone').filter(home).map((e) => e.data.depth_pct).sort((a, b) => a - b);
  check(JSON.stringify([...new Set(ms)]) === '[25,50,75,90,100]' && ms.length === 5, 'scroll: 25, 50, 75, 90 and 100% on the home page, each once', ms);
  const rage = of('rage_click')[0];
  check(rage && rage.data.clicks >= 5 && rage.data.element === 'reviews-badge', 'rage click: the five clicks on the badge, with their count', rage?.data);
  const clickBadge = of('click').find((e) => e.data.element === 'reviews-badge');
  check(clickBadge && clickBadge.data.x > 0 && clickBadge.data.y > 0 && clickBadge.data.element_w > 0 && clickBadge.data.page_h > 0 && clickBadge.data.selector === 'span#reviews-badge',
    'click: page and element positions for a heatmap', clickBadge?.data);
  const prices = of('click').find((e) => e.data.element === 'hero-prices');
  check(prices && prices.data.text === 'See prices' && prices.data.target.endsWith('/pricing') && prices.data.tag === 'a',
    'click: element, text and link, named by data-analytics-name', prices?.data);
  check(of('pricing_viewed').map((e) => e.data.category).sort().join() === 'laptops,phones', 'pricing_viewed: each price table once, when seen', of('pricing_viewed').map((e) => e.data));
  const cmp = of('service_comparison');
  check(cmp.some((e) => e.data.services === 'standard,express,premium') && cmp.some((e) => e.data.selected === 'express'),
    'service_comparison: the table seen and the level chosen', cmp.map((e) => e.data));
  const form = of('form_interaction');
  const actions = form.filter((e) => e.data.form_id === 'booking').map((e) => e.data.action);
  check(['focus', 'start', 'abandon', 'submit'].every((a) => actions.includes(a)), 'form_interaction: focus, start, abandon and submit of the booking form', actions);
  check(form.every((e) => !JSON.stringify(e.data).includes('Alex') && !JSON.stringify(e.data).includes('iPhone')), 'form_interaction: field names, never values');
  const abandon = form.find((e) => e.data.action === 'abandon');
  check(abandon && abandon.data.fields.join() === 'service,device,name', 'abandon: the fields touched, in order', abandon?.data);
  const beaconIds = new Set(beaconed);
  const abandonIds = [abandon, ...of('booking_abandoned')].filter(Boolean).map((e) => e.event_id);
  check(abandonIds.length === 2 && abandonIds.every((id) => beaconIds.has(id)), 'pagehide: the abandon events went by sendBeacon', { abandonIds, beacons: beaconIds.size });
  check(!net.some((r) => r.type === 'fetch' && r.ids.some((id) => abandonIds.includes(id))), 'pagehide: and by nothing else');
  check(of('booking_started').length === 2 && of('booking_started').every((e) => e.data.form_id === 'booking'), 'booking_started: once per booking begun', of('booking_started').length);
  const done = of('booking_completed')[0];
  check(done && done.data.value === 89 && done.data.currency === 'EUR' && /^b-[0-9a-f]{8}$/.test(done.data.booking_id),
    'booking_completed: its value (what journeys.json reads) and booking id', done?.data);
  const idEv = of('identify')[0];
  check(idEv && idEv.user_id === 'cust-' + done?.data.booking_id, 'identify: later events carry the user id', idEv?.user_id);
  const api = of('api_response_time').find((e) => e.data.url.endsWith('/api/bookings'));
  check(api && api.data.method === 'POST' && api.data.status === 201 && api.data.duration_ms > 0 && api.data.kind === 'fetch',
    'api_response_time: the booking API call timed', api?.data);
  const xhr = of('api_response_time').find((e) => e.data.kind === 'xhr');
  check(xhr && xhr.data.url.endsWith('/api/messages') && xhr.data.status === 202, 'api_response_time: an XHR call too, its query left out', xhr?.data);
  check(of('api_response_time').every((e) => !e.data.url.includes('/api/analytics/')), 'api_response_time: never the tracker\'s own calls');
  check(of('contact_viewed').length === 1 && of('contact_viewed')[0].data.location === 'downtown', 'contact_viewed: declared on the page, once', of('contact_viewed').map((e) => e.data));
  const exit = of('exit_intent');
  check(exit.length >= 1 && exit.some((e) => e.data.trigger === 'pointer_top' && new URL(e.page_url).pathname === '/contact'), 'exit_intent: the pointer out through the top', exit.map((e) => e.data));
  const perf = of('page_performance');
  check(perf.length >= 4 && perf.every((e) => e.data.ttfb_ms >= 0 && e.data.navigation_type), 'page_performance: one per page load, with Navigation Timing', perf.length);
  check(perf.some((e) => e.data.lcp_ms > 0 && e.data.fcp_ms > 0 && 'cls' in e.data), 'page_performance: Web Vitals (LCP, FCP, CLS)', perf.map((e) => e.data));
  const spa = of('page_view').find((e) => e.data.spa);
  check(spa && new URL(spa.page_url).pathname === '/services/water-damage' && new URL(spa.referrer_url).pathname === '/book/thank-you',
    'single-page app: pushState is a page view, the previous URL its referrer', spa && { url: spa.page_url, ref: spa.referrer_url });
  check(of('session_start').length === 1, 'session_start: once', of('session_start').length);
  const pre = of('scroll_milestone').filter((e) => e.client_ts_ms < tAccept);
  check(pre.length >= 1, 'the scroll before the choice was held and sent once accepted', pre.length);
  check(net.every((r) => r.status === 202 || r.status === null || (r.status === 'failed' && r.at >= tDown - 2000 && r.at < tUp + 1000) || r.at < tOnline + 100 && r.status === 'failed'),
    'journey: every request answered 202 (but those sent offline or to the stopped collector)', net.filter((r) => r.status !== 202).map((r) => [r.type, r.status]));
  results.scenarios.journey = { seconds: (t1 - t0) / 1000, events: mine.length, beacons: net.filter((r) => r.type === 'ping').length, fetches: net.filter((r) => r.type === 'fetch').length };
  void tLeave;
}

/** Do Not Track: nothing asked, nothing sent. GPC: marketing stays off. */
async function scenarioSignals() {
  const t0 = Date.now();
  let { context, close } = await launch({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }));
  let net = capture(context);
  let page = await context.newPage();
  await page.goto(DEMO + '/pricing');
  await sleep(1500);
  check(!(await bannerVisible(page)), 'Do Not Track: no banner');
  const c = await page.evaluate(() => window.analytics.consent.get());
  check(c.decided && c.source === 'dnt' && !c.analytics && !c.marketing, 'Do Not Track: decided, necessary only', c);
  await page.click('a[data-analytics-name="choose-standard"]');
  await page.waitForURL('**/book**');
  await sleep(1200);
  await leave(page);
  await close();
  const t1 = Date.now();
  await sleep(1500);
  const dnt = inWindow(raw(), t0, t1);
  check(dnt.length === 0 && net.length === 0, 'Do Not Track: nothing sent at all', types(dnt));

  ({ context, close } = await launch({ viewport: { width: 1280, height: 800 } }));
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
  await context.addInitScript(() => { window.analyticsConfig = { sessionTimeoutMs: 2500 }; }); // sessions end fast here
  net = capture(context);
  const gw = [];
  context.on('request', (r) => r.url().startsWith(GATEWAY) && gw.push(r.url()));
  page = await context.newPage();
  const t2 = Date.now();
  await page.goto(DEMO + '/');
  await page.locator('#analytics-consent [role="dialog"]').waitFor({ timeout: 10000 });
  await page.locator('#analytics-consent button[data-act="choose"]').click();
  const note = await shadow(page, "return root.querySelector('label:has(input[name=marketing]) .note')?.textContent ?? ''");
  check(/Global Privacy Control/.test(note), 'GPC: the settings say marketing stays off, and why', note);
  await shot(page, 'settings-gpc.png');
  await page.locator('#analytics-consent button[data-act="accept"]').click();
  await sleep(1000);
  const s1 = (await page.evaluate(() => window.analytics.state())).sessionId;
  await sleep(3000); // idle past the session timeout
  await page.click('a[data-analytics-name="hero-prices"]');
  await page.waitForURL('**/pricing');
  await sleep(800);
  const s2 = (await page.evaluate(() => window.analytics.state())).sessionId;
  await page.evaluate(() => window.analytics.reset()); // a logout
  await sleep(300);
  await leave(page);
  await close();
  const t3 = Date.now();
  const gpc = await until((e) => inWindow(e, t2, t3).some((x) => x.event_type === 'session_end' && x.data.reason === 'reset'), 8000);
  await sleep(500);
  const mine = inWindow(gpc ? raw() : [], t2, t3);
  const cu = mine.find((e) => e.event_type === 'consent_update');
  check(cu && cu.data.analytics === true && cu.data.marketing === false, 'GPC: "accept all" grants analytics, not marketing', cu?.data);
  check(mine.length > 0 && mine.every((e) => e.consent.analytics && !e.consent.marketing), 'GPC: every event says marketing was not granted');
  check(gw.length === 0, 'GPC: no personalisation request without marketing consent', gw);
  const ends = mine.filter((e) => e.event_type === 'session_end');
  const idle = ends.find((e) => e.session_id === s1);
  check(s1 !== s2 && idle?.data.reason === 'idle' && idle.event_id === 'session_end:' + s1 && idle.data.duration_ms >= 0,
    'session_end: an idle session ends (its id from the session\'s), the next event starts another', { s1, s2, ends: ends.map((e) => [e.session_id, e.data.reason]) });
  check(ends.some((e) => e.session_id === s2 && e.data.reason === 'reset'), 'session_end: reset() ends the session', ends.map((e) => e.data.reason));
  const starts = mine.filter((e) => e.event_type === 'session_start').map((e) => e.session_id).sort();
  const sessions = [...new Set(mine.map((e) => e.session_id))].sort();
  check(starts.length === 3 && JSON.stringify(starts) === JSON.stringify(sessions),
    'session_start: once per session (the idle one, the next, the one after the reset)', { starts, sessions });
  results.scenarios.signals = { seconds: (t3 - t0) / 1000 };
}

/** A phone: the banner fits, and a quick scroll back up is an exit intent. */
async function scenarioMobile() {
  const t0 = Date.now();
  const { context, close } = await launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(DEMO + '/services/screen-repair');
  await page.locator('#analytics-consent [role="dialog"]').waitFor({ timeout: 10000 });
  await shot(page, 'banner-mobile.png');
  const fits = await shadow(page, "const r = root.querySelector('[role=dialog]').getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth + 1 && r.bottom <= innerHeight + 1 && r.height < innerHeight * 0.75");
  check(fits, 'mobile: the banner fits the screen and leaves most of the page visible');
  await page.locator('#analytics-consent button[data-act="accept"]').tap();
  await sleep(1500);
  await page.evaluate(() => window.scrollTo({ top: document.documentElement.scrollHeight, behavior: 'instant' }));
  await sleep(1300);
  await page.evaluate(async () => {
    const y = scrollY;
    for (let i = 1; i <= 4; i++) {
      window.scrollTo({ top: y - i * 300, behavior: 'instant' }); // a flick: 1200 px in 160 ms
      await new Promise((r) => setTimeout(r, 40));
    }
  });
  await sleep(600);
  await perfOf(page, 'mobile: service');
  await leave(page);
  await close();
  const t1 = Date.now();
  const evs = await until((e) => inWindow(e, t0, t1).some((x) => x.event_type === 'exit_intent'), 8000);
  const exit = inWindow(evs ?? [], t0, t1).find((e) => e.event_type === 'exit_intent');
  check(exit?.data.trigger === 'scroll_up', 'mobile: a quick scroll back up is an exit intent', exit?.data ?? types(inWindow(raw(), t0, t1)));
  results.scenarios.mobile = { seconds: (t1 - t0) / 1000 };
}

// ---------------------------------------------------------------------------

const started = Date.now();
const only = process.env.SCENARIOS ? process.env.SCENARIOS.split(',') : null; // to run some while debugging
for (const [name, fn] of [['reject', scenarioReject], ['journey', scenarioJourney], ['signals', scenarioSignals], ['mobile', scenarioMobile]]) {
  if (only && !only.includes(name)) continue;
  try {
    await fn();
  } catch (e) {
    check(false, `scenario ${name} ran to its end`, String(e?.stack ?? e));
  }
}

// Over all scenarios: nothing twice, the tracker's cost.
const all = raw();
const ids = all.map((e) => e.event_id);
const dups = ids.filter((id, i) => ids.indexOf(id) !== i);
check(dups.length === 0, `nothing sent twice: ${ids.length} events, ${new Set(ids).size} distinct event ids`, dups.slice(0, 5));
// What runs while the visitor interacts; the rest (start-up, routing in idle
// time, sending, the page going away) counts in the page's total.
const hot = ['click', 'scroll', 'scroll_frame', 'mouseout', 'focusin', 'input', 'submit', 'view', 'api', 'fetch_wrap', 'xhr_wrap', 'history', 'popstate'];
let worstTotal = 0;
for (const p of results.pages) worstTotal = Math.max(worstTotal, p.total_ms);
// Per handler over every page: calls, mean, the median of the pages'
// medians, the slowest call.
const byName = {};
for (const p of results.pages) {
  for (const [name, s] of Object.entries(p.handlers)) {
    const b = (byName[name] ??= { count: 0, total_ms: 0, max_ms: 0, p50s: [] });
    b.count += s.count;
    b.total_ms += s.total_ms;
    b.max_ms = Math.max(b.max_ms, s.max_ms);
    b.p50s.push(s.p50_ms);
  }
}
for (const b of Object.values(byName)) {
  b.mean_ms = b.total_ms / b.count;
  b.p50s.sort((x, y) => x - y);
  b.p50_ms = b.p50s[Math.floor(b.p50s.length / 2)];
  delete b.p50s;
}
results.handlers = byName;
let worstMean = 0;
let worstMax = 0;
let worstMedian = 0;
for (const name of hot) {
  if (!byName[name] || byName[name].count < 5) continue; // too few calls for a median
  worstMean = Math.max(worstMean, byName[name].mean_ms);
  worstMax = Math.max(worstMax, byName[name].max_ms);
  worstMedian = Math.max(worstMedian, byName[name].p50_ms);
}
results.handler_p50_ms_worst = worstMedian;
results.handler_mean_ms_worst = worstMean;
results.handler_max_ms_worst = worstMax;
results.page_total_ms_worst = worstTotal;
if (!only) check(results.pages.length >= 9, 'the tracker\'s cost measured on every page', results.pages.length);
// The median, of the handlers called at least five times: a loaded CI
// machine, a garbage collection or a handler's first call (compiled then)
// make single calls slower; they are reported, not judged.
check(worstMedian < 1, `under 1 ms per handler call (worst median ${worstMedian.toFixed(2)} ms; worst mean ${worstMean.toFixed(2)} ms, slowest call ${worstMax.toFixed(1)} ms)`);
check(worstTotal < 100, `under 100 ms in all per page (worst page ${worstTotal.toFixed(1)} ms)`, results.pages.map((p) => [p.label, Math.round(p.total_ms)]));
results.seconds = (Date.now() - started) / 1000;
writeFileSync(RESULTS, JSON.stringify(results, null, 2));
process.exit(failed ? 1 : 0);
