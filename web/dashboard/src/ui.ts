// Small DOM helpers: elements built from data (text always as text, never
// parsed as HTML), tables, and the loading, empty and error states every
// panel shows while it has nothing else to.
import { ApiError, describeError } from './api';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** An element: h('a', { href: '#/x', class: 'y', onclick: fn }, 'text', child). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replaces el's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A panel: a section with a heading and a body to fill. */
export function panel(title: string, opts: { id?: string; wide?: boolean; actions?: Node[] } = {}): { root: HTMLElement; body: HTMLElement } {
  const hid = `h-${Math.random().toString(36).slice(2, 9)}`;
  const body = h('div', { class: 'panel-body' });
  const root = h(
    'section',
    { class: `panel${opts.wide ? ' wide' : ''}`, id: opts.id, 'aria-labelledby': hid },
    h('header', { class: 'panel-head' }, h('h2', { id: hid }, title), ...(opts.actions ?? [])),
    body,
  );
  return { root, body };
}

export function loading(el: Element, what = 'Loading'): void {
  fill(el, h('p', { class: 'state loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${what}…`));
}

export function empty(el: Element, message: string, hint?: string): void {
  fill(el, h('div', { class: 'state empty' }, h('p', {}, message), hint ? h('p', { class: 'hint' }, hint) : null));
}

/** An error with what to do about it, and a Retry button when retry is given. */
export function failed(el: Element, e: unknown, retry?: () => void): void {
  const kind = e instanceof ApiError ? e.kind : 'server';
  fill(
    el,
    h(
      'div',
      { class: `state error ${kind}`, role: 'alert' },
      h('p', {}, describeError(e)),
      retry ? h('button', { type: 'button', class: 'secondary', onclick: () => retry() }, 'Retry') : null,
    ),
  );
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  num?: boolean;
  title?: string;
  /** Left out on a phone, where the table would not fit. */
  optional?: boolean;
}

function cls<T>(c: Column<T>): string | null {
  return [c.num ? 'num' : '', c.optional ? 'opt' : ''].filter(Boolean).join(' ') || null;
}

/** A table with a caption (for screen readers, visually hidden unless shown). */
export function table<T>(rows: T[], cols: Column<T>[], caption: string, rowClass?: (r: T) => string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col', class: cls(c), title: c.title }, c.label)))),
      h(
        'tbody',
        {},
        ...rows.map((r) => h('tr', { class: rowClass?.(r) ?? null }, ...cols.map((c) => h('td', { class: cls(c) }, c.cell(r))))),
      ),
    ),
  );
}

/** A link to a visitor's page. */
export function visitorLink(fp: string, text?: string): HTMLAnchorElement {
  return h('a', { href: `#/visitors/${encodeURIComponent(fp)}`, title: fp, class: 'mono' }, text ?? fp);
}

/** A bar 0..1 with its text beside (for scores and rates in tables). */
export function meter(v: number | null, text: string, cls = ''): HTMLElement {
  const w = v === null || !Number.isFinite(v) ? 0 : Math.max(0, Math.min(1, v));
  return h(
    'span',
    { class: `meter ${cls}` },
    h('span', { class: 'meter-track', 'aria-hidden': 'true' }, h('span', { class: 'meter-fill', style: `width:${(w * 100).toFixed(1)}%` })),
    h('span', { class: 'meter-text' }, text),
  );
}

/** A key figure: a label, a value (updated in place by its returned setter), a note. */
export function kpi(label: string, note = ''): { root: HTMLElement; set(v: string, n?: string): void } {
  const value = h('span', { class: 'kpi-value' }, '–');
  const small = h('span', { class: 'kpi-note' }, note);
  const root = h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, label), value, small);
  return {
    root,
    set(v: string, n?: string) {
      if (value.textContent !== v) value.textContent = v;
      if (n !== undefined && small.textContent !== n) small.textContent = n;
    },
  };
}
