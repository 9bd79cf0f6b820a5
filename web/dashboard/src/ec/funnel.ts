// ECharts with the funnel chart (the funnels view).
// Each chart and component comes from its own file, not the
// echarts/charts index, so that esbuild keeps it in this chunk.
import * as echarts from 'echarts/core';
import { install as canvas } from 'echarts/lib/renderer/installCanvasRenderer.js';
import 'echarts/lib/chart/funnel';
import 'echarts/lib/component/tooltip';
import 'echarts/lib/component/aria';

echarts.use([canvas]);
export { echarts };
