// The data shaping of the dashboard (API answers to table rows and ECharts
// options), as plain functions: funnels, flows for the Sankey chart, time
// series, the live feed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { funnelOption, funnelRows, stepLabel } from '../src/shape/funnel';
import { acyclic, conversionStageOf, droppedNode, sankeyOption, sankeyShape } from '../src/shape/flows';
import { eventsPerMinuteOption, groupLabel, groupsOption, scoreHistoryOption } from '../src/shape/series';
import { eventDetail, feedItem, feedMatches, pushFeed } from '../src/shape/feed';
import type { Flows, FunnelReport, FunnelStep } from '../src/types';

function step(n: number, visitors: number, prev: number | null): FunnelStep {
  return {
    step: n, name: `stage: step ${n}`, visitors, attempts: visitors, sessions: visitors,
    conversion_from_previous: prev === null ? null : prev > 0 ? visitors / prev : null,
    conversion_from_first: null, drop_off: prev === null ? null : prev - visitors,
    drop_off_rate: prev === null ? null : prev > 0 ? (prev - visitors) / prev : null,
    median_seconds_from_previous: prev === null ? null : 30 * n, inferred: 0, abandoned: 0, exact: true,
  };
}

function report(v: number[]): FunnelReport {
  return {
    funnel: 'booking', from: '', to: '', channel: null, device: null,
    overall_conversion: v[0] ? (v.at(-1) ?? 0) / v[0] : null,
    steps: v.map((x, i) => step(i + 1, x, i === 0 ? null : (v[i - 1] ?? 0))),
  };
}

test('funnelRows: the step losing the biggest share is the worst, and only it', () => {
  const rows = funnelRows(report([1000, 400, 60, 30]));
  assert.deepEqual(rows.map((r) => r.worst), [false, false, true, false]); // 85% lost before step 3
  assert.equal(rows[2]?.dropOff, 340);
  assert.equal(rows[1]?.medianSeconds, 60);
  assert.equal(rows[0]?.change, null, 'no previous period given');
});

test('funnelRows: against the previous period, a step it lacked has no change', () => {
  const rows = funnelRows(report([200, 100, 50]), report([100, 100]));
  assert.deepEqual(rows.map((r) => r.previousVisitors), [100, 100, 0]);
  assert.deepEqual(rows.map((r) => r.change), [1, 0, null]);
});

test('funnelRows: an empty funnel marks no drop-off point', () => {
  const rows = funnelRows(report([0, 0, 0]));
  assert.ok(rows.every((r) => !r.worst));
  assert.deepEqual(funnelRows({ ...report([]), steps: null }), []);
});

test('funnelOption: one funnel series in step order, the worst step in vermillion', () => {
  const rows = funnelRows(report([1000, 400, 60]));
  const o = funnelOption(rows, 'booking') as { series: { type: string; sort: string; data: { name: string; value: number; itemStyle: { color: string } }[] }[] };
  const s = o.series[0];
  assert.equal(s?.type, 'funnel');
  assert.equal(s?.sort, 'none', 'steps keep their order, not sorted by size');
  assert.deepEqual(s?.data.map((d) => d.value), [1000, 400, 60]);
  assert.deepEqual(s?.data.map((d) => d.itemStyle.color), ['#0072B2', '#0072B2', '#D55E00']);
  assert.equal(s?.data[0]?.name, 'Step 1');
});

test('stepLabel drops the stage prefix', () => {
  assert.equal(stepLabel('interest: pricing viewed'), 'Pricing viewed');
  assert.equal(stepLabel('signed up'), 'Signed up');
});

const flows: Flows = {
  from: '', to: '', visitors: 100, converted: 10,
  stages: [
    { source: 'awareness', target: 'interest', transitions: 60, visitors: 60 },
    { source: 'interest', target: 'consideration', transitions: 30, visitors: 30 },
    { source: 'consideration', target: 'interest', transitions: 12, visitors: 12 },
    { source: 'consideration', target: 'conversion', transitions: 10, visitors: 10 },
    { source: 'interest', target: 'awareness', transitions: 5, visitors: 5 },
    { source: 'awareness', target: 'awareness', transitions: 3, visitors: 3 },
  ],
  touchpoints: [
    { source: 'home_page', target: 'pricing_page', transitions: 9, visitors: 9 },
    { source: 'pricing_page', target: 'home_page', transitions: 4, visitors: 4 },
  ],
  drop_offs: [{ stage: 'interest', visitors: 40 }, { stage: 'awareness', visitors: 30 }, { stage: 'consideration', visitors: 0 }],
  top_paths: [],
};

test('acyclic: flows back to an earlier stage are left out, the biggest kept first', () => {
  const { kept, backward } = acyclic(flows.stages);
  assert.deepEqual(kept.map((l) => `${l.source}>${l.target}`), ['awareness>interest', 'interest>consideration', 'consideration>conversion']);
  assert.deepEqual(backward.map((l) => `${l.source}>${l.target}:${l.value}`), ['consideration>interest:12', 'interest>awareness:5']);
});

test('acyclic: what is kept never has a cycle, whatever the input', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let round = 0; round < 50; round++) {
    const fl = Array.from({ length: 12 }, () => ({
      source: names[Math.floor(rnd() * 5)] as string, target: names[Math.floor(rnd() * 5)] as string,
      transitions: 1, visitors: 1 + Math.floor(rnd() * 50),
    }));
    const { kept, backward } = acyclic(fl);
    assert.equal(kept.length + backward.length, fl.filter((f) => f.source !== f.target).length);
    // a topological order exists: repeatedly remove nodes without incoming links
    const links = [...kept];
    const left = new Set(kept.flatMap((l) => [l.source, l.target]));
    while (left.size) {
      const free = [...left].find((n) => !links.some((l) => l.target === n && left.has(l.source)));
      assert.ok(free !== undefined, `a cycle in ${JSON.stringify(kept)}`);
      left.delete(free);
    }
  }
});

test('sankeyShape: stages with a drop-off node per stage; touchpoints without', () => {
  const s = sankeyShape(flows, 'stages');
  assert.ok(s.links.some((l) => l.source === 'interest' && l.target === droppedNode('interest') && l.value === 40));
  assert.ok(!s.nodes.includes(droppedNode('consideration')), 'no node for a stage nobody stopped at');
  assert.equal(new Set(s.nodes).size, s.nodes.length);
  for (const l of s.links) assert.ok(s.nodes.includes(l.source) && s.nodes.includes(l.target));
  const t = sankeyShape(flows, 'touchpoints');
  assert.deepEqual(t.links, [{ source: 'home_page', target: 'pricing_page', value: 9 }]);
  assert.equal(t.backward.length, 1);
});

test('sankeyOption: the conversion stage green, drop-offs vermillion', () => {
  const o = sankeyOption(sankeyShape(flows, 'stages'), conversionStageOf(flows)) as { series: { data: { name: string; itemStyle: { color: string } }[] }[] };
  const color = (n: string) => o.series[0]?.data.find((d) => d.name === n)?.itemStyle.color;
  assert.equal(conversionStageOf(flows), 'conversion');
  assert.equal(color('conversion'), '#009E73');
  assert.equal(color(droppedNode('awareness')), '#D55E00');
  assert.notEqual(color('awareness'), '#009E73');
});

test('eventsPerMinuteOption: one bar a minute, the current one paler', () => {
  const epm = Array.from({ length: 30 }, (_, i) => ({ minute: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString(), events: i }));
  const o = eventsPerMinuteOption(epm, 'UTC') as { xAxis: { data: string[] }; series: { data: { value: number; itemStyle: { color: string } }[] }[] };
  assert.equal(o.xAxis.data.length, 30);
  assert.equal(o.xAxis.data[0], '10:00');
  assert.equal(o.series[0]?.data[29]?.value, 29);
  assert.notEqual(o.series[0]?.data[29]?.itemStyle.color, o.series[0]?.data[28]?.itemStyle.color);
});

test('scoreHistoryOption: oldest first, churn risk as a percentage', () => {
  const o = scoreHistoryOption([
    { predicted_at: '2026-01-02T00:00:00Z', lead_score: 60, conversion_probability: 0.6, churn_risk: 0.25, segment: null, reasons: null, model_version: 'm' },
    { predicted_at: '2026-01-01T00:00:00Z', lead_score: 20, conversion_probability: 0.2, churn_risk: null, segment: null, reasons: null, model_version: 'm' },
  ]) as { series: { data: [string, number][] }[]; xAxis: { min: number; max: number } };
  assert.deepEqual(o.series[0]?.data.map((d) => d[1]), [20, 60]);
  assert.ok(o.xAxis.min < Date.parse('2026-01-01T00:00:00Z') && o.xAxis.max > Date.parse('2026-01-02T00:00:00Z'));
  const one = scoreHistoryOption([{ predicted_at: '2026-01-02T00:00:00Z', lead_score: 5, conversion_probability: null, churn_risk: null, segment: null, reasons: null, model_version: 'm' }]) as { xAxis: { min: number; max: number } };
  assert.equal(one.xAxis.max - one.xAxis.min, 20 * 60_000, 'one prediction: twenty minutes around it');
  assert.deepEqual(o.series[1]?.data, [['2026-01-02T00:00:00Z', 25]]);
});

test('groupsOption and groupLabel: biggest on top, enums as words, none as unknown', () => {
  const groups = [
    { key: 'organic_search', sessions: 50, visitors: 40, bounced: 1, converted: 5, bounce_rate: 0, conversion_rate: 0, avg_duration_s: 0, page_views: 0, revenue: 0 },
    { key: null, sessions: 5, visitors: 5, bounced: 1, converted: 0, bounce_rate: 0, conversion_rate: 0, avg_duration_s: 0, page_views: 0, revenue: 0 },
    { key: 'direct', sessions: 80, visitors: 70, bounced: 1, converted: 2, bounce_rate: 0, conversion_rate: 0, avg_duration_s: 0, page_views: 0, revenue: 0 },
  ];
  const o = groupsOption(groups, 'channel') as { yAxis: { data: string[] }; series: { data: number[] }[] };
  assert.deepEqual(o.yAxis.data, ['unknown', 'organic search', 'direct'], 'ECharts draws the first category at the bottom');
  assert.deepEqual(o.series[0]?.data, [5, 50, 80]);
  assert.equal(groupLabel('FR', 'country'), 'FR');
});

const event = {
  event_id: 'e1', event_type: 'click', fingerprint: 'fp-1', event_ts_ms: 1000,
  page_url: 'https://shop.example/pricing?x=1', event_data_json: '{"element":"cta","text":"Book a repair"}',
  ua: { device_type: 'DEVICE_TYPE_MOBILE' }, geo: { country_code: 'FR' },
  campaign: { channel: 'CHANNEL_ORGANIC_SEARCH' }, page: { host: 'shop.example', path: '/pricing' },
};

test('feedItem: the enriched event as a feed row', () => {
  assert.deepEqual(feedItem(event), {
    id: 'e1', at: 1000, type: 'click', fingerprint: 'fp-1', page: 'shop.example/pricing', country: 'FR',
    device: 'mobile', channel: 'organic search', detail: 'Book a repair',
  });
  assert.equal(feedItem({ event_id: 'e2', event_type: 'page_view', fingerprint: 'f' }).page, '');
});

test('eventDetail: per type, and nothing from bad JSON', () => {
  assert.equal(eventDetail({ ...event, event_type: 'scroll', event_data_json: '{"depth_pct":75}' }), '75% down');
  assert.equal(eventDetail({ ...event, event_type: 'rage_click', event_data_json: '{"element":"price","clicks":5}' }), 'price ×5');
  assert.equal(eventDetail({ ...event, event_type: 'booking_completed', event_data_json: '{"service":"screen","value":89,"currency":"EUR"}' }), 'screen, 89 EUR');
  assert.equal(eventDetail({ ...event, event_data_json: '{not json' }), '');
  assert.equal(eventDetail({ ...event, event_data_json: '[1,2]' }), '');
});

test('feedMatches and pushFeed: filters, newest first, no duplicates, bounded', () => {
  const a = feedItem(event);
  assert.ok(feedMatches(a, { type: '', country: '', text: '' }));
  assert.ok(feedMatches(a, { type: 'click', country: 'fr', text: 'PRICING' }));
  assert.ok(!feedMatches(a, { type: 'page_view', country: '', text: '' }));
  assert.ok(!feedMatches(a, { type: '', country: 'DE', text: '' }));
  assert.ok(feedMatches(a, { type: '', country: '', text: 'fp-1' }));
  const items = [1, 2, 3].map((i) => ({ ...a, id: `e${i}` }));
  const f = pushFeed([], items, 10);
  assert.deepEqual(f.map((i) => i.id), ['e3', 'e2', 'e1']);
  assert.deepEqual(pushFeed(f, [{ ...a, id: 'e3' }, { ...a, id: 'e4' }], 3).map((i) => i.id), ['e4', 'e3', 'e2']);
});

test('heatmapOption: cells as [column, row, clicks], rows down to the lowest click, the top first', async () => {
  const { heatmapOption, heatmapRows } = await import('../src/shape/heatmap');
  const c = { from: '', to: '', page: 'p', columns: 20, row_px: 100, rows: 100, clicks: 4,
    pages: [], cells: [{ column: 0, row: 0, clicks: 2 }, { column: 19, row: 24, clicks: 1 }, { column: 3, row: 2, clicks: 1 }] };
  assert.equal(heatmapRows(c), 25);
  assert.equal(heatmapRows({ ...c, cells: [] }), 10, 'at least a screen');
  const o = heatmapOption(c) as { yAxis: { inverse: boolean; data: string[] }; xAxis: { data: string[] }; visualMap: { max: number }; series: { data: number[][] }[] };
  assert.equal(o.yAxis.inverse, true);
  assert.equal(o.yAxis.data.length, 25);
  assert.equal(o.yAxis.data[24], '2400 px');
  assert.equal(o.xAxis.data.length, 20);
  assert.equal(o.visualMap.max, 2);
  assert.deepEqual(o.series[0]?.data, [[0, 0, 2], [19, 24, 1], [3, 2, 1]]);
});

test('sankeyOption on a phone: room for names cut to fit', () => {
  const o = sankeyOption(sankeyShape(flows, 'stages'), null, true) as { series: { right: number; label: { overflow: string } }[] };
  assert.equal(o.series[0]?.right, 72);
  assert.equal(o.series[0]?.label.overflow, 'truncate');
  assert.equal((sankeyOption(sankeyShape(flows, 'stages'), null) as { series: { right: number }[] }).series[0]?.right, 150);
});
