// First-load times of the dashboard's views in Debian's chromium, for
// scripts/bench dashboard: each view opened RUNS times in a tab that is
// signed in (the token in its session storage) with an empty cache, and
// RUNS times again with a warm one (a reload), timed from navigation start
// until the view shows its data (its loading states gone, its charts drawn).
// Prints one JSON line per view: {"view","cold_ms":[...],"warm_ms":[...],
// "cold_p50","warm_p50","requests","bytes"} (requests and bytes on the wire
// of a cold load).
//
//   DASH_BASE, DASH_TOKEN   the gateway's URL and a read token
//   DASH_RUNS               runs per view and cache state (default 5)
import { launch } from './chromium.mjs';

const BASE = process.env.DASH_BASE;
const TOKEN = process.env.DASH_TOKEN;
const RUNS = Number(process.env.DASH_RUNS || 5);
const VIEWS = (process.env.DASH_VIEWS || 'live,funnels,journeys,visitors,acquisition').split(',');

/** ms from navigation start until the view is drawn: no loading state, every chart ready, data shown. */
function drawn(page, view) {
  return page.waitForFunction((v) => {
    const root = document.querySelector(`.view-${v}`);
    if (!root || !root.querySelector('.panel') || root.querySelector('.state.loading')) return false;
    const charts = [...root.querySelectorAll('.chart')];
    if (!charts.every((c) => c.dataset.ready === 'true' || c.querySelector('.state'))) return false;
    if (v === 'live' && root.querySelector('.kpi-value')?.textContent === '–') return false;
    if (v === 'funnels' && root.querySelectorAll('[data-funnel]').length === 0) return false;
    if (v === 'visitors' && !root.querySelector('table')) return false;
    return performance.now();
  }, view, { polling: 'raf', timeout: 30000 }).then((h) => h.jsonValue());
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor((s.length - 1) / 2)];
};

const { context, close } = await launch({ viewport: { width: 1280, height: 900 } });
await context.addInitScript((t) => {
  if (location.protocol.startsWith('http')) sessionStorage.setItem('analytics.token', t);
}, TOKEN);
try {
  for (const view of VIEWS) {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    let requests = 0;
    let bytes = 0;
    page.on('response', (r) => {
      requests++;
      bytes += Number(r.headers()['content-length'] ?? 0);
    });
    const cold = [];
    const warm = [];
    let coldRequests = 0;
    let coldBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      await cdp.send('Network.clearBrowserCache');
      await page.goto('about:blank');
      requests = 0;
      bytes = 0;
      await page.goto(`${BASE}/#/${view}`);
      cold.push(Math.round(await drawn(page, view)));
      coldRequests = requests;
      coldBytes = bytes;
      await page.reload();
      warm.push(Math.round(await drawn(page, view)));
    }
    console.log(JSON.stringify({ view, cold_ms: cold, warm_ms: warm, cold_p50: median(cold), warm_p50: median(warm), requests: coldRequests, bytes: coldBytes }));
    await page.close();
  }
} finally {
  await close();
}
