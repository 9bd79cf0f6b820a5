// A funnel report (GET funnel) as table rows and an ECharts funnel chart:
// each step's visitors, conversion from the previous and the first step,
// drop-off, median time from the previous step, the same step in the
// previous period, and which step loses the most (the drop-off point).
import type { EChartsOption } from 'echarts';
import type { FunnelReport } from '../types';
import { BASE_OPTION, OKABE_ITO } from './palette';
import { fmtInt, fmtPct } from '../format';

export interface FunnelRow {
  step: number;
  name: string;
  visitors: number;
  conversionFromPrevious: number | null;
  conversionFromFirst: number | null;
  dropOff: number | null;
  dropOffRate: number | null;
  medianSeconds: number | null;
  previousVisitors: number | null;
  /** (visitors - previous) / previous; null without a previous period or when it had none. */
  change: number | null;
  /** The step whose arrivals were the smallest share of the step before: where most are lost. */
  worst: boolean;
}

export function funnelRows(report: FunnelReport, previous?: FunnelReport | null): FunnelRow[] {
  const steps = report.steps ?? [];
  const prev = new Map((previous?.steps ?? []).map((s) => [s.step, s.visitors]));
  let worst = -1;
  let worstRate = -1;
  for (const s of steps) {
    if (s.step > 1 && s.drop_off_rate !== null && s.drop_off_rate > worstRate) {
      worstRate = s.drop_off_rate;
      worst = s.step;
    }
  }
  return steps.map((s) => {
    const pv = previous ? (prev.get(s.step) ?? 0) : null;
    return {
      step: s.step,
      name: s.name,
      visitors: s.visitors,
      conversionFromPrevious: s.conversion_from_previous,
      conversionFromFirst: s.conversion_from_first,
      dropOff: s.drop_off,
      dropOffRate: s.drop_off_rate,
      medianSeconds: s.median_seconds_from_previous,
      previousVisitors: pv,
      change: pv !== null && pv > 0 ? (s.visitors - pv) / pv : null,
      worst: s.step === worst && worstRate > 0,
    };
  });
}

/** A step's name without its stage prefix ("interest: pricing viewed" → "Pricing viewed"). */
export function stepLabel(name: string): string {
  const i = name.indexOf(': ');
  const s = i > 0 ? name.slice(i + 2) : name;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function funnelOption(rows: FunnelRow[], title: string): EChartsOption {
  const max = rows.reduce((m, r) => Math.max(m, r.visitors), 0);
  return {
    ...BASE_OPTION,
    // One step stands out by colour, its badge and the text beside the chart: no decal patterns needed.
    aria: { enabled: true, label: { description: funnelDescription(rows, title) } },
    tooltip: {
      trigger: 'item',
      formatter: (p: unknown) => {
        const i = (p as { dataIndex: number }).dataIndex;
        const r = rows[i];
        if (!r) return '';
        const lines = [`<b>${escapeHtml(stepLabel(r.name))}</b>`, `${fmtInt(r.visitors)} visitors`];
        if (r.conversionFromPrevious !== null) lines.push(`${fmtPct(r.conversionFromPrevious)} of the step before`);
        if (r.dropOff !== null) lines.push(`${fmtInt(r.dropOff)} dropped off (${fmtPct(r.dropOffRate)})`);
        return lines.join('<br>');
      },
    },
    series: [
      {
        type: 'funnel',
        name: title,
        sort: 'none',
        min: 0,
        max: max || 1,
        minSize: '8%',
        left: 4,
        width: '52%',
        top: 8,
        bottom: 8,
        gap: 3,
        label: {
          show: true,
          position: 'right',
          color: '#1a1a1a',
          fontSize: 13,
          formatter: (p: unknown) => {
            const r = rows[(p as { dataIndex: number }).dataIndex];
            return r ? `${stepLabel(r.name)}: ${fmtInt(r.visitors)}` : '';
          },
        },
        labelLine: { show: true, length: 12, lineStyle: { color: '#8c8c8c' } },
        data: rows.map((r) => ({
          name: stepLabel(r.name),
          value: r.visitors,
          itemStyle: { color: r.worst ? OKABE_ITO.vermillion : OKABE_ITO.blue },
        })),
      },
    ],
  };
}

function funnelDescription(rows: FunnelRow[], title: string): string {
  const parts = rows.map((r) => `${stepLabel(r.name)} ${r.visitors} visitors`);
  const w = rows.find((r) => r.worst);
  return `Funnel ${title}: ${parts.join(', ')}.${w ? ` The biggest drop-off is before ${stepLabel(w.name)}.` : ''}`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
