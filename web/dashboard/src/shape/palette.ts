// Okabe and Ito's colour-blind-safe palette (distinguishable with the
// common colour vision deficiencies), the one every chart draws from; the
// charts also turn on ECharts' decal patterns so no meaning rides on hue
// alone.
export const OKABE_ITO = {
  blue: '#0072B2',
  orange: '#E69F00',
  green: '#009E73',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  sky: '#56B4E9',
  yellow: '#F0E442',
  black: '#000000',
  grey: '#8C8C8C',
} as const;

export const SERIES_COLORS: string[] = [
  OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.green, OKABE_ITO.vermillion,
  OKABE_ITO.purple, OKABE_ITO.sky, OKABE_ITO.yellow, OKABE_ITO.black,
];

/** What every chart shares: the palette, accessible descriptions and patterns, a legible font. */
export const BASE_OPTION = {
  color: SERIES_COLORS,
  aria: { enabled: true, decal: { show: true } },
  textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif' },
  animationDuration: 300,
};
