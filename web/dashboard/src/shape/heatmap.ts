// One page's clicks (GET clicks?page=) as an ECharts heatmap: the page's
// width in the route's columns, its length in rows of row_px pixels, down
// to the lowest row clicked (at least a screen's worth), the top at the top.
import type { EChartsOption } from 'echarts';
import type { Clicks } from '../types';
import { BASE_OPTION } from './palette';

/** Rows to draw: down to the lowest clicked, at least min. */
export function heatmapRows(c: Clicks, min = 10): number {
  return Math.max(min, ...c.cells.map((x) => x.row + 1));
}

export function heatmapOption(c: Clicks): EChartsOption {
  const rows = heatmapRows(c);
  const max = Math.max(1, ...c.cells.map((x) => x.clicks));
  return {
    ...BASE_OPTION,
    aria: { enabled: true, label: { description: `${c.clicks} clicks on ${c.page ?? 'the page'}; the busiest cell has ${max}.` } },
    grid: { left: 64, right: 16, top: 8, bottom: 56 },
    tooltip: {
      formatter: (p: unknown) => {
        const v = (p as { value: [number, number, number] }).value;
        const from = Math.round((v[0] * 100) / c.columns);
        return `${v[2]} clicks<br>${from}–${Math.round(((v[0] + 1) * 100) / c.columns)}% across, ${v[1] * c.row_px}–${(v[1] + 1) * c.row_px} px down`;
      },
    },
    xAxis: {
      type: 'category',
      data: Array.from({ length: c.columns }, (_, i) => `${Math.round((i * 100) / c.columns)}%`),
      name: 'across the page',
      nameLocation: 'middle',
      nameGap: 28,
      axisLabel: { interval: 3 },
    },
    yAxis: {
      type: 'category',
      inverse: true, // the top of the page at the top
      data: Array.from({ length: rows }, (_, i) => `${i * c.row_px} px`),
      axisLabel: { interval: Math.max(0, Math.ceil(rows / 12) - 1) },
    },
    visualMap: {
      min: 0,
      max,
      calculable: false,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 160,
      itemWidth: 12,
      textGap: 8,
      // light to dark in one hue: readable without telling hues apart
      inRange: { color: ['#eef5fa', '#56B4E9', '#0072B2', '#003a5c'] },
      text: [`${max} clicks`, '0'],
    },
    series: [
      {
        type: 'heatmap',
        name: 'clicks',
        data: c.cells.filter((x) => x.row < rows).map((x) => [x.column, x.row, x.clicks]),
        emphasis: { itemStyle: { borderColor: '#1a1a1a', borderWidth: 1 } },
      },
    ],
  };
}
