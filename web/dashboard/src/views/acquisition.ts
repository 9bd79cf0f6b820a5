// Acquisition: where sessions come from (channel, device, country) with
// bounce and conversion, and the pages: views, entrances, bounce and exit
// rates, page value.
import type { Ctx, View } from '../context';
import { Chart } from '../charts';
import { fmtInt, fmtPct, fmtValue } from '../format';
import { rangeParams, type Range } from '../range';
import { groupLabel, groupsOption } from '../shape/series';
import type { Clicks, PageRow, SessionsReport } from '../types';
import { describeError } from '../api';
import { heatmapOption, heatmapRows } from '../shape/heatmap';
import { empty, failed, fill, h, loading, panel, table } from '../ui';
import { rangePicker } from './controls';

const GROUPS: { by: 'channel' | 'device' | 'country'; title: string }[] = [
  { by: 'channel', title: 'Sessions by channel' },
  { by: 'device', title: 'Sessions by device' },
  { by: 'country', title: 'Sessions by country' },
];

export const acquisitionView: View = {
  title: 'Acquisition',
  async render(root: HTMLElement, ctx: Ctx) {
    const range = rangePicker(() => void readAll());
    const panels = GROUPS.map((g) => ({ ...g, p: panel(g.title) }));
    const pages = panel('Pages', { wide: true });
    const clicks = panel('Clicks on a page', { wide: true });
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Acquisition'), h('div', { class: 'controls' }, range.root)),
      h('div', { class: 'grid three' }, ...panels.map((x) => x.p.root)), h('div', { class: 'grid' }, pages.root, clicks.root));
    const charts: Chart[] = [];
    ctx.onLeave(() => charts.forEach((c) => c.dispose()));
    const readAll = async () => {
      charts.forEach((c) => c.dispose());
      charts.length = 0;
      const r = range.range();
      await Promise.all([...panels.map((x) => group(ctx, r, x.by, x.p.body, charts)), pageList(ctx, r, pages.body), clickMap(ctx, r, clicks.body, charts)]);
    };
    await readAll();
  },
};

async function group(ctx: Ctx, r: Range, by: string, body: HTMLElement, charts: Chart[]) {
  loading(body);
  let rep: SessionsReport;
  try {
    rep = await ctx.api.get<SessionsReport>('sessions', { ...rangeParams(r), group_by: by, limit: 50 });
  } catch (e) {
    if (!ctx.live()) return;
    failed(body, e, () => void group(ctx, r, by, body, charts));
    ctx.whenBack(() => void group(ctx, r, by, body, charts));
    return;
  }
  if (!ctx.live()) return;
  if (rep.groups.length === 0) {
    empty(body, 'No sessions in this range.');
    return;
  }
  const chartEl = h('div', { class: 'chart-box short' });
  const c = new Chart(chartEl, 'bars');
  charts.push(c);
  fill(body, chartEl, table(rep.groups.slice(0, 10), [
    { label: by === 'country' ? 'Country' : by === 'device' ? 'Device' : 'Channel', cell: (g) => groupLabel(g.key, by) },
    { label: 'Sessions', cell: (g) => fmtInt(g.sessions), num: true },
    { label: 'Bounce', cell: (g) => fmtPct(g.bounce_rate), num: true },
    { label: 'Conv.', cell: (g) => fmtPct(g.conversion_rate), num: true, title: 'sessions with a conversion' },
  ], `Sessions by ${by}, most first`));
  void c.set(groupsOption(rep.groups, by), `Sessions by ${by}`);
}

/** A page's name; the scorer keys pages by a hash and may not have stored the name. */
function pageName(p: PageRow): HTMLElement {
  return p.page ? h('span', { class: 'url', title: p.page }, p.page) : h('span', { class: 'muted mono', title: 'the page statistics carry no name for this page, only its hash' }, `unnamed #${String(p.page_hash).slice(0, 8)}`);
}

async function pageList(ctx: Ctx, r: Range, body: HTMLElement) {
  loading(body);
  try {
    const a = await ctx.api.get<{ pages: PageRow[] }>('pages', { ...rangeParams(r), limit: 25 });
    if (!ctx.live()) return;
    if (a.pages.length === 0) {
      empty(body, 'No page statistics in this range.', 'The scorer adds a session to them once the session closes (30 minutes idle).');
      return;
    }
    fill(body, table(a.pages, [
      { label: 'Page', cell: pageName },
      { label: 'Views', cell: (p) => fmtInt(p.views), num: true },
      { label: 'Unique', cell: (p) => fmtInt(p.unique_views), num: true, optional: true },
      { label: 'Entrances', cell: (p) => fmtInt(p.entrances), num: true, optional: true },
      { label: 'Bounce rate', cell: (p) => fmtPct(p.bounce_rate), num: true, title: 'bounces / entrances' },
      { label: 'Exit rate', cell: (p) => fmtPct(p.exit_rate), num: true, title: 'exits / views', optional: true },
      { label: 'Page value', cell: (p) => fmtValue(p.page_value), num: true, title: 'conversion value / unique views' },
    ], 'Pages by views, most first'), h('p', { class: 'hint' }, 'Whole UTC days. Bounce rate: sessions that saw this page alone, of those that entered on it.'));
  } catch (e) {
    if (!ctx.live()) return;
    failed(body, e, () => void pageList(ctx, r, body));
    ctx.whenBack(() => void pageList(ctx, r, body));
  }
}

/** The clicks of the page chosen (the most clicked first) as a heatmap. */
async function clickMap(ctx: Ctx, r: Range, body: HTMLElement, charts: Chart[]) {
  loading(body);
  let list: Clicks;
  try {
    list = await ctx.api.get<Clicks>('clicks', rangeParams(r));
  } catch (e) {
    if (!ctx.live()) return;
    failed(body, e, () => void clickMap(ctx, r, body, charts));
    ctx.whenBack(() => void clickMap(ctx, r, body, charts));
    return;
  }
  if (!ctx.live()) return;
  if (list.pages.length === 0) {
    empty(body, 'No clicks with their position in this range.',
      'The tracker sends each click\'s position on the page (x, y and the page\'s width); clicks sent without one cannot be placed.');
    return;
  }
  const sel = h('select', { id: 'click-page' }, ...list.pages.map((p) => h('option', { value: p.page }, `${p.page} (${fmtInt(p.clicks)})`)));
  const note = h('p', { class: 'hint' });
  const chartEl = h('div', { class: 'chart-box heatmap' });
  const chart = new Chart(chartEl, 'heatmap');
  charts.push(chart);
  fill(body, h('div', { class: 'inline-form' }, h('label', { for: 'click-page' }, 'Page '), sel), chartEl, note);
  const draw = async () => {
    try {
      const c = await ctx.api.get<Clicks>('clicks', { ...rangeParams(r), page: sel.value });
      if (!ctx.live()) return;
      chartEl.style.height = `${Math.min(900, 120 + heatmapRows(c) * 22)}px`;
      note.textContent = `${fmtInt(c.clicks)} clicks; the page's width in ${c.columns} columns, its length in rows of ${c.row_px} px.`;
      void chart.set(heatmapOption(c), `Where visitors click on ${sel.value}`);
    } catch (e) {
      if (ctx.live()) note.textContent = describeError(e);
    }
  };
  sel.addEventListener('change', () => void draw());
  await draw();
}
