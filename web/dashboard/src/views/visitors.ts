// Visitors: the best leads now, the visitors at risk of not coming back,
// the personas, and (#/visitors/<fingerprint>) one visitor's insight page:
// profile, scores with their reasons, score history, sessions, journey and
// predictions, the score updated live from the scores channel.
import type { Ctx, View } from '../context';
import { ApiError } from '../api';
import { Chart } from '../charts';
import { enumWords, fmtAgo, fmtDateTime, fmtInt, fmtPct, fmtValue } from '../format';
import { scoreHistoryOption } from '../shape/series';
import type { AtRisk, Insights, Lead, Prediction, ScoreUpdate, Segment } from '../types';
import { empty, failed, fill, h, kpi, loading, meter, panel, table, visitorLink } from '../ui';

export const visitorsView: View = {
  title: 'Visitors',
  async render(root: HTMLElement, ctx: Ctx, params: string[]) {
    if (params[0]) {
      await visitorPage(root, ctx, params[0]);
      return;
    }
    const input = h('input', { id: 'open-fp', type: 'search', placeholder: 'fingerprint', autocomplete: 'off', spellcheck: 'false' });
    const open = h('form', { class: 'inline-form' }, h('label', { for: 'open-fp' }, 'Open a visitor '), input, h('button', { type: 'submit' }, 'Open'));
    open.addEventListener('submit', (e) => {
      e.preventDefault();
      if (input.value.trim()) location.hash = `#/visitors/${encodeURIComponent(input.value.trim())}`;
    });
    const leads = panel('Best leads now', { wide: true });
    const churn = panel('At risk of not coming back', { wide: true });
    const personas = panel('Personas', { wide: true });
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Visitors'), open), h('div', { class: 'grid' }, leads.root, churn.root, personas.root));
    await Promise.all([leadsList(ctx, leads.body), churnList(ctx, churn.body), personaList(ctx, personas.body)]);
  },
};

/** A paged list: first page drawn, a "Show more" button for the next (by next_cursor). */
async function paged<T>(ctx: Ctx, body: HTMLElement, path: string, key: string, params: Record<string, string | number>,
  draw: (rows: T[]) => HTMLElement, none: () => void): Promise<void> {
  const rows: T[] = [];
  let cursor: string | null = null;
  const more = h('button', { type: 'button', class: 'secondary' }, 'Show more');
  const page = async (first: boolean) => {
    if (first) loading(body);
    more.disabled = true;
    try {
      const a = await ctx.api.get<Record<string, unknown>>(path, { ...params, cursor });
      if (!ctx.live()) return;
      rows.push(...((a[key] as T[] | undefined) ?? []));
      cursor = (a.next_cursor as string | null | undefined) ?? null;
      if (rows.length === 0) {
        none();
        return;
      }
      fill(body, draw(rows), cursor ? more : null);
      more.disabled = false;
    } catch (e) {
      if (!ctx.live()) return;
      failed(body, e, () => void page(rows.length === 0));
      ctx.whenBack(() => void page(rows.length === 0));
    }
  };
  more.addEventListener('click', () => void page(false));
  await page(true);
}

function reasonsText(r: string[] | null | undefined, n = 2): string {
  return (r ?? []).slice(0, n).join('; ') || '–';
}

function leadsList(ctx: Ctx, body: HTMLElement) {
  return paged<Lead>(ctx, body, 'leads', 'leads', { limit: 15 }, (rows) => table(rows, [
    { label: 'Visitor', cell: (l) => visitorLink(l.fingerprint) },
    { label: 'Lead score', cell: (l) => meter(l.lead_score / 100, String(l.lead_score), 'score') },
    { label: 'Conversion chance', cell: (l) => fmtPct(l.conversion_probability), num: true, optional: true },
    { label: 'Persona', cell: (l) => l.persona ?? '–' },
    { label: 'Stage', cell: (l) => enumWords(l.journey_stage), optional: true },
    { label: 'Why', cell: (l) => h('span', { class: 'reasons', title: (l.reasons ?? []).join('\n') }, reasonsText(l.reasons)), optional: true },
    { label: 'Last seen', cell: (l) => h('span', { title: fmtDateTime(l.last_seen_at, ctx.tz) }, fmtAgo(l.last_seen_at)) },
  ], 'Visitors by lead score, best first'), () => empty(body, 'No visitor has been scored yet.', 'The scorer scores each visitor from their first event.'));
}

function churnList(ctx: Ctx, body: HTMLElement) {
  return paged<AtRisk>(ctx, body, 'churn', 'visitors', { limit: 15, min_risk: 0.5 }, (rows) => table(rows, [
    { label: 'Visitor', cell: (v) => visitorLink(v.fingerprint) },
    { label: 'Churn risk', cell: (v) => meter(v.churn_risk, fmtPct(v.churn_risk), 'risk') },
    { label: 'Still active (p)', cell: (v) => fmtPct(v.p_alive), num: true, title: 'probability the visitor is still a customer (BG/NBD)', optional: true },
    { label: 'Visits expected', cell: (v) => fmtValue(v.expected_visits), num: true, title: 'expected visits in the model\'s horizon', optional: true },
    { label: 'Lead score', cell: (v) => fmtInt(v.lead_score), num: true },
    { label: 'Persona', cell: (v) => v.persona ?? '–', optional: true },
    { label: 'Bookings', cell: (v) => fmtInt(v.bookings_completed), num: true, optional: true },
    { label: 'Last seen', cell: (v) => h('span', { title: fmtDateTime(v.last_seen_at, ctx.tz) }, fmtAgo(v.last_seen_at)) },
  ], 'Visitors with a churn risk of 50% or more, riskiest first'), () => empty(body, 'No visitor is at risk (churn risk 50% or more).'));
}

async function personaList(ctx: Ctx, body: HTMLElement) {
  loading(body);
  try {
    const a = await ctx.api.get<{ segments: Segment[]; profiles_with_segment: number }>('segments', { limit: 50 });
    if (!ctx.live()) return;
    if (a.segments.length === 0) {
      empty(body, 'No personas: the persona model is not loaded and no profile has one.');
      return;
    }
    fill(body, h('ul', { class: 'personas' }, ...a.segments.map((s) => h('li', { class: 'persona' },
      h('h3', {}, s.name),
      meter(s.share, `${fmtInt(s.size)} visitors · ${fmtPct(s.share)}`),
      h('p', { class: 'hint' }, s.description ?? (s.in_model ? '' : 'Not in the current persona model (from an older one).'))))));
  } catch (e) {
    if (!ctx.live()) return;
    failed(body, e, () => void personaList(ctx, body));
    ctx.whenBack(() => void personaList(ctx, body));
  }
}

// ---- one visitor ----

async function visitorPage(root: HTMLElement, ctx: Ctx, fp: string) {
  const head = h('div', { class: 'view-head' }, h('h1', {}, h('a', { href: '#/visitors', class: 'up' }, 'Visitors'), ' / ', h('span', { class: 'mono fp' }, fp)));
  const body = h('div', {});
  fill(root, head, body);
  loading(body, 'Loading this visitor');
  let ins: Insights;
  try {
    ins = await ctx.api.get<Insights>(`insights/${encodeURIComponent(fp)}`);
  } catch (e) {
    if (!ctx.live()) return;
    if (e instanceof ApiError && e.kind === 'not_found') {
      empty(body, `No visitor with the fingerprint ${fp}.`, 'A visitor has a profile once the scorer has seen one of their events.');
    } else {
      failed(body, e, () => void visitorPage(root, ctx, fp));
      ctx.whenBack(() => void visitorPage(root, ctx, fp));
    }
    return;
  }
  if (!ctx.live()) return;
  const s = ins.scores;
  const score = kpi('Lead score', 'of 100');
  const conv = kpi('Conversion chance');
  const risk = kpi('Churn risk');
  const alive = kpi('Still active (p)');
  const persona = h('span', { class: 'badge persona-badge', 'data-testid': 'persona' }, ins.persona ?? 'no persona yet');
  score.root.dataset.testid = 'lead-score';
  const setScores = (lead: number, cp: number | null, cr: number | null) => {
    score.set(String(lead));
    conv.set(fmtPct(cp));
    risk.set(fmtPct(cr));
  };
  setScores(s.lead_score, s.conversion_probability, s.churn_risk);
  alive.set(fmtPct(s.p_alive), s.expected_visits !== null ? `${fmtValue(s.expected_visits)} visits expected` : '');
  const live = h('p', { class: 'hint', role: 'status' }, 'Updated live as the scorer scores new events.');
  const reasons = h('ul', { class: 'reasons-list' }, ...(s.reasons ?? []).map((r) => h('li', {}, r)));
  const summary = panel('Scores', { wide: true });
  summary.body.append(h('p', { class: 'who' }, 'Persona ', persona, ' · stage ', h('strong', {}, enumWords(ins.journey_stage)),
    ins.user_id ? h('span', {}, ' · user ', h('span', { class: 'mono' }, ins.user_id)) : null),
  h('div', { class: 'kpis' }, score.root, conv.root, risk.root, alive.root),
  h('h3', {}, 'Why this score'), (s.reasons ?? []).length ? reasons : h('p', { class: 'hint' }, 'No reasons given.'), live);

  const history = panel('Score history', { wide: true });
  const chartEl = h('div', { class: 'chart-box' });
  history.body.append(chartEl);
  const chart = new Chart(chartEl, 'lines');
  ctx.onLeave(() => chart.dispose());
  const preds: Prediction[] = [...ins.predictions];
  const drawHistory = () => {
    if (preds.length === 0) {
      chart.reset();
      empty(chartEl, 'No predictions yet.');
    }
    else void chart.set(scoreHistoryOption(preds), 'Lead score and churn risk over time');
  };

  const p = ins.profile;
  const profile = panel('Profile');
  profile.body.append(h('dl', { class: 'facts' }, ...([
    ['First seen', fmtDateTime(p.first_seen_at, ctx.tz)], ['Last seen', `${fmtDateTime(p.last_seen_at, ctx.tz)} (${fmtAgo(p.last_seen_at)})`],
    ['Sessions', fmtInt(p.sessions)], ['Events', fmtInt(p.events)], ['Page views', fmtInt(p.page_views)],
    ['Pricing views', fmtInt(p.pricing_views)], ['Bookings', `${fmtInt(p.bookings_completed)} of ${fmtInt(p.bookings_started)} started`],
    ['Forms started', fmtInt(p.forms_started)], ['Rage clicks', fmtInt(p.rage_clicks)], ['Exit intents', fmtInt(p.exit_intents)],
    ['Deepest scroll', `${fmtInt(p.deepest_scroll)}%`], ['Returning', p.returning_visitor ? 'yes' : 'no'],
    ['First channel', enumWords(p.first_channel)], ['First device', enumWords(p.first_device)],
  ] as [string, string][]).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));

  const sessions = panel('Sessions');
  if (ins.sessions.length === 0) empty(sessions.body, 'No sessions recorded yet.');
  else sessions.body.append(table(ins.sessions, [
    { label: 'Started', cell: (x) => fmtDateTime(x.started_at, ctx.tz) },
    { label: 'Pages', cell: (x) => fmtInt(x.page_views), num: true },
    { label: 'Converted', cell: (x) => (x.converted ? 'yes' : 'no') },
  ], 'This visitor\'s sessions, latest first'));

  const journey = panel('Journey');
  if (ins.journey.length === 0) empty(journey.body, 'No journey yet.');
  else journey.body.append(h('ol', { class: 'timeline' }, ...ins.journey.map((j) => h('li', {},
    h('time', { datetime: j.occurred_at }, fmtDateTime(j.occurred_at, ctx.tz)),
    h('span', { class: 'badge' }, enumWords(j.stage)), h('span', {}, enumWords(j.touchpoint))))),
  h('p', {}, h('a', { href: `#/journeys/${encodeURIComponent(fp)}` }, 'Open in Journeys')));

  const predictions = panel('Predictions', { wide: true });
  const drawPredictions = () => {
    const recent = [...preds].sort((a, b) => Date.parse(b.predicted_at) - Date.parse(a.predicted_at)).slice(0, 20);
    if (recent.length === 0) {
      empty(predictions.body, 'No predictions yet.');
      return;
    }
    fill(predictions.body, table(recent, [
      { label: 'When', cell: (x) => fmtDateTime(x.predicted_at, ctx.tz) },
      { label: 'Lead score', cell: (x) => fmtInt(x.lead_score), num: true },
      { label: 'Conversion', cell: (x) => fmtPct(x.conversion_probability), num: true, optional: true },
      { label: 'Churn risk', cell: (x) => fmtPct(x.churn_risk), num: true },
      { label: 'Persona', cell: (x) => x.segment ?? '–' },
      { label: 'Top reason', cell: (x) => reasonsText(x.reasons, 1), optional: true },
    ], 'This visitor\'s latest predictions'));
  };
  fill(body, h('div', { class: 'grid' }, summary.root, history.root, profile.root, sessions.root, journey.root, predictions.root));
  drawHistory();
  drawPredictions();

  const unsub = ctx.socket.subscribe('scores', {
    onMessage: (d) => {
      const u = d as ScoreUpdate;
      if (!ctx.live() || u.fingerprint !== fp) return;
      setScores(u.lead_score, u.conversion_probability, u.churn_risk);
      if (u.segment) persona.textContent = u.segment;
      if (u.reasons?.length) reasons.replaceChildren(...u.reasons.map((r) => h('li', {}, r)));
      preds.push({ predicted_at: new Date(u.ts_ms).toISOString(), lead_score: u.lead_score, conversion_probability: u.conversion_probability,
        churn_risk: u.churn_risk, segment: u.segment || null, reasons: u.reasons ?? null, model_version: '' });
      drawHistory();
      drawPredictions();
      live.textContent = `Score updated live at ${fmtDateTime(u.ts_ms, ctx.tz)}.`;
      ctx.announce(`Lead score now ${u.lead_score}`);
    },
  }, { fingerprint: fp });
  ctx.onLeave(unsub);
}
