// ECharts with bar charts (live events per minute, sessions by group).
// Each chart and component comes from its own file, not the
// echarts/charts index, so that esbuild keeps it in this chunk.
import * as echarts from 'echarts/core';
import { install as canvas } from 'echarts/lib/renderer/installCanvasRenderer.js';
import 'echarts/lib/chart/bar';
import 'echarts/lib/component/grid';
import 'echarts/lib/component/tooltip';
import 'echarts/lib/component/aria';
import 'echarts/lib/component/legend';

echarts.use([canvas]);
export { echarts };
