import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, judge, parseRetryAfter } from '../src/retry';

const now = Date.parse('2026-06-01T12:00:00Z');

test('202: every event taken but the rejected ones; retryable ones are retried', () => {
  const body = JSON.stringify({
    accepted: 2,
    rejected: [
      { index: 1, error: "field 'event_type' may only contain A-Z a-z 0-9 . _ : -" },
      { index: 3, error: 'broker unreachable and spool full; retry', retryable: true },
    ],
  });
  const v = judge(202, body, null, 4, now);
  assert.deepEqual(v.done, [0, 1, 2]);
  assert.deepEqual(v.retry, [3]);
  assert.deepEqual(v.refused.map((r) => r.index), [1]);
  assert.match(v.refused[0]!.error, /event_type/);
});

test('202 with an unreadable body: taken', () => {
  const v = judge(202, 'not json', null, 2, now);
  assert.deepEqual(v.done, [0, 1]);
  assert.equal(v.retry.length, 0);
});

test('network errors, 408, 429, 5xx: all retried, Retry-After honoured', () => {
  for (const s of [0, 408, 429, 500, 502, 503, 504]) {
    const v = judge(s, null, s === 503 ? '5' : null, 3, now);
    assert.deepEqual(v.retry, [0, 1, 2], String(s));
    assert.equal(v.done.length, 0);
    assert.equal(v.retryAfterMs, s === 503 ? 5000 : null);
  }
});

test('400 and other 4xx: refused for good, with the reason per event', () => {
  const body = JSON.stringify({ error: 'every event rejected', rejected: [{ index: 0, error: 'too_long' }] });
  const v = judge(400, body, null, 2, now);
  assert.deepEqual(v.done, [0, 1]);
  assert.deepEqual(v.refused, [
    { index: 0, error: 'too_long' },
    { index: 1, error: 'every event rejected' },
  ]);
  for (const s of [401, 403, 415]) assert.equal(judge(s, '{"error":"x"}', null, 1, now).refused.length, 1);
});

test('413 for a batch: split and retry; for one event: refused', () => {
  assert.equal(judge(413, null, null, 4, now).split, true);
  assert.deepEqual(judge(413, null, null, 4, now).retry, [0, 1, 2, 3]);
  assert.equal(judge(413, null, null, 1, now).refused.length, 1);
});

test('indexes outside the batch are ignored', () => {
  const v = judge(202, '{"rejected":[{"index":7,"error":"x"},{"index":-1,"error":"y"}]}', null, 2, now);
  assert.deepEqual(v.done, [0, 1]);
  assert.equal(v.refused.length, 0);
});

test('Retry-After: seconds, HTTP dates, nonsense, at most an hour', () => {
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Mon, 01 Jun 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Mon, 01 Jun 2026 11:00:00 GMT', now), 0, 'a date passed: now');
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter('999999', now), 3_600_000);
});

test('backoff grows exponentially under full jitter, capped, and resets', () => {
  let r = 1; // worst case of the jitter: the whole cap
  const b = new Backoff({ baseMs: 1000, maxMs: 8000, random: () => r });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 2000, 4000, 8000, 8000]);
  r = 0.5;
  b.reset();
  assert.equal(b.next(), 500);
  r = 0;
  assert.equal(b.next(), 100, 'never a busy loop');
  assert.equal(b.failures, 2);
});

test('backoff jitter spreads clients apart', () => {
  let seed = 42; // mulberry32
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const waits = Array.from({ length: 200 }, () => new Backoff({ baseMs: 1000, maxMs: 60_000, random }).next());
  const buckets = new Set(waits.map((w) => Math.floor(w / 100)));
  assert.ok(new Set(waits).size > 170, 'not all at the same moment (those under 100 ms wait 100)');
  assert.ok(buckets.size >= 9, 'spread over the whole range');
  assert.ok(waits.every((w) => w >= 100 && w <= 1000));
});

test('backoff waits at least what the server asked, plus up to a tenth', () => {
  const b = new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => 1 });
  assert.equal(b.next(5000), 5500);
  const lo = new Backoff({ baseMs: 1000, maxMs: 60_000, random: () => 0 });
  assert.equal(lo.next(5000), 5000);
});
