// Time series and groups as ECharts options: events per minute (live), a
// visitor's score history, and sessions per channel, device or country.
import type { EChartsOption } from 'echarts';
import type { Prediction, SessionGroup } from '../types';
import { BASE_OPTION, OKABE_ITO } from './palette';
import { enumWords, fmtTime } from '../format';

/** The last 30 minutes' events per minute as bars, minutes in local time. */
export function eventsPerMinuteOption(epm: { minute: string; events: number }[], timeZone?: string): EChartsOption {
  const labels = epm.map((m) => fmtTime(m.minute, timeZone, false));
  return {
    ...BASE_OPTION,
    animation: false,
    aria: { enabled: true, decal: { show: false }, label: { description: `Events per minute over the last ${epm.length} minutes, ${epm.at(-1)?.events ?? 0} in the current one.` } },
    grid: { left: 44, right: 12, top: 16, bottom: 28 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: labels, axisTick: { alignWithLabel: true }, axisLabel: { interval: 4 } },
    yAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: '#e6e6e6' } } },
    series: [
      {
        type: 'bar',
        name: 'events',
        data: epm.map((m, i) => ({
          value: m.events,
          // the current minute is still filling: paler, so it does not read as a drop
          itemStyle: { color: i === epm.length - 1 ? OKABE_ITO.sky : OKABE_ITO.blue },
        })),
        barCategoryGap: '20%',
      },
    ],
  };
}

/** A visitor's lead score and churn risk over time (predictions oldest first). */
export function scoreHistoryOption(preds: Prediction[]): EChartsOption {
  const sorted = [...preds].sort((a, b) => Date.parse(a.predicted_at) - Date.parse(b.predicted_at));
  // A few predictions close together: a span around them, not days of axis.
  const first = Date.parse(sorted[0]?.predicted_at ?? '') || Date.now();
  const last = Date.parse(sorted.at(-1)?.predicted_at ?? '') || first;
  const pad = Math.max(10 * 60_000, (last - first) * 0.05);
  return {
    ...BASE_OPTION,
    aria: { enabled: true, decal: { show: true }, label: { description: `Lead score over ${sorted.length} predictions, latest ${sorted.at(-1)?.lead_score ?? 'none'}.` } },
    grid: { left: 40, right: 48, top: 36, bottom: 30 },
    legend: { top: 0, data: ['lead score', 'churn risk %'] },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'time', min: first - pad, max: last + pad },
    yAxis: [
      { type: 'value', min: 0, max: 100, name: 'score', nameGap: 8, splitLine: { lineStyle: { color: '#e6e6e6' } } },
      { type: 'value', min: 0, max: 100, name: 'risk %', nameGap: 8, splitLine: { show: false } },
    ],
    series: [
      {
        type: 'line',
        name: 'lead score',
        step: 'end',
        symbolSize: 6,
        color: OKABE_ITO.blue,
        data: sorted.map((p) => [p.predicted_at, p.lead_score]),
      },
      {
        type: 'line',
        name: 'churn risk %',
        yAxisIndex: 1,
        step: 'end',
        symbol: 'triangle',
        symbolSize: 6,
        color: OKABE_ITO.orange,
        lineStyle: { type: 'dashed' },
        data: sorted.filter((p) => p.churn_risk !== null).map((p) => [p.predicted_at, Math.round((p.churn_risk ?? 0) * 1000) / 10]),
      },
    ],
  };
}

/** A group's name for people: channels and devices as words, "unknown" for none. */
export function groupLabel(key: string | null, groupBy: string): string {
  if (key === null || key === '') return 'unknown';
  return groupBy === 'country' ? key : enumWords(key);
}

/** Sessions per group as horizontal bars, biggest on top, at most limit groups. */
export function groupsOption(groups: SessionGroup[], groupBy: string, limit = 10): EChartsOption {
  const top = [...groups].sort((a, b) => b.sessions - a.sessions).slice(0, limit).reverse();
  return {
    ...BASE_OPTION,
    aria: { enabled: true, decal: { show: true }, label: { description: `Sessions by ${groupBy}: ${[...top].reverse().map((g) => `${groupLabel(g.key, groupBy)} ${g.sessions}`).join(', ')}.` } },
    grid: { left: 110, right: 24, top: 8, bottom: 24 },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', minInterval: 1, splitLine: { lineStyle: { color: '#e6e6e6' } } },
    yAxis: { type: 'category', data: top.map((g) => groupLabel(g.key, groupBy)), axisLabel: { width: 100, overflow: 'truncate' } },
    series: [
      { type: 'bar', name: 'sessions', data: top.map((g) => g.sessions), color: OKABE_ITO.blue, barMaxWidth: 22 },
      { type: 'bar', name: 'converted', data: top.map((g) => g.converted), color: OKABE_ITO.green, barMaxWidth: 22 },
    ],
  };
}
