import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBatch, makeDraft, toWire, uuid } from '../src/event';
import { CATALOG } from '../src/catalog';
import { EVENTS, categoryOf } from '../src/eventtypes';
import { clickProps, formProps, stripQuery } from '../src/props';
import { randomFillSync } from 'node:crypto';

const rnd = (b: Uint8Array) => randomFillSync(b);
const ctx = { id: uuid(rnd), ts: 1_800_000_000_123.4, url: 'https://fixit.example/pricing', referrer: '', sessionId: 's-1', userId: null };
const consent = { necessary: true as const, analytics: true, marketing: false };

test('uuid: version 4, random', () => {
  const a = uuid(rnd);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, uuid(rnd));
});

test('the wire event has the collector field names, integer ms, the consent it leaves under', () => {
  const d = makeDraft('pricing_viewed', 'analytics', { plan: 'pro' }, { ...ctx, userId: 'u-1' });
  const e = toWire(d, 'fp-abc', consent);
  assert.deepEqual(Object.keys(e).sort(), [
    'consent', 'event_data', 'event_id', 'event_type', 'fingerprint', 'page_url', 'session_id', 'timestamp', 'user_id',
  ]);
  assert.equal(e.timestamp, 1_800_000_000_123);
  assert.deepEqual(e.consent, { necessary: true, analytics: true, marketing: false });
  assert.equal(e.referrer_url, undefined, 'empty fields left out');
});

test('a bad event type is made a valid one; over-long fields are cut, control characters removed', () => {
  const d = makeDraft('Booking Completed!', 'analytics', {}, { ...ctx, url: 'https://x.example/' + 'p'.repeat(5000), userId: 'u\n1' + 'z'.repeat(200) });
  const e = toWire(d, 'f'.repeat(300), consent);
  assert.equal(e.event_type, 'Booking_Completed_');
  assert.equal(e.page_url!.length, 4096);
  assert.equal(e.fingerprint.length, 128);
  assert.equal(e.user_id!.length, 128);
  assert.ok(!e.user_id!.includes('\n'));
  assert.equal(makeDraft('!!!', 'analytics', {}, ctx).type, '___');
  assert.equal(makeDraft('', 'analytics', {}, ctx).type, 'custom');
});

test('encodeBatch is the collector batch format', () => {
  const e = toWire(makeDraft('click', 'analytics', {}, ctx), 'fp', consent);
  const body = JSON.parse(encodeBatch([e, e]));
  assert.equal(body.events.length, 2);
  assert.deepEqual(body.events[0], e);
});

test('categories: only the consent record and error reports are necessary', () => {
  assert.equal(categoryOf(EVENTS.consent), 'necessary');
  assert.equal(categoryOf(EVENTS.error), 'necessary');
  for (const t of [EVENTS.pageView, EVENTS.click, EVENTS.bookingCompleted, 'my_own_event']) {
    assert.equal(categoryOf(t), 'analytics', t);
  }
  for (const c of CATALOG) assert.equal(c.category, categoryOf(c.type), c.type);
});

test('the catalog has every event type once', () => {
  const types = CATALOG.map((c) => c.type);
  assert.equal(new Set(types).size, types.length);
  assert.deepEqual([...types].sort(), Object.values(EVENTS).sort());
});

test('click props: where on the page and in the element, the element named by data-analytics-name', () => {
  const p = clickProps({
    el: { tag: 'a', selector: 'nav > a:nth-of-type(2)', text: 'Prices', href: 'https://fixit.example/pricing', data: { name: 'nav-pricing' } },
    x: 10.6, y: 2000.2, elX: 3.3, elY: 4.4, elW: 80, elH: 20, pageW: 1280, pageH: 4000, vw: 1280, vh: 720,
  });
  assert.equal(p.element, 'nav-pricing');
  assert.equal(p.x, 11);
  assert.equal(p.y, 2000);
  assert.equal(p.element_x, 3);
  assert.equal(p.target, 'https://fixit.example/pricing');
  assert.equal(p.name, 'nav-pricing');
});

test('form props carry field names, never values', () => {
  const p = formProps({ action: 'abandon', form: 'booking', fields: ['name', 'email'], last_field: 'email', duration_ms: 5 });
  assert.deepEqual(p, { action: 'abandon', form_id: 'booking', fields: ['name', 'email'], last_field: 'email', duration_ms: 5 });
});

test('stripQuery drops query and fragment', () => {
  assert.equal(stripQuery('https://a.example/x?email=a@b.c#f'), 'https://a.example/x');
  assert.equal(stripQuery('https://a.example/x'), 'https://a.example/x');
});
