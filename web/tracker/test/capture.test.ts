import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timedUrl } from '../src/dom/capture';

const page = 'https://shop.example/book';
const api = ['https://api.shop.example', 'https://shop.example'];
const endpoint = 'https://collect.shop.example/api/analytics/events?write_key=k';
const personalize = 'https://gw.shop.example/api/analytics/personalize/';

test('timedUrl: the site API origins, by origin and path, relative URLs read against the page', () => {
  assert.equal(timedUrl('https://api.shop.example/v1/slots?day=2', page, api, endpoint, personalize), 'https://api.shop.example/v1/slots');
  assert.equal(timedUrl('/api/quote#x', page, api, endpoint, personalize), 'https://shop.example/api/quote');
});

test('timedUrl: other origins, the tracker own calls and unparsable URLs are not timed', () => {
  assert.equal(timedUrl('https://cdn.other.example/x.js', page, api, endpoint, personalize), null);
  assert.equal(timedUrl('http://api.shop.example/v1', page, api, endpoint, personalize), null); // another scheme
  assert.equal(timedUrl('https://shop.example:8443/api', page, api, endpoint, personalize), null); // another port
  const own = ['https://collect.shop.example', 'https://gw.shop.example'];
  assert.equal(timedUrl('https://collect.shop.example/api/analytics/events', page, own, endpoint, personalize), null);
  assert.equal(timedUrl('https://gw.shop.example/api/analytics/personalize/fp-1', page, own, endpoint, personalize), null);
  assert.equal(timedUrl('https://gw.shop.example/api/other', page, own, endpoint, personalize), 'https://gw.shop.example/api/other');
  assert.equal(timedUrl('http://[::1', page, api, endpoint, personalize), null);
  assert.equal(timedUrl('/api/x', page, api, endpoint, undefined), 'https://shop.example/api/x');
});
