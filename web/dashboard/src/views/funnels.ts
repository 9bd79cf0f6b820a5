// Funnels: each defined funnel as a funnel chart and a table of its steps
// (visitors, conversion, drop-off, median time between steps) for a range,
// channel and device, against the period before; the step that loses the
// most is marked in both.
import type { Ctx, View } from '../context';
import { Chart } from '../charts';
import { enumWords, fmtChange, fmtDate, fmtDuration, fmtInt, fmtPct } from '../format';
import { previousPeriod, rangeParams, type Range } from '../range';
import { funnelOption, funnelRows, stepLabel, type FunnelRow } from '../shape/funnel';
import type { FunnelDef, FunnelReport } from '../types';
import { empty, failed, fill, h, loading, panel, table } from '../ui';
import { CHANNELS, DEVICES, choice, rangePicker } from './controls';

let channel = '';
let device = '';

export const funnelsView: View = {
  title: 'Funnels',
  async render(root: HTMLElement, ctx: Ctx) {
    const list = h('div', { class: 'funnels' });
    const range = rangePicker(() => void draw(), '30d');
    const ch = choice('Channel', CHANNELS.map((c) => ({ value: c, label: enumWords(c) })), (v) => { channel = v; void draw(); }, channel);
    const dev = choice('Device', DEVICES.map((d) => ({ value: d, label: d })), (v) => { device = v; void draw(); }, device);
    const compare = h('p', { class: 'hint' });
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Funnels'),
      h('div', { class: 'controls' }, range.root, ch.root, dev.root)), compare, list);
    const charts: Chart[] = [];
    ctx.onLeave(() => charts.forEach((c) => c.dispose()));

    let defs: FunnelDef[] | null = null;
    let drawing = 0;
    const draw = async () => {
      const gen = ++drawing;
      const r: Range = range.range();
      const prev = previousPeriod(r);
      compare.textContent = `${fmtDate(r.from, ctx.tz)} – ${fmtDate(new Date(r.to.getTime() - 1), ctx.tz)}, compared with ${fmtDate(prev.from, ctx.tz)} – ${fmtDate(new Date(prev.to.getTime() - 1), ctx.tz)}. Funnel counts are kept per UTC day.`;
      if (defs === null) {
        loading(list, 'Loading the funnels');
        try {
          defs = (await ctx.api.get<{ funnels: FunnelDef[] }>('funnels', { limit: 100 })).funnels;
        } catch (e) {
          if (!ctx.live()) return;
          failed(list, e, () => void draw());
          ctx.whenBack(() => void draw());
          return;
        }
      }
      if (!ctx.live() || gen !== drawing) return;
      if (defs.length === 0) {
        empty(list, 'No funnel is defined yet.', 'The journey-builder writes the funnels of its funnels file (ANALYTICS_FUNNELS_FILE) when it starts.');
        return;
      }
      charts.forEach((c) => c.dispose());
      charts.length = 0;
      list.replaceChildren();
      for (const d of defs) {
        const p = panel(`Funnel: ${d.name}`, { wide: true });
        p.root.dataset.funnel = d.name;
        list.append(p.root);
        loading(p.body);
        void one(ctx, d, r, prev, p.body, charts, () => gen === drawing);
      }
    };
    await draw();
  },
};

async function one(ctx: Ctx, d: FunnelDef, r: Range, prev: Range, body: HTMLElement, charts: Chart[], current: () => boolean) {
  const params = { name: d.name, channel: channel || null, device: device || null };
  let now: FunnelReport;
  let before: FunnelReport | null = null;
  try {
    [now, before] = await Promise.all([
      ctx.api.get<FunnelReport>('funnel', { ...params, ...rangeParams(r) }),
      ctx.api.get<FunnelReport>('funnel', { ...params, ...rangeParams(prev) }).catch(() => null),
    ]);
  } catch (e) {
    if (ctx.live() && current()) {
      failed(body, e, () => void one(ctx, d, r, prev, body, charts, current));
      ctx.whenBack(() => void one(ctx, d, r, prev, body, charts, current));
    }
    return;
  }
  if (!ctx.live() || !current()) return;
  const rows = funnelRows(now, before);
  const first = rows[0]?.visitors ?? 0;
  if (rows.length === 0 || first === 0) {
    empty(body, `Nobody entered ${d.name} in this range${channel || device ? ' with these filters' : ''}.`, 'Try a longer range, or any channel and device.');
    return;
  }
  const worst = rows.find((x) => x.worst);
  const summary = h('div', { class: 'funnel-summary' },
    h('p', {}, h('strong', { class: 'big' }, fmtPct(now.overall_conversion)), ' of those who entered reached the last step',
      before?.overall_conversion !== null && before?.overall_conversion !== undefined
        ? h('span', { class: 'was' }, ` (${fmtPct(before.overall_conversion)} the period before)`) : null),
    worst ? h('p', { class: 'worst-note' }, h('span', { class: 'badge worst' }, 'Biggest drop-off'),
      ` ${fmtPct(worst.dropOffRate)} of those at the step before did not reach “${stepLabel(worst.name)}” (${fmtInt(worst.dropOff)} visitors).`) : null);
  const chartEl = h('div', { class: 'chart-box funnel-chart' });
  const chart = new Chart(chartEl, 'funnel');
  charts.push(chart);
  fill(body, h('div', { class: 'funnel-layout' }, h('div', {}, summary, chartEl), stepsTable(rows, d.name)));
  void chart.set(funnelOption(rows, d.name), `Funnel ${d.name}`);
}

function stepsTable(rows: FunnelRow[], name: string): HTMLElement {
  return table(rows, [
    { label: 'Step', cell: (x) => h('span', {}, `${x.step}. ${stepLabel(x.name)}`, x.worst ? h('span', { class: 'badge worst', title: 'the biggest drop-off' }, 'drop-off') : null) },
    { label: 'Visitors', cell: (x) => fmtInt(x.visitors), num: true },
    { label: 'From prev.', cell: (x) => (x.step === 1 ? '–' : fmtPct(x.conversionFromPrevious)), num: true, title: 'share of the previous step that reached this one' },
    { label: 'From first', cell: (x) => fmtPct(x.conversionFromFirst), num: true, optional: true },
    { label: 'Dropped off', cell: (x) => (x.dropOff === null ? '–' : x.dropOffRate === null ? fmtInt(x.dropOff) : `${fmtInt(x.dropOff)} (${fmtPct(x.dropOffRate)})`), num: true, title: 'visitors of the previous step who did not reach this one' },
    { label: 'Median time', cell: (x) => fmtDuration(x.medianSeconds), num: true, title: 'median time from the previous step', optional: true },
    { label: 'Period before', cell: (x) => (x.previousVisitors === null ? '–' : h('span', {}, fmtInt(x.previousVisitors), change(x))), num: true, optional: true },
  ], `Steps of the funnel ${name}`, (x) => (x.worst ? 'worst' : ''));
}

function change(x: FunnelRow): HTMLElement | null {
  const c = fmtChange(x.visitors, x.previousVisitors);
  if (!c) return null;
  return h('small', { class: `delta ${x.change !== null && x.change < 0 ? 'down' : 'up'}` }, ` ${c}`);
}
