import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RageClicks } from '../src/rage';
import { ScrollMilestones, depthPercent } from '../src/scroll';
import { ExitIntent, EXIT_DEFAULTS } from '../src/exitintent';

test('rage click: 3 clicks within 600 ms in a small radius, reported once over with every click counted', () => {
  const r = new RageClicks<string>();
  assert.equal(r.click(0, 100, 100, 'btn'), null);
  assert.equal(r.click(150, 105, 98, 'btn'), null);
  assert.equal(r.click(300, 102, 103, 'btn'), null);
  assert.equal(r.click(450, 99, 101, 'btn'), null);
  assert.equal(r.due(900), null, 'not over yet: 450 ms since the last');
  const b = r.due(1051);
  assert.ok(b);
  assert.equal(b.clicks, 4);
  assert.equal(b.target, 'btn');
  assert.equal(b.last - b.first, 450);
  assert.equal(r.due(5000), null, 'reported once');
});

test('two clicks, or three spread over more than 600 ms, are not rage', () => {
  const r = new RageClicks<string>();
  r.click(0, 10, 10, 'a');
  r.click(200, 10, 10, 'a');
  assert.equal(r.due(1000), null);
  r.click(2000, 10, 10, 'a');
  r.click(2400, 10, 10, 'a');
  r.click(2800, 10, 10, 'a'); // each within 600 ms of the last, but 800 ms for three
  assert.equal(r.flush(), null);
});

test('a click far away or late ends the burst (and reports it if it was rage)', () => {
  const r = new RageClicks<string>();
  r.click(0, 10, 10, 'a');
  r.click(100, 12, 10, 'a');
  r.click(200, 11, 12, 'a');
  const b = r.click(250, 300, 300, 'b'); // elsewhere
  assert.ok(b);
  assert.equal(b.clicks, 3);
  r.click(300, 300, 300, 'b');
  r.click(350, 300, 300, 'b');
  assert.equal(r.click(2000, 300, 300, 'b')?.target, 'b', 'late: the earlier burst is reported');
  assert.ok(r.deadline !== null && r.deadline > 2000);
});

test('rage click thresholds are options', () => {
  const r = new RageClicks<string>({ count: 5, windowMs: 1000, radius: 5 });
  for (let i = 0; i < 4; i++) r.click(i * 100, 0, 0, 'x');
  assert.equal(r.flush(), null);
  for (let i = 0; i < 5; i++) r.click(i * 100, 0, 0, 'x');
  assert.equal(r.flush()?.clicks, 5);
});

test('scroll depth: the bottom of the viewport over the page height', () => {
  assert.equal(depthPercent(0, 1000, 4000), 25);
  assert.equal(depthPercent(1000, 1000, 4000), 50);
  assert.equal(depthPercent(2999, 1000, 4000), 100, 'within 2 px of the end');
  assert.equal(depthPercent(0, 1000, 800), 100, 'a page shorter than the viewport');
  assert.equal(depthPercent(0, 1000, 0), 0);
});

test('scroll milestones: each once, in order, even when a jump passes several', () => {
  const s = new ScrollMilestones();
  assert.deepEqual(s.update(0, 1000, 10_000), []);
  assert.deepEqual(s.update(1600, 1000, 10_000), [25]);
  assert.deepEqual(s.update(6600, 1000, 10_000), [50, 75]);
  assert.deepEqual(s.update(100, 1000, 10_000), [], 'back up: nothing again');
  assert.deepEqual(s.update(8100, 1000, 10_000), [90]);
  assert.deepEqual(s.update(9000, 1000, 10_000), [100]);
  assert.deepEqual(s.update(9000, 1000, 10_000), []);
  assert.equal(s.max, 100);
  s.reset();
  assert.deepEqual(s.update(9000, 1000, 10_000), [25, 50, 75, 90, 100], 'a new page view');
});

const desktop = () => new ExitIntent({ ...EXIT_DEFAULTS, mobile: false }, 0);
const phone = () => new ExitIntent({ ...EXIT_DEFAULTS, mobile: true }, 0);

test('exit intent on a desktop: the pointer leaving through the top, once', () => {
  const x = desktop();
  assert.equal(x.pointerOut(500, -1, false), null, 'not in the first second');
  assert.equal(x.pointerOut(2000, 300, false), null, 'left through a side');
  assert.equal(x.pointerOut(2000, -1, true), null, 'moved onto another element');
  assert.equal(x.pointerOut(2000, 0, false), 'pointer_top');
  assert.equal(x.pointerOut(3000, -5, false), null, 'once per page view');
  assert.equal(x.hidden(4000), null, 'a desktop tab switch is not an exit intent');
  assert.equal(x.scroll(4000, 0, 800), null);
  x.reset(10_000);
  assert.equal(x.pointerOut(11_500, -2, false), 'pointer_top', 'again after a new page view');
});

test('exit intent on a phone: a quick scroll back up, or the tab hidden', () => {
  const x = phone();
  assert.equal(x.pointerOut(5000, -1, false), null);
  x.scroll(2000, 3000, 800);
  assert.equal(x.scroll(2300, 2900, 800), null, 'a small move');
  assert.equal(x.scroll(2400, 2500, 800), 'scroll_up', '500 px up in 400 ms, past half the viewport');
  const slow = phone();
  slow.scroll(2000, 3000, 800);
  slow.scroll(2500, 2700, 800);
  assert.equal(slow.scroll(3000, 2400, 800), null, 'slowly up is reading, not leaving');
  const top = phone();
  top.scroll(2000, 700, 800);
  assert.equal(top.scroll(2100, 0, 800), null, 'near the top already');
  assert.equal(phone().hidden(2000), 'tab_hidden');
});
