// ECharts, loaded when a chart is first shown: each kind of chart is its own
// chunk (ec/*.ts registers what it draws with echarts/core), so the live
// view's numbers never wait for the funnel or Sankey code. A mounted chart
// follows its container's size and is disposed with its view.
import type { EChartsOption } from 'echarts';

export type ChartKind = 'bars' | 'funnel' | 'sankey' | 'lines' | 'heatmap';

interface EchartsLike {
  init(el: HTMLElement, theme?: string | null, opts?: { renderer?: 'canvas' | 'svg' }): ChartLike;
}
export interface ChartLike {
  setOption(o: EChartsOption, opts?: { notMerge?: boolean; lazyUpdate?: boolean }): void;
  resize(): void;
  dispose(): void;
  isDisposed(): boolean;
}

const loaders: Record<ChartKind, () => Promise<EchartsLike>> = {
  bars: () => import('./ec/bars').then((m) => m.echarts),
  funnel: () => import('./ec/funnel').then((m) => m.echarts),
  sankey: () => import('./ec/sankey').then((m) => m.echarts),
  lines: () => import('./ec/lines').then((m) => m.echarts),
  heatmap: () => import('./ec/heatmap').then((m) => m.echarts),
};

export class Chart {
  private chart: ChartLike | null = null;
  private pending: EChartsOption | null = null;
  private observer: ResizeObserver | null = null;
  private disposed = false;

  constructor(
    readonly el: HTMLElement,
    private readonly kind: ChartKind,
  ) {
    el.classList.add('chart');
    el.setAttribute('role', 'img');
    void loaders[kind]().catch(() => {}); // fetch ECharts while the data is asked for, not after
  }

  /** Draws option (replacing what was drawn), loading ECharts first if need be. */
  async set(option: EChartsOption, label?: string): Promise<void> {
    if (label) this.el.setAttribute('aria-label', label);
    if (this.chart) {
      this.chart.setOption(option, { notMerge: true, lazyUpdate: true });
      return;
    }
    const first = this.pending === null;
    this.pending = option;
    if (!first) return;
    const ec = await loaders[this.kind]();
    if (this.disposed || this.pending === null) return;
    this.el.replaceChildren(); // a loading or empty state shown meanwhile
    this.chart = ec.init(this.el, null, { renderer: 'canvas' });
    this.chart.setOption(this.pending, { notMerge: true });
    this.el.dataset.ready = 'true';
    this.observer = new ResizeObserver(() => this.chart?.resize());
    this.observer.observe(this.el);
  }

  /** Forgets what was drawn (to show a state in its place); set draws again. */
  reset(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.chart?.dispose();
    this.chart = null;
    this.pending = null;
    delete this.el.dataset.ready;
  }

  /** For good: the view is left. */
  dispose(): void {
    this.disposed = true;
    this.reset();
  }
}
