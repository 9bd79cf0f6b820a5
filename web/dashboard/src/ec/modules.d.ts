// The one ECharts file imported for a value that ships no declaration:
// the canvas renderer's installer (echarts/renderers re-exports it typed,
// but that index would pull the SVG renderer into the shared chunk too).
declare module 'echarts/lib/renderer/installCanvasRenderer.js' {
  export const install: import('echarts/core').EChartsExtensionInstaller;
}
