// The dashboard in Debian's chromium against the whole pipeline that
// test_dashboard.sh started (it passes the addresses in the environment and
// restarts the push-gateway when this script asks, through files in
// DASH_CTL). Prints one "PASS: ..." or "FAIL: ..." line per check, the
// figures as "FIGURE name value", and exits 1 when a check failed.
//
//   DASH_BASE        the gateway's URL (the dashboard at /, the API under /api/analytics/)
//   DASH_TOKEN       a read token; DASH_ADMIN_TOKEN an admin one
//   DASH_EVENTS_URL  the collector's events endpoint, for analytics-loadgen
//   DASH_BIN         the binaries' directory
//   DASH_CTL         a directory: this script writes stop-gateway / start-gateway,
//                    the test answers gateway-stopped / gateway-started
//   DASH_SHOTS       where the screenshots go
import { launch } from './chromium.mjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.DASH_BASE;
const TOKEN = process.env.DASH_TOKEN;
const ADMIN = process.env.DASH_ADMIN_TOKEN;
const CTL = process.env.DASH_CTL;
const SHOTS = process.env.DASH_SHOTS;
const API = `${BASE}/api/analytics/`;
mkdirSync(SHOTS, { recursive: true });

let failed = 0;
const pass = (m) => console.log(`PASS: ${m}`);
const fail = (m) => { failed++; console.log(`FAIL: ${m}`); };
const check = (m, ok, detail = '') => (ok ? pass(m) : fail(detail ? `${m} (${detail})` : m));
const figure = (name, v) => console.log(`FIGURE ${name} ${v}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(path) {
  const r = await fetch(API + path, { headers: { Authorization: `Bearer ${TOKEN}` } });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

/** Asks the test to do something to the gateway and waits for its answer. */
async function ctl(ask, answer, ms = 30000) {
  rmSync(join(CTL, answer), { force: true });
  writeFileSync(join(CTL, ask), '');
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(join(CTL, answer))) return true;
    await sleep(100);
  }
  return false;
}

// Errors the page logs: JavaScript exceptions always fail; console errors
// fail unless they are the network's while the gateway is down on purpose
// (or the 401 of the wrong token, which the browser logs as a failed load).
const problems = [];
function watch(page) {
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const t = m.text();
    if (/Failed to load resource|WebSocket connection to .* failed|net::ERR_/.test(t)) return;
    problems.push(`console: ${t}`);
  });
}

/** ms from navigation start until the live view shows the realtime figures and their chart. */
async function liveReady(page) {
  return page.waitForFunction(() => {
    const v = document.querySelector('.view-live .kpi-value');
    const chart = document.querySelector('.view-live .chart[data-ready]');
    return v && v.textContent !== '–' && chart ? performance.now() : false;
  }, null, { polling: 'raf', timeout: 20000 }).then((h) => h.jsonValue());
}

/** Waits until a view has nothing loading and its charts are drawn. */
async function settled(page, ms = 15000) {
  await page.waitForFunction(() => {
    if (!document.querySelector('main .panel, main .state, .signin') || document.querySelector('.state.loading')) return false;
    return [...document.querySelectorAll('.chart')].every((c) => c.dataset.ready === 'true' || c.querySelector('.state'));
  }, null, { timeout: ms }).catch(() => {});
  await sleep(400); // ECharts' 300 ms animations
}

function visitorsNow(page) {
  return page.$eval('.view-live .kpi-value', (e) => Number(e.textContent.replace(/[^0-9]/g, '')));
}

const { context, close } = await launch({ viewport: { width: 1280, height: 900 } });
let loadgen = null;
try {
  // ---- a wrong token ----
  const signin = await context.newPage();
  watch(signin);
  await signin.goto(`${BASE}/`);
  await signin.waitForSelector('#token');
  await signin.fill('#token', 'wrong-token-0123456789');
  await signin.press('#token', 'Enter');
  const msg = await signin.waitForSelector('.signin-status.error', { timeout: 10000 }).then((e) => e.textContent()).catch(() => '');
  check('a wrong token: the sign-in says the gateway refused it (401)', /does not accept this token \(401\)/.test(msg), msg);
  check('...and keeps it nowhere', await signin.evaluate(() => sessionStorage.length === 0 && localStorage.length === 0 && document.cookie === ''));
  await signin.screenshot({ path: join(SHOTS, 'dashboard-signin-error-1280.png') });
  await signin.close();

  // ---- first load: a tab that is signed in (the token in its session storage), empty cache ----
  const cold = await launch({ viewport: { width: 1280, height: 900 } });
  await cold.context.addInitScript((t) => {
    if (location.protocol.startsWith('http')) sessionStorage.setItem('analytics.token', t);
  }, TOKEN);
  const cp = await cold.context.newPage();
  watch(cp);
  const bytes = [];
  cp.on('response', async (r) => {
    const len = Number(r.headers()['content-length'] ?? 0);
    if (r.url().includes('/assets/')) bytes.push({ url: r.url().replace(/.*\/assets\//, ''), len, enc: r.headers()['content-encoding'] ?? '' });
  });
  await cp.goto(`${BASE}/#/live`);
  const coldLive = Math.round(await liveReady(cp));
  figure('first_load_live_cold_ms', coldLive);
  const liveAssets = bytes.slice();
  figure('first_load_live_assets', `${liveAssets.length} files, ${liveAssets.reduce((s, b) => s + b.len, 0)} bytes on the wire (${[...new Set(liveAssets.map((b) => b.enc || 'identity'))].join(',')})`);
  check('first load of the live view under 2 s', coldLive < 2000, `${coldLive} ms`);
  check('...the live view loads neither the funnel nor the Sankey code', !liveAssets.some((b) => /funnel|sankey|journeys|visitors/.test(b.url)), liveAssets.map((b) => b.url).join(' '));
  await cp.reload();
  figure('first_load_live_warm_ms', Math.round(await liveReady(cp)));
  const cdp = await cold.context.newCDPSession(cp);
  await cdp.send('Network.clearBrowserCache');
  await cp.goto('about:blank');
  await cp.goto(`${BASE}/#/funnels`); // a new document, an empty cache
  const funnelsMs = await cp.waitForFunction(() => {
    const panels = document.querySelectorAll('[data-funnel]');
    return panels.length > 0 && [...panels].every((p) => p.querySelector('.chart[data-ready]') || p.querySelector('.state.empty')) ? performance.now() : false;
  }, null, { polling: 'raf', timeout: 20000 }).then((h) => h.jsonValue()).catch(() => -1);
  figure('first_load_funnels_30_days_ms', Math.round(funnelsMs));
  check('first load of the funnels view (30 days) under 2 s', funnelsMs > 0 && funnelsMs < 2000, `${Math.round(funnelsMs)} ms`);
  await cold.close();

  // ---- sign in, the live view ----
  const page = await context.newPage();
  watch(page);
  await page.goto(`${BASE}/`);
  await page.fill('#token', TOKEN);
  await page.click('.signin button[type=submit]');
  await page.waitForSelector('.conn.open', { timeout: 15000 });
  pass('signed in: the WebSocket is open');
  check('the token is in session storage only', await page.evaluate((t) => sessionStorage.getItem('analytics.token') === t && localStorage.length === 0 && !location.href.includes(t), TOKEN));
  await liveReady(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  const before = await visitorsNow(page);
  loadgen = spawn(join(process.env.DASH_BIN, 'analytics-loadgen'), ['--http', process.env.DASH_EVENTS_URL, '--rate', '80', '--duration', '150',
    '--batch', '5', '--concurrency', '2', '--visitors', '3000', '--window-s', '30', '--seed', '17'], { stdio: 'ignore' });
  const rose = await page.waitForFunction((b) => {
    const v = Number(document.querySelector('.view-live .kpi-value')?.textContent?.replace(/[^0-9]/g, '') ?? 0);
    return v > b ? v : false;
  }, before, { timeout: 45000 }).then((h) => h.jsonValue()).catch(() => null);
  check('the live visitor count rises as visitors arrive, without a reload', rose !== null && (await page.evaluate(() => window.__sameDocument === true)), `from ${before} to ${rose}`);
  const feedCount = () => page.$$eval('.feed .feed-item', (l) => l.length);
  await page.waitForFunction(() => document.querySelectorAll('.feed .feed-item').length >= 5, null, { timeout: 20000 }).catch(() => {});
  check('the live feed shows events as they arrive', (await feedCount()) >= 5);
  await page.selectOption('#feed-type', 'page_view');
  await sleep(2500);
  const types = await page.$$eval('.feed .feed-item .badge:first-of-type', (l) => [...new Set(l.map((e) => e.textContent))]);
  check('...filtered by event type', types.length >= 1 && types.every((t) => t === 'page view'), types.join(','));
  await page.click('.feed-controls button');
  const frozen = await page.$$eval('.feed .feed-item', (l) => l.map((e) => e.textContent).join('|'));
  await sleep(2500);
  check('...and paused: nothing moves, the count of what is held back shows',
    frozen === (await page.$$eval('.feed .feed-item', (l) => l.map((e) => e.textContent).join('|'))) && /Paused/.test(await page.textContent('.feed-note')));
  await page.click('.feed-controls button');
  await page.selectOption('#feed-type', '');
  await page.screenshot({ path: join(SHOTS, 'dashboard-live-1280.png'), fullPage: true });

  // ---- funnels: the numbers of the funnel route ----
  const seen = new Map();
  const onResponse = async (r) => {
    if (r.url().includes('/api/analytics/funnel?')) seen.set(r.url(), await r.json().catch(() => null));
  };
  page.on('response', onResponse);
  await page.goto(`${BASE}/#/funnels`);
  await settled(page);
  page.off('response', onResponse);
  const shown = await page.$$eval('[data-funnel]', (ps) => ps.map((p) => ({
    name: p.dataset.funnel,
    visitors: [...p.querySelectorAll('tbody tr')].map((tr) => Number(tr.children[1].textContent.replace(/[^0-9]/g, ''))),
  })));
  check('the funnels view shows every defined funnel', shown.length >= 2, shown.map((s) => s.name).join(','));
  const bench = shown.find((s) => s.name === 'bench');
  const benchUrl = [...seen.keys()].find((u) => u.includes('name=bench') && seen.get(u) && !u.includes('channel'));
  // The page asks for this period and the one before; this period's to= is the later one.
  const urls = [...seen.keys()].filter((u) => u.includes('name=bench')).sort((a, b) => new URL(b).searchParams.get('to').localeCompare(new URL(a).searchParams.get('to')));
  if (bench && urls[0] && benchUrl) {
    const u = new URL(urls[0]);
    const route = await api(`funnel?${u.searchParams.toString()}`);
    check('the stored funnel (30 days) shows the funnel route\'s visitors per step',
      JSON.stringify(bench.visitors) === JSON.stringify(route.steps.map((s) => s.visitors)), `${bench.visitors} vs ${route.steps.map((s) => s.visitors)}`);
  } else {
    fail(`the bench funnel was shown and asked for (${JSON.stringify(shown)}, ${[...seen.keys()].join(' ')})`);
  }
  const booking = shown.find((s) => s.name === 'booking');
  const bookingUrl = [...seen.keys()].filter((u) => u.includes('name=booking')).sort((a, b) => new URL(b).searchParams.get('to').localeCompare(new URL(a).searchParams.get('to')))[0];
  check('the live funnel shows what the route answered the page', booking && bookingUrl && JSON.stringify(booking.visitors) === JSON.stringify(seen.get(bookingUrl).steps.map((s) => s.visitors)),
    `${booking?.visitors} vs ${bookingUrl ? seen.get(bookingUrl)?.steps?.map((s) => s.visitors) : 'none'}`);
  check('...with its drop-off point marked', (await page.$$('[data-funnel="bench"] tr.worst')).length === 1);
  await page.screenshot({ path: join(SHOTS, 'dashboard-funnels-1280.png'), fullPage: true });

  // ---- a visitor's page: score and persona ----
  let lead = null;
  for (let i = 0; i < 100 && !lead; i++) {
    const l = (await api('leads?limit=5')).leads.find((x) => x.persona);
    if (l) lead = l;
    else await sleep(300);
  }
  if (!lead) {
    fail('a scored visitor with a persona exists');
  } else {
    await page.goto(`${BASE}/#/visitors/${encodeURIComponent(lead.fingerprint)}`);
    await page.waitForSelector('[data-testid=lead-score] .kpi-value', { timeout: 15000 });
    await settled(page);
    const ins = await api(`insights/${encodeURIComponent(lead.fingerprint)}`);
    const score = await page.textContent('[data-testid=lead-score] .kpi-value');
    const persona = await page.textContent('[data-testid=persona]');
    check("a visitor's page shows their lead score", score === String(ins.scores.lead_score), `${score} vs ${ins.scores.lead_score}`);
    check('...and their persona', persona === ins.persona, `${persona} vs ${ins.persona}`);
    check('...and a score history chart', (await page.$('.view-visitors .chart[data-ready]')) !== null);
    await page.screenshot({ path: join(SHOTS, 'dashboard-visitor-1280.png'), fullPage: true });
  }

  // ---- keyboard: the skip link, then the navigation (a new document: focus at its start) ----
  await page.goto('about:blank');
  await page.goto(`${BASE}/#/live`);
  await page.waitForSelector('.view-live');
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement?.textContent);
  check('the first Tab reaches "Skip to content"', first === 'Skip to content', first);
  await page.keyboard.press('Tab'); // Live
  await page.keyboard.press('Tab'); // Funnels
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/funnels', null, { timeout: 5000 }).then(() => pass('Tab and Enter open a view')).catch(() => fail('Tab and Enter open a view'));

  // ---- the push-gateway restarted mid-session ----
  await page.goto(`${BASE}/#/live`);
  await liveReady(page);
  const genBefore = await page.textContent('.updated');
  check('the gateway stops', await ctl('stop-gateway', 'gateway-stopped'));
  const lost = await page.waitForSelector('.conn.reconnecting', { timeout: 15000 }).then(() => true).catch(() => false);
  check('...the page says the connection is lost and when it retries', lost && /retrying in \d+ s|Reconnecting/.test(await page.textContent('.conn')), await page.textContent('.conn'));
  await page.goto(`${BASE}/#/funnels`);
  const down = await page.waitForSelector('.state.error.unreachable', { timeout: 20000 }).then((e) => e.textContent()).catch(() => '');
  check('...a view opened meanwhile says the gateway is unreachable', /Cannot reach the push-gateway/.test(down), down);
  await page.screenshot({ path: join(SHOTS, 'dashboard-gateway-down-1280.png'), fullPage: true });
  check('the gateway starts again (same port)', await ctl('start-gateway', 'gateway-started'));
  const back = await page.waitForSelector('.conn.open', { timeout: 30000 }).then(() => true).catch(() => false);
  check('...the page reconnects by itself', back);
  const redrawn = await page.waitForSelector('[data-funnel="bench"] .chart[data-ready]', { timeout: 20000 }).then(() => true).catch(() => false);
  check('...and the view that failed loads by itself', redrawn);
  await page.goto(`${BASE}/#/live`);
  const fresh = await page.waitForFunction((g) => {
    const t = document.querySelector('.updated')?.textContent ?? '';
    return t.startsWith('Updated') && t !== g;
  }, genBefore, { timeout: 20000 }).then(() => true).catch(() => false);
  check('...and the live figures update again', fresh);
  const feedBack = await page.waitForFunction(() => document.querySelectorAll('.feed .feed-item').length > 0, null, { timeout: 20000 }).then(() => true).catch(() => false);
  check('...and the live feed carries events again', feedBack);

  // ---- privacy with an admin token ----
  await page.goto(`${BASE}/#/privacy`);
  await page.waitForSelector('#pr-fp');
  await page.fill('#pr-fp', 'fp-someone-to-export');
  await page.selectOption('#pr-action', 'export');
  await page.click('.stack button[type=submit]');
  const refused = await page.waitForFunction(() => /scope admin/.test(document.querySelector('.form-status')?.textContent ?? ''), null, { timeout: 10000 }).then(() => true).catch(() => false);
  check('a privacy request with the read token: told it needs an admin one', refused);
  await page.fill('#admin-token', ADMIN);
  await page.dispatchEvent('#admin-token', 'change');
  await page.click('.stack button[type=submit]');
  const made = await page.waitForSelector('.badge.status-pending, .badge.status-done, .badge.status-completed, .badge.status-running', { timeout: 10000 }).then(() => true).catch(() => false);
  check('...with the admin token: recorded and listed with its status', made, await page.textContent('.form-status'));

  // ---- acquisition: the click heatmap of the page with clicks ----
  await page.goto(`${BASE}/#/acquisition`);
  const heat = await page.waitForSelector('.chart-box.heatmap[data-ready]', { timeout: 15000 }).then(() => true).catch(() => false);
  check('the acquisition view draws the click heatmap of the most clicked page', heat && /shop\.example\/pricing \(400\)/.test(await page.textContent('#click-page')));

  // ---- screenshots of every view, at 1280 px and on a phone ----
  const views = ['live', 'funnels', 'journeys', 'visitors', 'acquisition', 'triggers', 'privacy'];
  for (const [w, hgt] of [[1280, 900], [390, 844]]) {
    await page.setViewportSize({ width: w, height: hgt });
    for (const v of views) {
      await page.goto(`${BASE}/#/${v}`);
      await settled(page);
      if (v === 'live') await sleep(1500);
      await page.screenshot({ path: join(SHOTS, `dashboard-${v}-${w}.png`), fullPage: true });
    }
    if (lead) {
      await page.goto(`${BASE}/#/visitors/${encodeURIComponent(lead.fingerprint)}`);
      await settled(page);
      await page.screenshot({ path: join(SHOTS, `dashboard-visitor-${w}.png`), fullPage: true });
    }
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(`at ${w} px the page needs no sideways scrolling`, wide <= w, `${wide} px wide`);
  }
  pass(`screenshots in ${SHOTS}`);
  check('no JavaScript error or refused resource in the page', problems.length === 0, problems.slice(0, 5).join(' | '));
} catch (e) {
  fail(`the browser script stopped: ${e.stack || e}`);
} finally {
  loadgen?.kill('SIGTERM');
  await close();
}
process.exit(failed ? 1 : 0);
