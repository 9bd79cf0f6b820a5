// The flows between journey stages (GET journeys/flows) as an ECharts
// Sankey chart. A Sankey chart must be acyclic, and visitors do go back
// (consideration → interest), so the flows are laid out greedily: biggest
// first, each kept unless it closes a cycle with those kept; the ones left
// out are listed as moves back. Each stage's visitors who stopped there (its
// drop-offs) flow into a node of their own beside the next stage
// ("stopped at interest"), so every stage reads as a split: on, or out.
import type { EChartsOption } from 'echarts';
import type { Flow, Flows } from '../types';
import { BASE_OPTION, OKABE_ITO } from './palette';

// Stages in blue, orange, sky and purple: green is kept for the conversion
// stage and vermillion for where visitors stop.
const STAGE_COLORS = [OKABE_ITO.blue, OKABE_ITO.orange, OKABE_ITO.sky, OKABE_ITO.purple];
import { fmtInt } from '../format';

export const DROPPED = 'stopped at ';

/** The drop-off node of a stage. */
export function droppedNode(stage: string): string {
  return `${DROPPED}${stage}`;
}

export interface SankeyLink {
  source: string;
  target: string;
  value: number;
}

export interface SankeyShape {
  nodes: string[];
  links: SankeyLink[];
  /** Flows left out because they go back to an earlier node. */
  backward: SankeyLink[];
}

/** Whether target reaches source through links (so source → target would close a cycle). */
function reaches(adj: Map<string, string[]>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const n = stack.pop() as string;
    if (n === to) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of adj.get(n) ?? []) stack.push(m);
  }
  return false;
}

/** The acyclic part of flows (by visitors, biggest kept first), and what was left out. */
export function acyclic(flows: Flow[]): { kept: SankeyLink[]; backward: SankeyLink[] } {
  const sorted = [...flows]
    .filter((f) => f.visitors > 0 && f.source !== f.target)
    .sort((a, b) => b.visitors - a.visitors || a.source.localeCompare(b.source) || a.target.localeCompare(b.target));
  const adj = new Map<string, string[]>();
  const kept: SankeyLink[] = [];
  const backward: SankeyLink[] = [];
  for (const f of sorted) {
    const link = { source: f.source, target: f.target, value: f.visitors };
    if (reaches(adj, f.target, f.source)) {
      backward.push(link);
      continue;
    }
    const out = adj.get(f.source) ?? [];
    out.push(f.target);
    adj.set(f.source, out);
    kept.push(link);
  }
  return { kept, backward };
}

/** The Sankey's nodes and links for stages (with drop-offs) or touchpoints. */
export function sankeyShape(flows: Flows, mode: 'stages' | 'touchpoints'): SankeyShape {
  const { kept, backward } = acyclic(mode === 'stages' ? flows.stages : flows.touchpoints);
  const links = [...kept];
  if (mode === 'stages') {
    for (const d of flows.drop_offs) {
      if (d.visitors > 0) links.push({ source: d.stage, target: droppedNode(d.stage), value: d.visitors });
    }
  }
  const nodes: string[] = [];
  for (const l of links) {
    if (!nodes.includes(l.source)) nodes.push(l.source);
    if (!nodes.includes(l.target)) nodes.push(l.target);
  }
  return { nodes, links, backward };
}

/** The chart; narrow (a phone): thinner nodes, names cut to fit beside them. */
export function sankeyOption(shape: SankeyShape, conversionStage: string | null, narrow = false): EChartsOption {
  return {
    ...BASE_OPTION,
    aria: {
      enabled: true,
      label: {
        description: `Flows: ${shape.links.map((l) => `${l.source} to ${l.target} ${l.value} visitors`).join(', ')}.`,
      },
    },
    tooltip: {
      trigger: 'item',
      formatter: (p: unknown) => {
        const d = (p as { data: { source?: string; target?: string; value?: number; name?: string } }).data;
        if (d.source !== undefined) return `${d.source} → ${d.target}: ${fmtInt(d.value)} visitors`;
        return d.name ?? '';
      },
    },
    series: [
      {
        type: 'sankey',
        left: 4,
        right: narrow ? 72 : 150,
        top: 12,
        bottom: 12,
        nodeWidth: narrow ? 12 : 20,
        nodeGap: 14,
        nodeAlign: 'left', // a stage's drop-off node sits beside the stage it follows
        emphasis: { focus: 'adjacency' },
        label: narrow
          ? {
              color: '#1a1a1a', fontSize: 10, width: 68, overflow: 'truncate',
              // beside the stage it follows, a stop needs no stage name
              formatter: (p: unknown) => {
                const n = (p as { name: string }).name;
                return n.startsWith(DROPPED) ? 'stopped' : n;
              },
            }
          : { color: '#1a1a1a', fontSize: 12 },
        lineStyle: { color: 'source', opacity: 0.3, curveness: 0.5 },
        data: shape.nodes.map((n, i) => ({
          name: n,
          itemStyle: {
            color:
              n.startsWith(DROPPED) ? OKABE_ITO.vermillion
              : n === conversionStage ? OKABE_ITO.green
              : (STAGE_COLORS[i % STAGE_COLORS.length] ?? OKABE_ITO.blue),
          },
        })),
        links: shape.links.map((l) => ({
          ...l,
          lineStyle: l.target.startsWith(DROPPED) ? { color: OKABE_ITO.vermillion, opacity: 0.18 } : undefined,
        })),
      },
    ],
  };
}

/** The conversion stage: the one flows call converted, else the last of the common order present. */
export function conversionStageOf(flows: Flows): string | null {
  const names = new Set([...flows.stages.flatMap((f) => [f.source, f.target]), ...flows.drop_offs.map((d) => d.stage)]);
  const dropped = new Set(flows.drop_offs.map((d) => d.stage));
  // The conversion stage is never a drop-off stage (the route leaves it out of those).
  for (const n of names) if (!dropped.has(n) && /conver|purchase|book/i.test(n)) return n;
  return null;
}
