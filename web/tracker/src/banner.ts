// The consent banner: necessary / analytics / marketing; accept all,
// reject all (the same weight as accept), or choose one by one. A
// non-modal dialog at the start of the page (first in reading and tab
// order), in its own shadow root so the site's styles and ours stay apart.
// Keyboard: Tab through native buttons and checkboxes, Escape closes the
// settings when a choice exists; the settings opened from a link take the
// focus and give it back. A polite live region says when a choice is saved.

import type { Signals } from './consent';

export interface BannerText {
  title: string;
  body: string;
  privacy: string;
  accept: string;
  reject: string;
  choose: string;
  save: string;
  close: string;
  necessary: string;
  necessaryHelp: string;
  analytics: string;
  analyticsHelp: string;
  marketing: string;
  marketingHelp: string;
  gpcNote: string;
  dntNote: string;
  saved: string;
}

export const BANNER_TEXT: BannerText = {
  title: 'Your privacy',
  body:
    'We would like to measure how our site is used, with an identifier kept on this device, ' +
    'and to tailor offers to you. Nothing leaves your browser for that until you agree; ' +
    'you can change your mind at any time from "Cookie settings" at the bottom of each page.',
  privacy: 'Privacy policy',
  accept: 'Accept all',
  reject: 'Reject all',
  choose: 'Choose',
  save: 'Save choices',
  close: 'Close',
  necessary: 'Necessary',
  necessaryHelp: 'Keeps the site working and remembers this choice. Always on.',
  analytics: 'Analytics',
  analyticsHelp: 'Which pages are visited and how, with a device identifier kept in this browser.',
  marketing: 'Marketing',
  marketingHelp: 'Offers chosen from how you use the site, here and in messages we send you.',
  gpcNote: 'Your browser asks sites not to share or sell your data (Global Privacy Control): marketing stays off unless you turn it on here.',
  dntNote: 'Your browser asks not to be tracked (Do Not Track): everything stays off unless you turn it on here.',
  saved: 'Your cookie choices are saved.',
};

export interface BannerOptions {
  text?: Partial<BannerText>;
  /** the privacy policy's URL, linked from the banner */
  privacyUrl?: string;
  /** the colour of the buttons (any CSS colour) */
  accent?: string;
}

export interface Choice {
  analytics: boolean;
  marketing: boolean;
}

export type ChoiceSource = 'accept_all' | 'reject_all' | 'choose';

export interface BannerHost {
  /** what holds now, to preset the checkboxes */
  current(): Choice;
  signals: Signals;
  /** whether a choice exists (then the settings may be closed unchanged) */
  decided(): boolean;
  choose(c: Choice | 'accept_all' | 'reject_all', source: ChoiceSource): void;
}

export interface Banner {
  /** Shows the banner (settings: with the checkboxes open, focused). */
  show(settings: boolean): void;
  hide(): void;
  readonly visible: boolean;
}

const CSS = `
:host{all:initial;display:block;height:0}
.b{position:fixed;z-index:2147483000;left:0;right:0;bottom:0;box-sizing:border-box;max-width:40rem;margin:0 auto 1rem;
padding:1.25rem 1.25rem 1rem;background:#fff;color:#1d232b;border:1px solid #c9d1da;border-radius:.75rem;
box-shadow:0 .5rem 2rem rgba(20,30,45,.22);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
@media (max-width:42rem){.b{margin:0;border-radius:.75rem .75rem 0 0;border-width:1px 0 0;padding:1rem 1rem .85rem}
.row{display:grid;grid-template-columns:repeat(3,1fr)}.row button{padding:.5rem .4rem}}
h2{margin:0 0 .4rem;font-size:1.1rem;line-height:1.3;font-weight:650}
h2:focus{outline:none}
p{margin:0 0 .9rem}
a{color:inherit;text-decoration:underline;text-underline-offset:2px}
fieldset{border:0;margin:0 0 .9rem;padding:0}
legend{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
label{display:grid;grid-template-columns:auto 1fr;gap:.1rem .6rem;padding:.55rem .2rem;border-top:1px solid #e6eaef;cursor:pointer}
label:last-child{border-bottom:1px solid #e6eaef}
input{width:1.15rem;height:1.15rem;margin:.15rem 0 0;accent-color:var(--accent)}
input:disabled+span{color:#4a5561}
label span{font-weight:600}
label small{grid-column:2;color:#4a5561;font-size:.875rem}
.note{grid-column:2;font-size:.85rem;color:#6b4a00;background:#fff6dc;border-radius:.3rem;padding:.25rem .45rem;margin-top:.2rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;justify-content:flex-end}
button{font:inherit;font-weight:600;min-height:2.75rem;padding:.55rem 1.1rem;border-radius:.5rem;cursor:pointer;border:2px solid var(--accent)}
.main{background:var(--accent);color:#fff}
.alt{background:#fff;color:var(--accent)}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.x{position:absolute;top:.5rem;right:.5rem;min-height:0;width:2.25rem;height:2.25rem;padding:0;border:0;background:none;color:#4a5561;font-size:1.4rem;line-height:1}
@media (prefers-reduced-motion:no-preference){.b{animation:up .18s ease-out}@keyframes up{from{transform:translateY(1rem);opacity:0}}}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...kids: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const k of kids) el.append(k);
  return el;
}

/** Makes the banner (hidden); show() puts it on the page. */
export function createBanner(host: BannerHost, opts: BannerOptions = {}): Banner {
  const t = { ...BANNER_TEXT, ...opts.text };
  const root = h('div', { 'data-analytics-ignore': '', id: 'analytics-consent' });
  const shadow = root.attachShadow({ mode: 'open' });
  const style = h('style');
  style.textContent = CSS;
  const live = h('div', { class: 'sr', role: 'status', 'aria-live': 'polite' });

  const title = h('h2', { id: 't', tabindex: '-1' }, t.title);
  const body = h('p', { id: 'd' }, t.body + ' ');
  if (opts.privacyUrl) body.append(h('a', { href: opts.privacyUrl }, t.privacy));

  const box = (name: string, label: string, help: string, note: string | null, disabled: boolean) => {
    const input = h('input', { type: 'checkbox', name, 'aria-describedby': `${name}-help` });
    if (disabled) input.setAttribute('disabled', '');
    const l = h('label', {}, input, h('span', {}, label), h('small', { id: `${name}-help` }, help));
    if (note) l.append(h('small', { class: 'note' }, note));
    return { l, input };
  };
  const sig = host.signals;
  const nec = box('necessary', t.necessary, t.necessaryHelp, null, true);
  nec.input.checked = true;
  const ana = box('analytics', t.analytics, t.analyticsHelp, sig.dnt ? t.dntNote : null, false);
  const mkt = box('marketing', t.marketing, t.marketingHelp, sig.gpc ? t.gpcNote : sig.dnt ? t.dntNote : null, false);
  const fields = h('fieldset', { id: 'c', hidden: '' }, h('legend', {}, t.title), nec.l, ana.l, mkt.l);

  const reject = h('button', { type: 'button', class: 'main', 'data-act': 'reject' }, t.reject);
  const choose = h('button', { type: 'button', class: 'alt', 'data-act': 'choose', 'aria-controls': 'c', 'aria-expanded': 'false' }, t.choose);
  const accept = h('button', { type: 'button', class: 'main', 'data-act': 'accept' }, t.accept);
  const close = h('button', { type: 'button', class: 'x', 'data-act': 'close', 'aria-label': t.close, hidden: '' }, '\u00d7');
  const dialog = h(
    'div',
    { class: 'b', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 't', 'aria-describedby': 'd', hidden: '' },
    close,
    title,
    body,
    fields,
    h('div', { class: 'row' }, reject, choose, accept),
  );
  dialog.style.setProperty('--accent', opts.accent ?? '#1f5f99');
  shadow.append(style, dialog, live);

  let opener: Element | null = null;
  let settings = false;

  const setSettings = (on: boolean) => {
    settings = on;
    fields.hidden = !on;
    choose.textContent = on ? t.save : t.choose;
    choose.setAttribute('aria-expanded', String(on));
  };

  const hide = () => {
    dialog.hidden = true;
    root.remove();
    const back = opener;
    opener = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
  };

  const done = (c: Choice | 'accept_all' | 'reject_all', source: ChoiceSource) => {
    host.choose(c, source);
    hide();
    // Said after the banner went, from a region that stays.
    document.body.append(root);
    dialog.hidden = true;
    live.textContent = '';
    setTimeout(() => (live.textContent = t.saved), 50);
    setTimeout(() => root.isConnected && dialog.hidden && root.remove(), 5000);
  };

  dialog.addEventListener('click', (e) => {
    const act = (e.target as Element).closest?.('button')?.getAttribute('data-act');
    if (act === 'accept') done('accept_all', 'accept_all');
    else if (act === 'reject') done('reject_all', 'reject_all');
    else if (act === 'close') hide();
    else if (act === 'choose') {
      if (settings) done({ analytics: ana.input.checked, marketing: mkt.input.checked }, 'choose');
      else {
        setSettings(true);
        ana.input.focus();
      }
    }
  });
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && host.decided()) {
      e.stopPropagation();
      hide();
    }
  });

  return {
    show(open: boolean) {
      const c = host.current();
      ana.input.checked = c.analytics;
      mkt.input.checked = c.marketing;
      setSettings(open);
      close.hidden = !host.decided();
      live.textContent = '';
      dialog.hidden = false;
      document.body.prepend(root); // first in reading and tab order
      if (open) {
        opener = document.activeElement;
        title.focus();
      }
    },
    hide,
    get visible() {
      return root.isConnected && !dialog.hidden;
    },
  };
}
