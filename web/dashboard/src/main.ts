// The dashboard: sign-in, the shell (navigation, connection state), and the
// views, each loaded when first opened except the live one, which is in
// this entry so the first screen needs nothing else.
import './styles.css';
import { Api, ApiError, describeError } from './api';
import { clearToken, getToken, setToken } from './auth';
import type { Ctx, View } from './context';
import { viewerTimeZone } from './format';
import { LiveSocket, socketUrl, type SocketState } from './socket';
import { fill, h } from './ui';
import { liveView } from './views/live';

interface Route {
  id: string;
  label: string;
  load: () => Promise<View>;
}

const ROUTES: Route[] = [
  { id: 'live', label: 'Live', load: async () => liveView },
  { id: 'funnels', label: 'Funnels', load: () => import('./views/funnels').then((m) => m.funnelsView) },
  { id: 'journeys', label: 'Journeys', load: () => import('./views/journeys').then((m) => m.journeysView) },
  { id: 'visitors', label: 'Visitors', load: () => import('./views/visitors').then((m) => m.visitorsView) },
  { id: 'acquisition', label: 'Acquisition', load: () => import('./views/acquisition').then((m) => m.acquisitionView) },
  { id: 'triggers', label: 'Triggers', load: () => import('./views/triggers').then((m) => m.triggersView) },
  { id: 'privacy', label: 'Privacy', load: () => import('./views/privacy').then((m) => m.privacyView) },
];

const app = document.getElementById('app') as HTMLElement;
const tz = viewerTimeZone();

/** The route and its parameters of a location hash ("#/visitors/fp-1" → visitors, [fp-1]). */
function parseHash(hash: string): { route: Route; params: string[] } {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const route = ROUTES.find((r) => r.id === parts[0]) ?? (ROUTES[0] as Route);
  return { route, params: parts.slice(1) };
}

// ---- sign-in ----

function signIn(message?: string): void {
  document.title = 'Sign in · analytics';
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'token-help',
  });
  const status = h('p', { class: 'signin-status', role: 'alert', id: 'signin-status' }, message ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Analytics dashboard'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { class: 'hint', id: 'token-help' },
      'A token of ANALYTICS_API_TOKENS (scripts/run-local prints one). It is kept in this tab only and forgotten when the tab closes.'),
    button,
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    status.textContent = 'Checking the token…';
    status.className = 'signin-status';
    try {
      await new Api(token).get('realtime');
      setToken(token);
      start(token);
    } catch (err) {
      status.textContent = describeError(err);
      status.className = `signin-status error ${err instanceof ApiError ? err.kind : ''}`;
      button.disabled = false;
      input.focus();
      input.select();
    }
  });
  fill(app, h('main', { class: 'signin-page' }, form));
  input.focus();
}

// ---- the shell ----

let stopApp: (() => void) | null = null;

function start(token: string): void {
  stopApp?.();
  const api = new Api(token);
  const lost = () => {
    stopApp?.();
    clearToken();
    signIn('The push-gateway no longer accepts this token (401). Sign in again.');
  };
  api.onUnauthorized = lost;
  const socket = new LiveSocket(socketUrl(location), token, lost);

  const nav = h('nav', { class: 'nav', 'aria-label': 'Views' },
    h('ul', {}, ...ROUTES.map((r) => h('li', {}, h('a', { href: `#/${r.id}`, 'data-route': r.id }, r.label)))));
  const pill = h('span', { class: 'conn', role: 'status', 'aria-live': 'polite' }, 'Connecting…');
  const retry = h('button', { type: 'button', class: 'link conn-retry', hidden: true, onclick: () => socket.reconnectNow() }, 'Retry now');
  const signOut = h('button', { type: 'button', class: 'secondary small', onclick: () => { stopApp?.(); clearToken(); signIn('Signed out.'); } }, 'Sign out');
  const main = h('main', { id: 'main', tabindex: '-1' });
  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', role: 'status' });
  fill(
    app,
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, 'analytics'),
      nav,
      h('div', { class: 'top-right' }, pill, retry, h('span', { class: 'tz', title: 'Times and day ranges are in this time zone' }, tz), signOut)),
    main,
    announcer,
  );

  let tick: ReturnType<typeof setInterval> | null = null;
  const showState = (s: SocketState) => {
    const text: Record<SocketState, string> = {
      connecting: 'Connecting…', open: 'Live', reconnecting: 'Reconnecting…', closed: 'Offline', unauthorized: 'Token refused',
    };
    pill.className = `conn ${s}`;
    const update = () => {
      const secs = Math.max(0, Math.ceil((socket.retryAt - Date.now()) / 1000));
      pill.textContent = s === 'reconnecting' && secs > 0 ? `Connection lost: retrying in ${secs} s` : text[s];
    };
    update();
    if (tick) clearInterval(tick);
    tick = s === 'reconnecting' ? setInterval(update, 500) : null;
    retry.hidden = s !== 'reconnecting';
  };
  const unwatch = socket.watch(showState);
  socket.start();

  let leave: (() => void)[] = [];
  let backs: (() => void)[] = [];
  let generation = 0;
  let wasDown = false;
  const unwatchBack = socket.watch((s) => {
    if (s === 'reconnecting') wasDown = true;
    if (s === 'open' && wasDown) {
      wasDown = false;
      const fns = backs;
      backs = [];
      for (const fn of fns) fn();
    }
  });

  const route = async () => {
    for (const fn of leave) fn();
    leave = [];
    backs = [];
    const gen = ++generation;
    const { route: r, params } = parseHash(location.hash);
    for (const a of nav.querySelectorAll('a')) {
      if (a.dataset.route === r.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const root = h('div', { class: `view view-${r.id}` });
    fill(main, root);
    let view: View;
    try {
      view = await r.load();
    } catch (e) {
      fill(root, h('p', { class: 'state error', role: 'alert' }, `This view could not be loaded (${describeError(e)}). Reload the page.`));
      return;
    }
    if (gen !== generation) return;
    document.title = `${view.title} · analytics`;
    const ctx: Ctx = {
      api, socket, tz,
      onLeave: (fn) => leave.push(fn),
      whenBack: (fn) => { if (!backs.includes(fn)) backs.push(fn); },
      live: () => gen === generation,
      announce: (t) => { announcer.textContent = t; },
    };
    await view.render(root, ctx, params);
  };
  const onHash = () => { void route(); };
  window.addEventListener('hashchange', onHash);
  void route();

  stopApp = () => {
    window.removeEventListener('hashchange', onHash);
    for (const fn of leave) fn();
    leave = [];
    unwatch();
    unwatchBack();
    if (tick) clearInterval(tick);
    socket.stop();
    stopApp = null;
  };
}

const saved = getToken();
if (saved) start(saved);
else signIn();
