import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue, type KV } from '../src/queue';
import type { WireEvent } from '../src/event';

class MemKV implements KV {
  m = new Map<string, string>();
  full = false;
  get(k: string) {
    return this.m.get(k) ?? null;
  }
  set(k: string, v: string) {
    if (this.full) return false;
    this.m.set(k, v);
    return true;
  }
  remove(k: string) {
    this.m.delete(k);
  }
  keys() {
    return [...this.m.keys()];
  }
}

const ev = (id: string, extra = ''): WireEvent => ({
  event_id: id,
  event_type: 'click',
  fingerprint: 'fp',
  timestamp: 1,
  event_data: extra ? { pad: extra } : {},
  consent: { necessary: true, analytics: true, marketing: false },
});

const opts = (owner: string, o: Partial<{ maxEvents: number; maxBytes: number }> = {}) => ({
  maxEvents: o.maxEvents ?? 100,
  maxBytes: o.maxBytes ?? 1 << 20,
  staleMs: 60_000,
  prefix: '_an.q.',
  owner,
});
const ids = (es: WireEvent[]) => es.map((e) => e.event_id);

test('take gives the oldest waiting events, bounded by count and bytes, at least one', () => {
  const q = new EventQueue(opts('p1'));
  for (let i = 0; i < 5; i++) q.add(ev('e' + i, 'x'.repeat(100)));
  assert.deepEqual(ids(q.take(2, 1e9)), ['e0', 'e1']);
  assert.equal(q.waiting, 3);
  assert.deepEqual(ids(q.take(10, 150)), ['e2'], 'the byte bound stops the batch');
  assert.deepEqual(ids(q.take(10, 1)), ['e3'], 'one event always fits');
});

test('delivered events go, retried ones wait again in their place', () => {
  const q = new EventQueue(opts('p1'));
  for (const id of ['a', 'b', 'c']) q.add(ev(id));
  const batch = q.take(3, 1e9);
  q.remove(['b']);
  q.release(['a', 'c']);
  assert.equal(q.length, 2);
  assert.deepEqual(ids(q.take(5, 1e9)), ['a', 'c'], batch.length === 3 ? 'order kept' : '');
});

test('an event already held is not added twice', () => {
  const q = new EventQueue(opts('p1'));
  assert.ok(q.add(ev('a')));
  assert.ok(!q.add(ev('a')));
  assert.equal(q.length, 1);
});

test('bounded: past maxEvents or maxBytes the oldest waiting event is dropped, never one in flight', () => {
  const q = new EventQueue(opts('p1', { maxEvents: 3 }));
  q.add(ev('a'));
  q.take(1, 1e9); // a in flight
  for (const id of ['b', 'c', 'd']) q.add(ev(id));
  assert.equal(q.length, 3);
  assert.equal(q.dropped, 1);
  q.release(['a']);
  assert.deepEqual(ids(q.take(10, 1e9)), ['a', 'c', 'd']);
  const small = new EventQueue(opts('p2', { maxBytes: 600 }));
  for (let i = 0; i < 10; i++) small.add(ev('s' + i, 'y'.repeat(100)));
  assert.ok(small.length < 10 && small.length > 0);
  assert.equal(small.dropped, 10 - small.length);
});

test('persisted events survive a reload: a closed page is adopted by the next one', () => {
  const kv = new MemKV();
  const p1 = new EventQueue(opts('p1'));
  p1.attach(kv, 1000);
  p1.add(ev('a'));
  p1.add(ev('b'));
  p1.take(1, 1e9); // a in flight when the page went offline and away
  p1.persist(2000, true);
  const p2 = new EventQueue(opts('p2'));
  p2.add(ev('c'));
  assert.equal(p2.attach(kv, 2500), 2);
  assert.deepEqual(ids(p2.take(10, 1e9)), ['a', 'b', 'c'], 'adopted events first');
  assert.deepEqual(kv.keys(), ['_an.q.p2'], "p1's key is gone");
});

test('an open queue of a live page is left alone until it goes stale', () => {
  const kv = new MemKV();
  const p1 = new EventQueue(opts('p1'));
  p1.attach(kv, 1000);
  p1.add(ev('a'));
  p1.persist(1000);
  const p2 = new EventQueue(opts('p2'));
  assert.equal(p2.attach(kv, 30_000), 0, 'p1 wrote 29 s ago: alive');
  const p3 = new EventQueue(opts('p3'));
  assert.equal(p3.attach(kv, 62_000), 1, 'p1 silent for 61 s: gone');
});

test('handed events (beacon, keepalive) are not stored, so no next page sends them again', () => {
  const kv = new MemKV();
  const q = new EventQueue(opts('p1'));
  q.attach(kv, 0);
  q.add(ev('a'));
  q.add(ev('b'));
  q.take(1, 1e9); // a in flight
  assert.deepEqual(ids(q.handOff()), ['b'], 'waiting events for the beacon');
  q.remove(['b']); // the beacon took it
  q.persist(10, true);
  assert.equal(kv.keys().length, 0, 'a (keepalive) and b (beacon) left: nothing stored');
  const next = new EventQueue(opts('p2'));
  assert.equal(next.attach(kv, 20), 0);
});

test('a beacon the browser refused keeps its events stored', () => {
  const kv = new MemKV();
  const q = new EventQueue(opts('p1'));
  q.attach(kv, 0);
  q.add(ev('a'));
  const handed = q.handOff();
  q.release(ids(handed));
  q.persist(10, true);
  const next = new EventQueue(opts('p2'));
  assert.equal(next.attach(kv, 20), 1);
});

test('back from the back-forward cache: handed events are the browser\'s; adopted keys are the adopter\'s', () => {
  const kv = new MemKV();
  const q = new EventQueue(opts('p1'));
  q.attach(kv, 0);
  q.add(ev('a'));
  q.add(ev('b'));
  q.take(1, 1e9);
  q.handOff(); // a in flight, b waiting: both handed
  q.add(ev('c'));
  q.persist(10, true);
  q.reopen(20);
  assert.deepEqual(ids(q.take(10, 1e9)), ['c']);

  const q2 = new EventQueue(opts('p3'));
  q2.attach(kv, 0);
  q2.add(ev('x'));
  q2.persist(10, true); // offline pagehide: stored, closed
  const other = new EventQueue(opts('p4'));
  other.attach(kv, 30); // adopts x
  q2.reopen(40);
  assert.equal(q2.length, 0, 'x is p4\'s now');
});

test('purge drops waiting events that match', () => {
  const q = new EventQueue(opts('p1'));
  q.add({ ...ev('a'), event_type: 'consent_update' });
  q.add(ev('b'));
  q.add(ev('c'));
  q.take(1, 1e9); // a in flight: not purged
  assert.equal(q.purge((e) => e.event_type === 'click'), 2);
  assert.equal(q.length, 1);
});

test('storage refusing writes (quota) does not lose the events in memory', () => {
  const kv = new MemKV();
  const q = new EventQueue(opts('p1'));
  q.attach(kv, 0);
  kv.full = true;
  q.add(ev('a'));
  assert.equal(q.persist(1), false);
  assert.equal(q.take(5, 1e9).length, 1);
});

test('garbage under the prefix is removed, other keys are not touched', () => {
  const kv = new MemKV();
  kv.set('_an.q.junk', '{not json');
  kv.set('site.key', 'theirs');
  const q = new EventQueue(opts('p1'));
  assert.equal(q.attach(kv, 0), 0);
  assert.deepEqual(kv.keys(), ['site.key']);
});

test('an event that failed once is not trusted to a beacon: it stays stored for the next page', () => {
  const kv = new MemKV();
  const q = new EventQueue(opts('p1'));
  q.attach(kv, 0);
  q.add(ev('a'));
  q.add(ev('b'));
  q.take(1, 1e9);
  q.release(['a']); // the collector did not answer
  q.add(ev('c'));
  assert.deepEqual(ids(q.handOff()), ['b', 'c'], 'only never-failed events for the beacon');
  q.remove(['b', 'c']);
  q.persist(10, true);
  const next = new EventQueue(opts('p2'));
  assert.equal(next.attach(kv, 20), 1);
  assert.deepEqual(ids(next.take(9, 1e9)), ['a']);
  assert.deepEqual(next.handOff(), [], 'adopted events go by fetch, not by beacon');
});
