// What a click or a declaration is about, read from the DOM without
// forcing a layout: tag, a short selector, text content (never a field's
// value), the link, and the data-analytics-* attributes.

import type { ElementInfo } from '../props';

const INTERACTIVE =
  'a,button,input,select,textarea,label,summary,[role="button"],[role="link"],[role="tab"],[data-analytics-name],[data-analytics-event]';
const TEXT_MAX = 100;
/** data-analytics-* attributes that steer the tracker, not props */
const CONTROL = new Set(['event', 'on', 'consent', 'start', 'submit', 'abandon', 'form', 'ignore']);

/** The element a click on target means: the nearest interactive ancestor
 * (a link, a button, a named element), else target itself. */
export function clickTarget(target: EventTarget | null): Element | null {
  let el: Node | null = target instanceof Node ? target : null;
  if (el && el.nodeType !== 1) el = el.parentElement;
  if (!(el instanceof Element)) return null;
  return el.closest(INTERACTIVE) ?? el;
}

/** Whether el is inside a part of the page the site keeps out of tracking
 * (data-analytics-ignore), the consent banner included. */
export function ignored(el: Element): boolean {
  return el.closest('[data-analytics-ignore]') !== null;
}

/** The data-analytics-* attributes (but the steering ones) of el or its
 * nearest ancestor that has any, as props: "89" a number, "true" and
 * "false" booleans. */
export function dataProps(el: Element | null, maxUp = 8): Record<string, string | number | boolean> {
  for (let e: Element | null = el, i = 0; e && i <= maxUp; e = e.parentElement, i++) {
    const out = ownDataProps(e);
    if (out) return out;
  }
  return {};
}

/** The data-analytics-* props of el itself, or null when it has none. */
export function ownDataProps(el: Element): Record<string, string | number | boolean> | null {
  if (!(el instanceof HTMLElement) && !(el instanceof SVGElement)) return null;
  let out: Record<string, string | number | boolean> | null = null;
  const ds = el.dataset;
  for (const k in ds) {
    if (k.length <= 9 || !k.startsWith('analytics')) continue;
    const name = k.charAt(9).toLowerCase() + k.slice(10).replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    out ??= {};
    if (CONTROL.has(name)) continue;
    out[name] = coerce(ds[k] ?? '');
  }
  return out;
}

function coerce(v: string): string | number | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d{1,15}(\.\d{1,6})?$/.test(v)) return Number(v);
  return v;
}

/** A short selector for el: up to five levels, stopping at an id. */
export function selectorOf(el: Element): string {
  const parts: string[] = [];
  for (let e: Element | null = el, i = 0; e && e.nodeType === 1 && i < 5; e = e.parentElement, i++) {
    const tag = e.tagName.toLowerCase();
    if (e.id && /^[A-Za-z][\w-]*$/.test(e.id)) {
      parts.unshift(`${tag}#${e.id}`);
      break;
    }
    if (tag === 'html' || tag === 'body') {
      parts.unshift(tag);
      break;
    }
    let part = tag;
    const cls = typeof e.className === 'string' ? e.className.trim().split(/\s+/).filter(Boolean) : [];
    if (cls.length) part += '.' + cls.slice(0, 2).join('.');
    const parent: Element | null = e.parentElement;
    if (parent) {
      let n = 0;
      let pos = 0;
      for (let s: Element | null = parent.firstElementChild; s; s = s.nextElementSibling) {
        if (s.tagName === e.tagName) {
          n++;
          if (s === e) pos = n;
        }
      }
      if (n > 1) part += `:nth-of-type(${pos})`;
    }
    parts.unshift(part);
  }
  return parts.join(' > ');
}

/** The visible label of el, never what a visitor typed. */
function textOf(el: Element): string {
  if (el instanceof HTMLInputElement) {
    const t = el.type;
    if (t === 'submit' || t === 'button' || t === 'reset') return el.value;
    return el.getAttribute('aria-label') ?? el.name ?? '';
  }
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) {
    return el.getAttribute('aria-label') ?? el.name ?? '';
  }
  const aria = el.getAttribute('aria-label');
  if (aria) return aria;
  return el.textContent ?? '';
}

export function describe(el: Element): ElementInfo {
  const info: ElementInfo = {
    tag: el.tagName.toLowerCase(),
    selector: selectorOf(el),
    data: dataProps(el),
  };
  if (el.id) info.id = el.id;
  const text = textOf(el).replace(/\s+/g, ' ').trim().slice(0, TEXT_MAX);
  if (text) info.text = text;
  const href =
    el instanceof HTMLAnchorElement || el instanceof HTMLAreaElement
      ? el.href
      : el instanceof HTMLButtonElement && el.form && el.type === 'submit'
        ? el.form.action
        : '';
  if (href) info.href = stripSecret(href);
  return info;
}

/** A link as sent: without its query and fragment, which may hold personal
 * data (e-mail addresses, tokens); name what matters with data-analytics-*
 * attributes instead. */
function stripSecret(href: string): string {
  const i = href.search(/[?#]/);
  return i < 0 ? href : href.slice(0, i);
}
