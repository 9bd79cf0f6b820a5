// Triggers: marketing triggers as they fire (the triggers channel), newest
// first. Nothing is stored here: the list starts when the view opens.
import type { Ctx, View } from '../context';
import { fmtDateTime, fmtInt } from '../format';
import type { TriggerFired } from '../types';
import { empty, fill, h, panel, table, visitorLink } from '../ui';

const MAX = 200;

export const triggersView: View = {
  title: 'Triggers',
  render(root: HTMLElement, ctx: Ctx) {
    const p = panel('Fired since you opened this page', { wide: true });
    const count = h('p', { class: 'hint', role: 'status' });
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Triggers'), count), h('div', { class: 'grid' }, p.root));
    const fired: TriggerFired[] = [];
    let missed = 0;
    const draw = () => {
      count.textContent = fired.length ? `${fmtInt(fired.length)} fired${missed ? `, ${fmtInt(missed)} more not shown (too many at once)` : ''}` : '';
      if (fired.length === 0) {
        empty(p.body, 'No trigger has fired since you opened this page.',
          'Triggers fire on behaviour (a booking abandoned for an hour, a high lead score and no booking, a churn warning); they appear here the moment the scorer fires one.');
        return;
      }
      fill(p.body, table(fired, [
        { label: 'When', cell: (t) => fmtDateTime(t.ts_ms, ctx.tz) },
        { label: 'Rule', cell: (t) => h('strong', {}, t.rule) },
        { label: 'Visitor', cell: (t) => visitorLink(t.fingerprint) },
        { label: 'Action', cell: (t) => t.action || '–' },
        { label: 'Lead score', cell: (t) => (t.lead_score === undefined ? '–' : fmtInt(t.lead_score)), num: true },
        { label: 'Details', cell: (t) => Object.entries(t.params ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ') || '–', optional: true },
      ], 'Triggers fired, newest first'));
    };
    draw();
    const unsub = ctx.socket.subscribe('triggers', {
      onMessage: (d) => {
        if (!ctx.live()) return;
        const t = d as TriggerFired;
        if (fired.some((x) => x.trigger_id === t.trigger_id)) return;
        fired.unshift(t);
        if (fired.length > MAX) fired.length = MAX;
        draw();
        ctx.announce(`Trigger ${t.rule} fired`);
      },
      onLagged: (n) => { missed += n; draw(); },
    });
    ctx.onLeave(unsub);
  },
};
