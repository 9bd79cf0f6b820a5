// Live: what happens now, updated every second over the WebSocket (the
// metrics channel carries the realtime figures; the events channel the
// feed). One REST read paints the first screen and repaints after a resync;
// nothing polls.
import type { Ctx, View } from '../context';
import { Chart } from '../charts';
import { fmtInt, fmtTime, fmtPct } from '../format';
import { eventsPerMinuteOption } from '../shape/series';
import { feedItem, feedMatches, pushFeed, type FeedItem } from '../shape/feed';
import { stepLabel } from '../shape/funnel';
import type { EnrichedEvent, Realtime } from '../types';
import { empty, failed, fill, h, kpi, loading, panel, table, visitorLink } from '../ui';
import type { Filter } from '../socket';

const FEED_MAX = 60;
const EVENT_TYPES = ['page_view', 'click', 'scroll', 'form_start', 'booking_started', 'booking_completed', 'rage_click', 'exit_intent'];

export const liveView: View = {
  title: 'Live',
  render(root: HTMLElement, ctx: Ctx) {
    const visitors = kpi('Visitors now', 'active in the last 5 minutes');
    const perMin = kpi('Events last minute');
    const conversions = kpi('Conversions today');
    const total = kpi('Events, last 30 minutes');
    const updated = h('p', { class: 'updated', 'aria-live': 'off' }, '');
    const kpis = h('div', { class: 'kpis' }, visitors.root, perMin.root, conversions.root, total.root);

    const epm = panel('Events per minute', { wide: true });
    const chartEl = h('div', { class: 'chart-box short' });
    epm.body.append(chartEl);
    const chart = new Chart(chartEl, 'bars');
    ctx.onLeave(() => chart.dispose());

    const pages = panel('Top pages now');
    const sources = panel('Top sources now');
    const funnels = panel("Today's funnels", { wide: true });
    for (const p of [pages, sources, funnels]) loading(p.body);
    loading(chartEl, 'Loading the last 30 minutes');

    const feed = feedPanel(ctx);

    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Live'), updated), kpis,
      h('div', { class: 'grid' }, epm.root, pages.root, sources.root, funnels.root, feed.root));

    let got = false;
    const last: Record<string, string> = {};
    /** Whether part's data differs from what was drawn (so the rest is left alone). */
    const changed = (part: string, data: unknown) => {
      const j = JSON.stringify(data);
      if (last[part] === j) return false;
      last[part] = j;
      return true;
    };
    const draw = (rt: Realtime) => {
      got = true;
      visitors.set(fmtInt(rt.active_visitors));
      const last = rt.events_per_minute.at(-2);
      perMin.set(fmtInt(last?.events ?? 0), last ? `${fmtTime(last.minute, ctx.tz, false)}; ${fmtInt(rt.events_per_minute.at(-1)?.events ?? 0)} so far this minute` : '');
      const c = rt.conversions_today;
      conversions.set(fmtInt(c.conversions), `${fmtInt(c.visitors)} visitors since ${fmtTime(c.since, ctx.tz, false)}`);
      total.set(fmtInt(rt.events_per_minute.reduce((s, m) => s + m.events, 0)));
      updated.textContent = `Updated ${fmtTime(rt.generated_at, ctx.tz)}`;
      if (changed('epm', rt.events_per_minute)) void chart.set(eventsPerMinuteOption(rt.events_per_minute, ctx.tz), 'Events per minute, last 30 minutes');
      if (!changed('pages', rt.top_pages)) { /* as drawn */ } else if (rt.top_pages.length === 0) empty(pages.body, 'No page views in the last 30 minutes.');
      else fill(pages.body, table(rt.top_pages, [
        { label: 'Page', cell: (p) => h('span', { class: 'url', title: p.page }, p.page) },
        { label: 'Views', cell: (p) => fmtInt(p.views), num: true },
        { label: 'Visitors', cell: (p) => fmtInt(p.visitors), num: true },
      ], 'The most viewed pages of the last 30 minutes'));
      if (!changed('sources', rt.top_referrers)) { /* as drawn */ } else if (rt.top_referrers.length === 0) empty(sources.body, 'No visitors arrived from another site in the last 30 minutes.', 'Direct visits and internal navigation are not sources.');
      else fill(sources.body, table(rt.top_referrers, [
        { label: 'Source', cell: (r) => r.referrer },
        { label: 'Visitors', cell: (r) => fmtInt(r.visitors), num: true },
      ], 'The sites visitors came from in the last 30 minutes'));
      const fs = rt.funnels.filter((f) => (f.steps ?? []).length > 0);
      if (!changed('funnels', fs)) { /* as drawn */ } else if (fs.length === 0) empty(funnels.body, 'No funnel is defined.', 'Funnels come from the journey-builder\'s funnels file.');
      else fill(funnels.body, h('p', { class: 'hint' }, 'Visitors at each step since midnight UTC; ', h('a', { href: '#/funnels' }, 'more in Funnels'), '.'), h('div', { class: 'mini-funnels' }, ...fs.map((f) => {
        const steps = f.steps ?? [];
        const first = steps[0]?.visitors ?? 0;
        return h('div', { class: 'mini-funnel' }, h('h3', {}, f.funnel),
          h('ol', {}, ...steps.map((s) => h('li', {},
            h('span', { class: 'mf-name' }, stepLabel(s.name)),
            h('span', { class: 'mf-bar', 'aria-hidden': 'true' }, h('span', { style: `width:${first ? (100 * s.visitors) / first : 0}%` })),
            h('span', { class: 'mf-n' }, fmtInt(s.visitors), first && s.step > 1 ? h('small', {}, ` ${fmtPct(s.visitors / first)}`) : null)))));
      })));
    };

    const read = async () => {
      try {
        const rt = await ctx.api.get<Realtime>('realtime');
        if (ctx.live()) draw(rt);
      } catch (e) {
        if (!ctx.live()) return;
        ctx.whenBack(read);
        if (!got) for (const p of [pages, sources, funnels]) failed(p.body, e, read);
        updated.textContent = 'Figures are not updating: the push-gateway is unreachable.';
      }
    };
    void read();
    const unsub = ctx.socket.subscribe('metrics', {
      onMessage: (d) => { if (ctx.live()) draw(d as Realtime); },
      onResync: () => { void read(); },
    });
    ctx.onLeave(unsub);
  },
};

/** The live event feed: server-side filters (type, country) on the events channel, a text filter here, pause. */
function feedPanel(ctx: Ctx) {
  const typeSel = h('select', { id: 'feed-type' }, h('option', { value: '' }, 'All events'),
    ...EVENT_TYPES.map((t) => h('option', { value: t }, t.replace(/_/g, ' '))));
  const country = h('input', { id: 'feed-country', maxlength: 2, size: 3, placeholder: 'any', autocomplete: 'off', pattern: '[A-Za-z]{2}' });
  const text = h('input', { id: 'feed-text', type: 'search', placeholder: 'page or visitor', autocomplete: 'off' });
  const bots = h('input', { id: 'feed-bots', type: 'checkbox' });
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Pause');
  const note = h('p', { class: 'feed-note', role: 'status' }, 'Waiting for events…');
  const list = h('ol', { class: 'feed', 'aria-label': 'Latest events, newest first' });
  const controls = h('div', { class: 'feed-controls' },
    h('label', { for: 'feed-type' }, 'Type ', typeSel),
    h('label', { for: 'feed-country' }, 'Country ', country),
    h('label', { for: 'feed-text' }, 'Search ', text),
    h('label', { for: 'feed-bots', class: 'check' }, bots, ' Show bots'),
    pause);
  const p = panel('Live events', { wide: true });
  p.body.append(controls, note, list);

  let items: FeedItem[] = [];
  let queue: { item: FeedItem; bot: boolean }[] = [];
  let paused = false;
  let missedWhilePaused = 0;
  let lagged = 0;
  const bot = new Map<string, boolean>();

  const filters = () => ({ type: typeSel.value, country: country.value.trim(), text: text.value.trim() });
  // Rows are kept by event id: new ones go on top, gone ones are removed,
  // the others stay put (so a focused link keeps its focus).
  const rows = new Map<string, HTMLElement>();
  const row = (i: FeedItem) => h('li', { class: `feed-item t-${i.type}`, 'data-id': i.id },
    h('time', { datetime: new Date(i.at).toISOString() }, fmtTime(i.at, ctx.tz)),
    h('span', { class: 'badge' }, i.type.replace(/_/g, ' ')),
    bot.get(i.id) ? h('span', { class: 'badge bot' }, 'bot') : null,
    h('span', { class: 'url', title: i.page }, i.page || '–'),
    i.detail ? h('span', { class: 'detail' }, i.detail) : null,
    h('span', { class: 'meta' }, [i.country, i.device, i.channel].filter(Boolean).join(' · ')),
    visitorLink(i.fingerprint, i.fingerprint.length > 16 ? `${i.fingerprint.slice(0, 15)}…` : i.fingerprint));
  const render = () => {
    const f = filters();
    const shown = items.filter((i) => feedMatches(i, f) && (bots.checked || !bot.get(i.id)));
    const keep = new Set(shown.map((i) => i.id));
    for (const [id, el] of rows) {
      if (!keep.has(id)) {
        el.remove();
        rows.delete(id);
      }
    }
    let next: ChildNode | null = list.firstChild;
    for (const i of shown) {
      let el = rows.get(i.id);
      if (!el) {
        el = row(i);
        rows.set(i.id, el);
      }
      if (el !== next) list.insertBefore(el, next);
      else next = next.nextSibling;
    }
  };
  const flush = () => {
    if (queue.length === 0 || paused) return;
    for (const q of queue) bot.set(q.item.id, q.bot);
    items = pushFeed(items, queue.map((q) => q.item), FEED_MAX);
    queue = [];
    for (const id of bot.keys()) if (!items.some((i) => i.id === id)) bot.delete(id);
    note.textContent = lagged ? `Too many events to show them all: ${fmtInt(lagged)} skipped.` : '';
    render();
  };
  const timer = setInterval(flush, 500);
  ctx.onLeave(() => clearInterval(timer));

  const handler = {
    onMessage: (d: unknown) => {
      const e = d as EnrichedEvent;
      if (paused) {
        missedWhilePaused++;
        note.textContent = `Paused: ${fmtInt(missedWhilePaused)} new events not shown.`;
        return;
      }
      queue.push({ item: feedItem(e), bot: e.bot?.is_bot === true });
      if (queue.length > FEED_MAX) queue = queue.slice(-FEED_MAX);
    },
    onLagged: (n: number) => { lagged += n; },
  };
  let unsub = () => {};
  const resubscribe = () => {
    const f: Filter = {};
    if (typeSel.value) f.event_type = typeSel.value;
    const c = country.value.trim().toUpperCase();
    if (/^[A-Z]{2}$/.test(c)) f.country = c;
    unsub();
    unsub = ctx.socket.subscribe('events', handler, f);
    render();
  };
  resubscribe();
  ctx.onLeave(() => unsub());
  typeSel.addEventListener('change', resubscribe);
  country.addEventListener('change', resubscribe);
  text.addEventListener('input', render);
  bots.addEventListener('change', render);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      missedWhilePaused = 0;
      note.textContent = '';
    } else {
      note.textContent = 'Paused.';
    }
  });
  return p;
}
