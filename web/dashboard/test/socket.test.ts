// The page's WebSocket client (src/socket.ts) against a stand-in for the
// browser's WebSocket class that records what is sent and lets the test
// deliver frames and drops: auth first, subscriptions (and their filters)
// replayed after a reconnect, resume with the last seq, a resync handed to
// the views, lagged notices, a refused token not retried, the retry after a
// drop with backoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';

class FakeSocket {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  types() {
    return this.sent.map((m) => m.type);
  }
}
(globalThis as unknown as { WebSocket: unknown }).WebSocket = FakeSocket;

const { LiveSocket, socketUrl } = await import('../src/socket');

test('socketUrl follows the page: ws for http, wss for https', () => {
  assert.equal(socketUrl({ protocol: 'http:', host: 'h:8090' }), 'ws://h:8090/api/analytics/ws');
  assert.equal(socketUrl({ protocol: 'https:', host: 'h' }), 'wss://h/api/analytics/ws');
});

test('auth first, subscriptions after, a resume with the last seq after a drop', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  const s = new LiveSocket('ws://x/api/analytics/ws', 'tok-123', () => assert.fail('not unauthorized'));
  const got: unknown[] = [];
  let resyncs = 0;
  let lagged = 0;
  s.subscribe('events', { onMessage: (d) => got.push(d), onResync: () => resyncs++, onLagged: (n) => { lagged += n; } }, { event_type: 'page_view' });
  s.start();
  const a = FakeSocket.all[0] as FakeSocket;
  a.open();
  assert.deepEqual(a.sent[0], { type: 'auth', token: 'tok-123' });
  assert.equal(a.sent.length, 1, 'nothing before the answer to auth');
  a.frame({ type: 'authenticated', instance: 'i1', seq: 10 });
  assert.equal(s.state, 'open');
  assert.deepEqual(a.sent[1], { type: 'subscribe', channel: 'events', filter: { event_type: 'page_view' } });
  a.frame({ type: 'message', channel: 'events', seq: 11, data: { n: 1 } });
  a.frame({ type: 'message', channel: 'scores', seq: 12, data: { n: 2 } }); // not subscribed: dropped
  a.frame({ type: 'lagged', channel: 'events', missed: 7 });
  assert.deepEqual(got, [{ n: 1 }]);
  assert.equal(lagged, 7);

  a.close(); // the gateway went away
  assert.equal(s.state, 'reconnecting');
  assert.ok(s.retryAt > Date.now());
  t.mock.timers.tick(600); // the first retry comes within 0.5 s
  const b = FakeSocket.all[1] as FakeSocket;
  assert.ok(b, 'a new connection');
  b.open();
  b.frame({ type: 'authenticated', instance: 'i1', seq: 20 });
  assert.deepEqual(b.types(), ['auth', 'subscribe', 'resume']);
  assert.deepEqual(b.sent[2], { type: 'resume', instance: 'i1', seq: 12 });
  b.frame({ type: 'resync', reason: 'too old' });
  assert.equal(resyncs, 1);
  s.stop();
  assert.equal(s.state, 'closed');
  t.mock.timers.reset();
});

test('a filter changed: unsubscribe, then subscribe with the new one; the last handler gone: unsubscribe', () => {
  FakeSocket.all = [];
  const s = new LiveSocket('ws://x', 't', () => {});
  s.start();
  const a = FakeSocket.all[0] as FakeSocket;
  a.open();
  a.frame({ type: 'authenticated', instance: 'i', seq: 0 });
  const h = { onMessage: () => {} };
  const off1 = s.subscribe('events', h);
  const off2 = s.subscribe('events', h, { country: 'FR' });
  assert.deepEqual(a.sent.slice(1), [
    { type: 'subscribe', channel: 'events' },
    { type: 'unsubscribe', channel: 'events' },
    { type: 'subscribe', channel: 'events', filter: { country: 'FR' } },
  ]);
  off1();
  off2();
  assert.deepEqual(a.sent.at(-1), { type: 'unsubscribe', channel: 'events' });
  s.stop();
});

test('a token refused on the socket: told once, never retried', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  let told = 0;
  const s = new LiveSocket('ws://x', 'bad', () => told++);
  s.start();
  const a = FakeSocket.all[0] as FakeSocket;
  a.open();
  a.frame({ type: 'error', code: 'unauthorized', message: 'no' });
  a.close();
  t.mock.timers.tick(60000);
  assert.equal(told, 1);
  assert.equal(s.state, 'unauthorized');
  assert.equal(FakeSocket.all.length, 1, 'no new connection');
  s.stop();
  t.mock.timers.reset();
});

test('a silent connection is pinged, then dropped and retried', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  FakeSocket.all = [];
  const s = new LiveSocket('ws://x', 't', () => {});
  s.start();
  const a = FakeSocket.all[0] as FakeSocket;
  a.open();
  a.frame({ type: 'authenticated', instance: 'i', seq: 0 });
  t.mock.timers.tick(20000);
  assert.deepEqual(a.sent.at(-1), { type: 'ping' });
  t.mock.timers.tick(10000);
  assert.equal(s.state, 'reconnecting');
  t.mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 2);
  s.stop();
  t.mock.timers.reset();
});
