// Journeys: how visitors move between stages (or touchpoints) as a Sankey
// chart with where they stop, the commonest paths, and one visitor's
// timeline. Last 30 days unless another range is chosen.
import type { Ctx, View } from '../context';
import { Chart } from '../charts';
import { enumWords, fmtDateTime, fmtDuration, fmtInt, fmtPct } from '../format';
import { rangeParams } from '../range';
import { conversionStageOf, sankeyOption, sankeyShape } from '../shape/flows';
import type { Flows, Journey } from '../types';
import { empty, failed, fill, h, loading, panel, table, visitorLink } from '../ui';
import { rangePicker } from './controls';

let mode: 'stages' | 'touchpoints' = 'stages';

export const journeysView: View = {
  title: 'Journeys',
  async render(root: HTMLElement, ctx: Ctx, params: string[]) {
    const range = rangePicker(() => void read(), '30d');
    const modeSel = h('select', { id: 'flow-mode' },
      h('option', { value: 'stages', selected: mode === 'stages' }, 'Stages'),
      h('option', { value: 'touchpoints', selected: mode === 'touchpoints' }, 'Touchpoints'));
    const flow = panel('Flow between stages', { wide: true });
    const summary = h('div', { class: 'kpis small' });
    const chartEl = h('div', { class: 'chart-box tall' });
    const back = h('div', { class: 'backward' });
    flow.body.append(summary, chartEl, back);
    const chart = new Chart(chartEl, 'sankey');
    ctx.onLeave(() => chart.dispose());
    const drops = panel('Where visitors stop');
    const paths = panel('Top paths');
    const one = panel("One visitor's timeline", { wide: true });
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Journeys'),
      h('div', { class: 'controls' }, range.root, h('span', { class: 'picker' }, h('label', { for: 'flow-mode' }, 'Show '), modeSel))),
    h('div', { class: 'grid' }, flow.root, drops.root, paths.root, one.root));

    let flows: Flows | null = null;
    const drawFlow = () => {
      if (!flows) return;
      const f = flows;
      const h2 = flow.root.querySelector('h2');
      if (h2) h2.textContent = mode === 'stages' ? 'Flow between stages' : 'Flow between touchpoints';
      fill(summary,
        fig('Visitors', fmtInt(f.visitors)), fig('Converted', fmtInt(f.converted)),
        fig('Conversion', f.visitors ? fmtPct(f.converted / f.visitors) : '–'));
      const shape = sankeyShape(f, mode);
      if (shape.links.length === 0) {
        chart.reset();
        empty(chartEl, 'No visitor moved between stages in this range.', 'A journey needs two touchpoints in the range to show a flow.');
        back.replaceChildren();
        return;
      }
      void chart.set(sankeyOption(shape, conversionStageOf(f), window.matchMedia('(max-width: 760px)').matches), mode === 'stages' ? 'Sankey chart of stage changes' : 'Sankey chart of touchpoints');
      back.replaceChildren();
      if (shape.backward.length) {
        back.append(h('p', { class: 'hint' }, 'Moves back to an earlier stage (not drawn, so the chart reads left to right): ',
          ...shape.backward.slice(0, 8).map((b, i) => h('span', {}, i ? ', ' : '', `${enumWords(b.source)} → ${enumWords(b.target)} `, h('strong', {}, fmtInt(b.value))))));
      }
      if (mode === 'stages') back.append(h('p', { class: 'hint' }, h('span', { class: 'swatch dropped', 'aria-hidden': 'true' }), ' “stopped at …”: visitors whose last stage in the range was that one.'));
    };
    modeSel.addEventListener('change', () => { mode = modeSel.value as typeof mode; drawFlow(); });

    const read = async () => {
      chart.reset();
      loading(chartEl, 'Loading the flows');
      loading(drops.body);
      loading(paths.body);
      try {
        flows = await ctx.api.get<Flows>('journeys/flows', rangeParams(range.range()));
      } catch (e) {
        if (!ctx.live()) return;
        for (const b of [chartEl, drops.body, paths.body]) failed(b, e, () => void read());
        ctx.whenBack(() => void read());
        return;
      }
      if (!ctx.live()) return;
      const f = flows;
      drawFlow();
      if (f.drop_offs.length === 0) empty(drops.body, 'Nobody stopped short of converting in this range.');
      else fill(drops.body, table(f.drop_offs, [
        { label: 'Last stage', cell: (d) => enumWords(d.stage) },
        { label: 'Visitors', cell: (d) => fmtInt(d.visitors), num: true },
        { label: 'Share', cell: (d) => (f.visitors ? fmtPct(d.visitors / f.visitors) : '–'), num: true },
      ], 'Visitors by the last stage they reached, conversions left out'));
      if (f.top_paths.length === 0) empty(paths.body, 'No journeys in this range.');
      else fill(paths.body, table(f.top_paths, [
        { label: 'Path', cell: (p) => h('span', { class: 'path' }, ...p.path.flatMap((s, i) => [i ? h('span', { class: 'arrow', 'aria-label': 'then' }, ' → ') : null, enumWords(s)])) },
        { label: 'Visitors', cell: (p) => fmtInt(p.visitors), num: true },
      ], 'The commonest sequences of stages'));
    };

    timeline(ctx, one.body, params[0] ?? '');
    await read();
  },
};

function fig(label: string, value: string): HTMLElement {
  return h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, label), h('span', { class: 'kpi-value' }, value));
}

/** A form for a fingerprint, and that visitor's journey as a timeline. */
function timeline(ctx: Ctx, body: HTMLElement, initial: string) {
  const input = h('input', { id: 'tl-fp', type: 'search', placeholder: 'fingerprint, e.g. fp-0123…', value: initial, autocomplete: 'off', spellcheck: 'false' });
  const out = h('div', { class: 'timeline-out' });
  const form = h('form', { class: 'inline-form' }, h('label', { for: 'tl-fp' }, 'Visitor '), input, h('button', { type: 'submit' }, 'Show journey'));
  body.append(form, out);
  const show = async (fp: string) => {
    if (!fp) {
      empty(out, 'Enter a visitor’s fingerprint to see their journey, or open one from Visitors.');
      return;
    }
    loading(out);
    try {
      const j = await ctx.api.get<Journey>('journeys', { fingerprint: fp, limit: 200 });
      if (!ctx.live()) return;
      fill(out,
        h('p', {}, visitorLink(j.fingerprint), ` is at stage `, h('strong', {}, enumWords(j.stage)), ` after ${fmtInt(j.touchpoints)} touchpoints.`),
        h('ol', { class: 'timeline' }, ...j.journey.map((s) => h('li', { class: s.stage !== s.previous_stage && s.previous_stage ? 'stage-change' : '' },
          h('time', { datetime: s.occurred_at }, fmtDateTime(s.occurred_at, ctx.tz)),
          h('span', { class: 'badge' }, enumWords(s.stage)),
          h('span', {}, enumWords(s.touchpoint)),
          s.page_url ? h('span', { class: 'url', title: s.page_url }, s.page_url.replace(/^https?:\/\//, '')) : null,
          s.time_spent_s ? h('span', { class: 'meta' }, fmtDuration(s.time_spent_s)) : null))),
        j.next_cursor ? h('p', { class: 'hint' }, 'The first 200 touchpoints.') : null);
    } catch (e) {
      if (ctx.live()) failed(out, e);
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void show(input.value.trim());
  });
  void show(initial);
}
