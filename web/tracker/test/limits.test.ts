import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMITS, clampBytes, cleanText, isToken, sanitizeProps, toToken, utf8Length, wellFormed } from '../src/limits';

test('utf8Length counts bytes as UTF-8 does', () => {
  assert.equal(utf8Length('abc'), 3);
  assert.equal(utf8Length('é'), 2);
  assert.equal(utf8Length('€'), 3);
  assert.equal(utf8Length('😀'), 4);
  assert.equal(utf8Length('\ud800'), 3); // a lone surrogate becomes U+FFFD
  for (const s of ['héllo wörld', '日本語テキスト', 'a😀b€c']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'));
  }
});

test('clampBytes never cuts a character and never exceeds the limit', () => {
  assert.equal(clampBytes('abcdef', 4), 'abcd');
  assert.equal(clampBytes('ééé', 5), 'éé'); // 6 bytes: the third would cut
  assert.equal(clampBytes('a😀', 4), 'a'); // the emoji needs 4 more
  assert.equal(clampBytes('a😀', 5), 'a😀');
  const long = 'Réparer '.repeat(400);
  const c = clampBytes(long, LIMITS.maxString);
  assert.ok(Buffer.byteLength(c) <= LIMITS.maxString);
  assert.ok(Buffer.byteLength(c) > LIMITS.maxString - 4);
  assert.ok(long.startsWith(c));
});

test('wellFormed removes NULs and replaces lone surrogates', () => {
  assert.equal(wellFormed('a\u0000b'), 'ab');
  assert.equal(wellFormed('x\ud800y'), 'x\ufffdy');
  assert.equal(wellFormed('x\udc00'), 'x\ufffd');
  assert.equal(wellFormed('ok 😀'), 'ok 😀');
});

test('cleanText removes control characters (the collector refuses them in text fields)', () => {
  assert.equal(cleanText('a\tb\nc\u007fd\u0085e', 100), 'abcde');
  assert.equal(cleanText('x'.repeat(200), 128).length, 128);
});

test('event types: tokens of [A-Za-z0-9._:-] up to 64', () => {
  assert.ok(isToken('booking_completed'));
  assert.ok(!isToken('booking completed'));
  assert.ok(!isToken(''));
  assert.ok(!isToken('x'.repeat(65)));
  assert.equal(toToken('booking completed!'), 'booking_completed_');
  assert.equal(toToken('y'.repeat(100)).length, 64);
});

test('sanitizeProps: strings cut, non-finite numbers null, junk left out', () => {
  const d = new Date('2026-01-02T03:04:05.000Z');
  const out = sanitizeProps({
    s: 'é'.repeat(3000),
    n: 1.5,
    inf: Infinity,
    nan: NaN,
    b: false,
    nil: null,
    u: undefined,
    f: () => 1,
    d,
    big: 10n,
    ['k'.repeat(3000)]: 1,
  });
  assert.equal(Buffer.byteLength(out.s as string), 2048);
  assert.equal(out.n, 1.5);
  assert.equal(out.inf, null);
  assert.equal(out.nan, null);
  assert.equal(out.b, false);
  assert.equal(out.nil, null);
  assert.ok(!('u' in out) && !('f' in out));
  assert.equal(out.d, '2026-01-02T03:04:05.000Z');
  assert.equal(out.big, '10');
  assert.ok(Object.keys(out).some((k) => k.length === 2048));
});

test('sanitizeProps keeps at most 100 members in all, nested ones and array elements counted', () => {
  const many: Record<string, number> = {};
  for (let i = 0; i < 150; i++) many['k' + i] = i;
  assert.equal(Object.keys(sanitizeProps(many)).length, 100);
  const nested = sanitizeProps({ a: Array.from({ length: 200 }, (_, i) => i), b: 1 });
  // a counts 1, then 99 of its elements fit; b does not
  assert.equal((nested.a as unknown[]).length, 99);
  assert.ok(!('b' in nested));
});

test('sanitizeProps: containers deeper than 5 levels become their JSON text', () => {
  const out = sanitizeProps({ l2: { l3: { l4: { l5: { l6: { x: 1 } } } } } });
  const l5 = ((((out.l2 as Record<string, unknown>).l3 as Record<string, unknown>).l4 as Record<string, unknown>)
    .l5 as Record<string, unknown>);
  assert.equal(l5.l6, '{"x":1}');
});

test('sanitizeProps of something that is not an object is {}', () => {
  assert.deepEqual(sanitizeProps('x'), {});
  assert.deepEqual(sanitizeProps(null), {});
  assert.deepEqual(sanitizeProps([1, 2]), {});
});
