// Privacy: erase and export requests (and consent changes) for one person,
// and their status in every daemon. The routes need an admin token: the
// sign-in one if it is admin, else one given here (kept in this tab only).
// The requests made in this tab are listed (session storage); any other is
// found by its id.
import type { Ctx, View } from '../context';
import { ApiError, describeError } from '../api';
import { getAdminToken, getToken, setAdminToken } from '../auth';
import { enumWords, fmtDateTime, fmtInt } from '../format';
import type { PrivacyRequest } from '../types';
import { empty, fill, h, panel, table } from '../ui';

const KEY = 'analytics.privacy_requests';

function saved(): PrivacyRequest[] {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '[]') as PrivacyRequest[];
  } catch {
    return [];
  }
}

function save(list: PrivacyRequest[]): void {
  sessionStorage.setItem(KEY, JSON.stringify(list.slice(0, 50)));
}

export const privacyView: View = {
  title: 'Privacy',
  render(root: HTMLElement, ctx: Ctx) {
    const token = () => getAdminToken() ?? getToken() ?? '';
    const adminInput = h('input', { id: 'admin-token', type: 'password', autocomplete: 'off', value: getAdminToken() ?? '' });
    const adminNote = h('p', { class: 'hint', id: 'admin-help' }, 'Privacy requests need a token of scope admin. Leave empty to use the one you signed in with.');
    adminInput.setAttribute('aria-describedby', 'admin-help');
    adminInput.addEventListener('change', () => setAdminToken(adminInput.value.trim() || null));

    const action = h('select', { id: 'pr-action' },
      h('option', { value: 'erase' }, 'Erase everything about them'),
      h('option', { value: 'export' }, 'Export everything about them'),
      h('option', { value: 'consent' }, 'Record a consent change'));
    const fp = h('input', { id: 'pr-fp', autocomplete: 'off', spellcheck: 'false', placeholder: 'fp-…' });
    const uid = h('input', { id: 'pr-uid', autocomplete: 'off', spellcheck: 'false' });
    const consent = h('fieldset', { class: 'consent', hidden: true }, h('legend', {}, 'Consent now given'),
      ...['necessary', 'analytics', 'marketing'].map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: c, checked: c === 'necessary' }), ` ${c}`)));
    const submit = h('button', { type: 'submit' }, 'Send request');
    const status = h('p', { class: 'form-status', role: 'alert' });
    let confirming = false;
    action.addEventListener('change', () => {
      consent.hidden = action.value !== 'consent';
      confirming = false;
      submit.textContent = 'Send request';
    });
    const form = h('form', { class: 'stack' },
      h('label', { for: 'pr-action' }, 'Request'), action,
      h('label', { for: 'pr-fp' }, 'Fingerprint'), fp,
      h('label', { for: 'pr-uid' }, 'User id (optional)'), uid,
      consent, h('div', {}, submit), status);

    const list = panel('Requests made in this tab');
    const lookup = h('input', { id: 'pr-id', autocomplete: 'off', spellcheck: 'false', placeholder: 'request id' });
    const find = h('form', { class: 'inline-form' }, h('label', { for: 'pr-id' }, 'Find a request '), lookup, h('button', { type: 'submit', class: 'secondary' }, 'Look up'));
    const refreshAll = h('button', { type: 'button', class: 'secondary' }, 'Refresh all');
    list.body.append(h('div', { class: 'row' }, find, refreshAll));
    const rows = h('div', {});
    list.body.append(rows);

    const ask = panel('New request');
    ask.body.append(h('div', { class: 'stack' }, h('label', { for: 'admin-token' }, 'Admin token'), adminInput, adminNote), form);
    fill(root, h('div', { class: 'view-head' }, h('h1', {}, 'Privacy')), h('div', { class: 'grid' }, ask.root, list.root));

    let requests = saved();
    const draw = () => {
      if (requests.length === 0) {
        empty(rows, 'No requests made in this tab yet.', 'Requests are recorded by the push-gateway and carried out by each daemon for the data it holds.');
        return;
      }
      fill(rows, table(requests, [
        { label: 'Request', cell: (r) => h('span', { class: 'mono', title: r.request_id }, r.request_id.slice(0, 8)) },
        { label: 'Action', cell: (r) => enumWords(r.action) },
        { label: 'Who', cell: (r) => h('span', { class: 'mono' }, r.fingerprint ?? r.user_id ?? '–') },
        { label: 'Status', cell: (r) => h('span', { class: `badge status-${r.status}` }, r.status) },
        { label: 'Steps', cell: (r) => (r.steps?.length ? r.steps.map((s) => `${s.service}: ${s.status}${s.rows_affected !== null ? ` (${fmtInt(s.rows_affected)} rows)` : ''}`).join(', ') : '–'), optional: true },
        { label: 'Asked', cell: (r) => (r.requested_at ? fmtDateTime(r.requested_at, ctx.tz) : '–'), optional: true },
        { label: '', cell: (r) => h('button', { type: 'button', class: 'link', onclick: () => void refreshOne(r.request_id) }, 'Refresh') },
      ], 'Privacy requests and their status'));
    };
    const upsert = (r: PrivacyRequest) => {
      requests = [r, ...requests.filter((x) => x.request_id !== r.request_id)];
      save(requests);
      draw();
    };
    const refreshOne = async (id: string) => {
      try {
        upsert(await ctx.api.getAs<PrivacyRequest>(token(), `privacy/requests/${encodeURIComponent(id)}`));
        status.textContent = '';
      } catch (e) {
        status.textContent = explain(e);
      }
    };
    refreshAll.addEventListener('click', () => { for (const r of requests) void refreshOne(r.request_id); });
    find.addEventListener('submit', (e) => {
      e.preventDefault();
      if (lookup.value.trim()) void refreshOne(lookup.value.trim());
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = fp.value.trim();
      const u = uid.value.trim();
      if (!f && !u) {
        status.textContent = 'Give a fingerprint or a user id.';
        fp.focus();
        return;
      }
      if (action.value === 'erase' && !confirming) {
        confirming = true;
        submit.textContent = `Confirm: erase ${f || u}`;
        status.textContent = 'Erasing cannot be undone. Press again to confirm.';
        return;
      }
      confirming = false;
      submit.textContent = 'Send request';
      const body: Record<string, unknown> = {};
      if (f) body.fingerprint = f;
      if (u) body.user_id = u;
      if (action.value === 'consent') {
        body.consent = Object.fromEntries([...consent.querySelectorAll('input')].map((i) => [i.name, i.checked]));
      }
      submit.disabled = true;
      status.textContent = 'Sending…';
      try {
        const r = await ctx.api.post<PrivacyRequest>(`privacy/${action.value}`, body, token());
        upsert({ ...r, fingerprint: f || null, user_id: u || null });
        status.textContent = `Request ${r.request_id} recorded (${r.status}).`;
        void refreshOne(r.request_id);
      } catch (err) {
        status.textContent = explain(err);
      } finally {
        submit.disabled = false;
      }
    });
    draw();
  },
};

function explain(e: unknown): string {
  if (e instanceof ApiError && e.kind === 'forbidden') return 'This token may not make privacy requests: they need a token of scope admin. Give one above.';
  if (e instanceof ApiError && e.kind === 'unauthorized') return 'The push-gateway does not accept that token (401).';
  return describeError(e);
}
