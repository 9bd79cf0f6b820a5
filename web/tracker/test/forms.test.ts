import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Forms } from '../src/forms';
import { parseSession, sessionExpired, touchSession } from '../src/session';

test('form: a focus per field once, a start at the first input, then submit', () => {
  const f = new Forms();
  assert.deepEqual(f.focus('booking', 'name'), { action: 'focus', form: 'booking', field: 'name' });
  assert.equal(f.focus('booking', 'name'), null);
  assert.deepEqual(f.input('booking', 'name', 1000), { action: 'start', form: 'booking', field: 'name' });
  assert.equal(f.input('booking', 'name', 1100), null);
  assert.equal(f.input('booking', 'email', 1200), null);
  assert.ok(f.inProgress('booking'));
  assert.deepEqual(f.submit('booking', 4000), {
    action: 'submit',
    form: 'booking',
    fields: ['name', 'email'],
    duration_ms: 3000,
  });
  assert.deepEqual(f.abandonAll(5000), [], 'submitted: not abandoned');
});

test('form: started and not submitted is abandoned when the page goes, once, with the fields touched', () => {
  const f = new Forms();
  f.input('contact', 'message', 0);
  f.input('contact', 'email', 10);
  f.focus('newsletter', 'email'); // focused only: not started
  const out = f.abandonAll(2500);
  assert.deepEqual(out, [
    { action: 'abandon', form: 'contact', fields: ['message', 'email'], last_field: 'email', duration_ms: 2500 },
  ]);
  assert.deepEqual(f.abandonAll(3000), []);
});

test('form: a second use after a submit starts again', () => {
  const f = new Forms();
  f.input('search', 'q', 0);
  f.submit('search', 10);
  assert.equal(f.input('search', 'q', 20)?.action, 'start');
});

test('session: goes on within the timeout, else a new one and the old one ends', () => {
  let n = 0;
  const id = () => 's' + ++n;
  const T = 30 * 60_000;
  const a = touchSession(null, 1000, T, id, true);
  assert.equal(a.started, true);
  assert.equal(a.ended, null);
  assert.deepEqual(a.session, { id: 's1', start: 1000, last: 1000, page_views: 1, events: 1 });
  const b = touchSession(a.session, 1000 + T - 1, T, id, false);
  assert.equal(b.started, false);
  assert.equal(b.session.events, 2);
  assert.equal(b.session.page_views, 1);
  const c = touchSession(b.session, b.session.last + T, T, id, true);
  assert.equal(c.started, true);
  assert.equal(c.ended?.id, 's1');
  assert.equal(c.session.id, 's2');
  assert.ok(sessionExpired(c.session, c.session.last + T, T));
  assert.ok(!sessionExpired(c.session, c.session.last + T - 1, T));
});

test('session: an event dated before a session that starts later (a clock set back) starts a new one', () => {
  const s = { id: 'x', start: 10_000_000, last: 10_000_000, page_views: 1, events: 1 };
  assert.equal(touchSession(s, 1000, 1800_000, () => 'y', false).started, true);
});

test('session: parsing a stored one', () => {
  const s = { id: 'x', start: 1, last: 2, page_views: 3, events: 4 };
  assert.deepEqual(parseSession(JSON.stringify(s)), s);
  assert.equal(parseSession('{"id":1}'), null);
  assert.equal(parseSession('nope'), null);
  assert.equal(parseSession(null), null);
});
