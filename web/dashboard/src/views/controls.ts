// The range, channel and device pickers the report views share, their
// choices kept for the session as the viewer moves between views.
import { PRESETS, customRange, dayString, presetRange, type Preset, type Range } from '../range';
import { h } from '../ui';

let shared: { preset: Preset | 'custom'; from: string; to: string } = { preset: '7d', from: '', to: '' };

/** A range picker (presets and custom dates); onChange gets each new range. Default: the session's, or def. */
export function rangePicker(onChange: (r: Range) => void, def?: Preset): { root: HTMLElement; range(): Range } {
  const id = `range-${Math.random().toString(36).slice(2, 7)}`;
  const start = def && shared.preset === '7d' && shared.from === '' ? def : shared.preset;
  const sel = h('select', { id },
    ...PRESETS.map((p) => h('option', { value: p.id, selected: p.id === start }, p.label)),
    h('option', { value: 'custom', selected: start === 'custom' }, 'Custom…'));
  const now = new Date();
  const from = h('input', { type: 'date', 'aria-label': 'From (first day)', value: shared.from || dayString(new Date(now.getTime() - 6 * 864e5)), max: dayString(now) });
  const to = h('input', { type: 'date', 'aria-label': 'To (last day)', value: shared.to || dayString(now), max: dayString(now) });
  const custom = h('span', { class: 'custom', hidden: start !== 'custom' }, from, ' – ', to);
  const err = h('span', { class: 'field-error', role: 'alert' });
  const current = (): Range => {
    if (sel.value === 'custom') return customRange(from.value, to.value, new Date()) ?? presetRange('7d', new Date());
    return presetRange(sel.value as Preset, new Date());
  };
  const changed = () => {
    custom.hidden = sel.value !== 'custom';
    if (sel.value === 'custom' && !customRange(from.value, to.value, new Date())) {
      err.textContent = 'The first day must be on or before the last.';
      return;
    }
    err.textContent = '';
    shared = { preset: sel.value as Preset | 'custom', from: from.value, to: to.value };
    onChange(current());
  };
  sel.addEventListener('change', changed);
  from.addEventListener('change', changed);
  to.addEventListener('change', changed);
  return { root: h('span', { class: 'picker' }, h('label', { for: id }, 'Range '), sel, custom, err), range: current };
}

/** A select of values with an "any" first; onChange gets the value ("" for any). */
export function choice(label: string, values: { value: string; label: string }[], onChange: (v: string) => void, initial = ''): { root: HTMLElement; el: HTMLSelectElement } {
  const id = `c-${Math.random().toString(36).slice(2, 7)}`;
  const el = h('select', { id }, h('option', { value: '' }, 'Any'),
    ...values.map((v) => h('option', { value: v.value, selected: v.value === initial }, v.label)));
  el.addEventListener('change', () => onChange(el.value));
  return { root: h('span', { class: 'picker' }, h('label', { for: id }, `${label} `), el), el };
}

/** The channels and devices the pipeline assigns (the enricher's), for the pickers. */
export const CHANNELS = ['direct', 'organic_search', 'paid_search', 'social', 'email', 'referral', 'internal', 'unknown'];
export const DEVICES = ['desktop', 'mobile', 'tablet', 'unknown'];
