// The dashboard's formatting, ranges in the viewer's time zone, the
// reconnect backoff, and the API client's error sorting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enumWords, fmtAgo, fmtChange, fmtDuration, fmtInt, fmtPct, fmtTime, shortId } from '../src/format';
import { customRange, dayString, localMidnight, parseDay, presetRange, previousPeriod, rangeParams } from '../src/range';
import { backoffDelay } from '../src/backoff';
import { ApiError, describeError, errorKind, withQuery } from '../src/api';

test('fmtPct, fmtChange, fmtInt: missing values and small rates', () => {
  assert.equal(fmtPct(0.2345), '23%');
  assert.equal(fmtPct(0.045), '4.5%');
  assert.equal(fmtPct(0), '0%');
  assert.equal(fmtPct(null), '–');
  assert.equal(fmtPct(Number.NaN), '–');
  assert.equal(fmtChange(120, 100), '+20%');
  assert.equal(fmtChange(95, 100), '−5.0%');
  assert.equal(fmtChange(5, 0), null);
  assert.equal(fmtChange(5, null), null);
  assert.equal(fmtInt(undefined), '–');
});

test('fmtDuration', () => {
  assert.equal(fmtDuration(42.4), '42 s');
  assert.equal(fmtDuration(185), '3 min 5 s');
  assert.equal(fmtDuration(120), '2 min');
  assert.equal(fmtDuration(7800), '2 h 10 min');
  assert.equal(fmtDuration(3 * 86400 + 4 * 3600), '3 d 4 h');
  assert.equal(fmtDuration(-1), '–');
  assert.equal(fmtDuration(null), '–');
});

test('fmtAgo: a clock a little ahead reads as just now', () => {
  const now = Date.UTC(2026, 0, 1, 12);
  assert.equal(fmtAgo(now - 10_000, now), 'just now');
  assert.equal(fmtAgo(now + 60_000, now), 'just now');
  assert.equal(fmtAgo(now - 5 * 60_000, now), '5 min ago');
  assert.equal(fmtAgo(now - 3 * 3600_000, now), '3 h ago');
  assert.equal(fmtAgo(now - 3 * 86400_000, now), '3 d ago');
  assert.equal(fmtAgo('not a date', now), '–');
});

test('fmtTime in a given zone; enumWords; shortId', () => {
  assert.equal(fmtTime('2026-07-01T10:05:09Z', 'Europe/Paris'), '12:05:09');
  assert.equal(fmtTime('2026-07-01T10:05:09Z', 'America/New_York', false), '06:05');
  assert.equal(enumWords('CHANNEL_PAID_SEARCH', 'CHANNEL_'), 'paid search');
  assert.equal(enumWords(null), '–');
  assert.equal(shortId('fp-0123456789abcdef', 8), 'fp-01234…');
  assert.equal(shortId('fp-1'), 'fp-1');
});

// The ranges use the runtime's local time, the viewer's in a browser: here a
// zone with daylight saving time, set before any Date is made in it.
test('ranges start at the viewer\'s midnight, across a DST change', () => {
  const before = process.env.TZ;
  process.env.TZ = 'America/New_York';
  try {
    const now = new Date('2026-03-10T15:00:00Z'); // 11:00 EDT, two days after the change
    const today = presetRange('today', now);
    assert.equal(today.from.toISOString(), '2026-03-10T04:00:00.000Z'); // midnight EDT
    const week = presetRange('7d', now);
    assert.equal(week.from.toISOString(), '2026-03-04T05:00:00.000Z'); // midnight EST, 6 days before
    const y = presetRange('yesterday', now);
    assert.equal(y.to.getTime() - y.from.getTime(), 24 * 3600_000);
    const sunday = presetRange('yesterday', new Date('2026-03-09T15:00:00Z')); // the 23-hour day
    assert.equal(sunday.to.getTime() - sunday.from.getTime(), 23 * 3600_000);
    assert.equal(presetRange('30d', now).from.getDate(), 10 - 29 + 28); // Feb 9
    const prev = previousPeriod(week);
    assert.equal(prev.to.getTime(), week.from.getTime());
    assert.equal(prev.to.getTime() - prev.from.getTime(), week.to.getTime() - week.from.getTime());
    const c = customRange('2026-03-01', '2026-03-02', now);
    assert.ok(c);
    assert.equal(c.from.toISOString(), '2026-03-01T05:00:00.000Z');
    assert.equal(c.to.toISOString(), '2026-03-03T05:00:00.000Z');
    assert.equal(customRange('2026-03-02', '2026-03-01', now), null);
    assert.equal(customRange('2026-02-30', '2026-03-01', now), null);
    assert.equal(customRange('2026-03-09', '2026-03-20', now)?.to.getTime(), now.getTime(), 'never past now');
    assert.equal(dayString(localMidnight(now)), '2026-03-10');
    assert.equal(parseDay('2026-3-1'), null);
    assert.deepEqual(rangeParams(today), { from: '2026-03-10T04:00:00.000Z', to: '2026-03-10T15:00:00.000Z' });
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});

test('backoffDelay: grows to the cap, jittered, never below half the base', () => {
  assert.equal(backoffDelay(0, 0), 250);
  assert.equal(backoffDelay(0, 0.999999), 500);
  assert.equal(backoffDelay(3, 1), 4000);
  assert.equal(backoffDelay(10, 1), 15000);
  assert.equal(backoffDelay(1000, 1), 15000);
  for (let a = 0; a < 12; a++) {
    for (const r of [0, 0.3, 0.7, 0.99]) {
      const d = backoffDelay(a, r);
      assert.ok(d >= 250 && d <= 15000);
      assert.ok(d <= backoffDelay(a + 1, r) + 1e-9, 'not shrinking for the same draw');
    }
  }
});

test('errorKind, describeError, withQuery', () => {
  assert.equal(errorKind(0), 'unreachable');
  assert.equal(errorKind(401), 'unauthorized');
  assert.equal(errorKind(403), 'forbidden');
  assert.equal(errorKind(503), 'unavailable');
  assert.equal(errorKind(400), 'bad_request');
  assert.equal(errorKind(500), 'server');
  assert.match(describeError(new ApiError('unauthorized', 401, 'unauthorized', 'x')), /does not accept this token \(401\)/);
  assert.match(describeError(new ApiError('unreachable', 0, 'network', 'x')), /Cannot reach the push-gateway/);
  assert.match(describeError(new ApiError('unavailable', 503, 'query_timeout', 'x')), /shorter range/);
  assert.equal(withQuery('funnel', { name: 'a b', channel: '', device: null, limit: 5 }), 'funnel?name=a+b&limit=5');
  assert.equal(withQuery('realtime'), 'realtime');
});
