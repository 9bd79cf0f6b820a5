import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptAll, allows, makeRecord, parseRecord, readSignals, resolveConsent } from '../src/consent';

const none = { dnt: false, gpc: false };
const YEAR = 365 * 86_400_000;
const now = 1_800_000_000_000;

test('nothing decided: necessary only, and ask', () => {
  const s = resolveConsent(null, none, now, YEAR);
  assert.equal(s.decided, false);
  assert.deepEqual(s.consent, { necessary: true, analytics: false, marketing: false });
  assert.ok(allows(s.consent, 'necessary'));
  assert.ok(!allows(s.consent, 'analytics'));
  assert.ok(!allows(s.consent, 'marketing'));
});

test('a stored choice is remembered until it is older than the maximum age', () => {
  const rec = makeRecord({ analytics: true, marketing: false }, 'choose', none, now - 1000);
  const back = parseRecord(JSON.stringify(rec));
  assert.deepEqual(back, rec);
  const s = resolveConsent(back, none, now, YEAR);
  assert.equal(s.decided, true);
  assert.equal(s.source, 'choose');
  assert.ok(allows(s.consent, 'analytics'));
  assert.ok(!allows(s.consent, 'marketing'));
  const old = resolveConsent(makeRecord({ analytics: true, marketing: true }, 'accept_all', none, now - YEAR - 1), none, now, YEAR);
  assert.equal(old.decided, false, 'asked again after a year');
  const future = resolveConsent(makeRecord({ analytics: true, marketing: true }, 'accept_all', none, now + 86_400_000), none, now, YEAR);
  assert.equal(future.decided, false, 'a record from the future is not believed');
});

test('malformed records are ignored', () => {
  for (const t of [null, '', 'x', '{}', '{"v":2,"analytics":true,"marketing":true,"ts":1,"source":"api"}',
    '{"v":1,"analytics":"yes","marketing":true,"ts":1,"source":"api"}', '[1]', 'null']) {
    assert.equal(parseRecord(t), null, String(t));
  }
});

test('Do Not Track: nothing but necessary, and no banner', () => {
  const s = resolveConsent(null, { dnt: true, gpc: false }, now, YEAR);
  assert.equal(s.decided, true);
  assert.equal(s.source, 'dnt');
  assert.ok(!s.consent.analytics && !s.consent.marketing);
});

test('Global Privacy Control alone: marketing denied, analytics still asked', () => {
  const sig = { dnt: false, gpc: true };
  const s = resolveConsent(null, sig, now, YEAR);
  assert.equal(s.decided, false);
  assert.deepEqual(acceptAll(sig), { analytics: true, marketing: false });
  assert.deepEqual(acceptAll(none), { analytics: true, marketing: true });
});

test('a signal that came on after a choice overrides it; one there at the choice does not', () => {
  const before = makeRecord({ analytics: true, marketing: true }, 'accept_all', none, now - 1000);
  const gpcLater = resolveConsent(before, { dnt: false, gpc: true }, now, YEAR);
  assert.ok(gpcLater.consent.analytics && !gpcLater.consent.marketing);
  const dntLater = resolveConsent(before, { dnt: true, gpc: false }, now, YEAR);
  assert.ok(!dntLater.consent.analytics && !dntLater.consent.marketing);
  const chosenUnderGpc = makeRecord({ analytics: true, marketing: true }, 'choose', { dnt: false, gpc: true }, now - 1000);
  const s = resolveConsent(chosenUnderGpc, { dnt: false, gpc: true }, now, YEAR);
  assert.ok(s.consent.marketing, 'the visitor turned marketing on knowing');
});

test('readSignals', () => {
  assert.deepEqual(readSignals({ doNotTrack: '1' }), { dnt: true, gpc: false });
  assert.deepEqual(readSignals({ doNotTrack: 'unspecified', globalPrivacyControl: true }), { dnt: false, gpc: true });
  assert.deepEqual(readSignals({}, { doNotTrack: 'yes' }), { dnt: true, gpc: false });
  assert.deepEqual(readSignals({ doNotTrack: '0' }), { dnt: false, gpc: false });
});
