// The tracker's event schema against the real collector: one event of every
// type the tracker makes (web/tracker/src/catalog.ts, built by the very
// functions the page uses, with the longest values it can meet), as the
// tracker sends them (text/plain, the write key in the query), one request
// each and then all in one batch: every one must be taken (202, nothing
// rejected). Prints PASS:/FAIL: lines; writes the event ids sent to IDS.
//
// Environment: EVENTS_URL (the collector's events URL), WRITE_KEY,
// ANALYTICS_WEB_OUT (the build), IDS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomFillSync } from 'node:crypto';

const t = await import(pathToFileURL(join(process.env.ANALYTICS_WEB_OUT, 'tracker', 'npm', 'index.js')).href);
const url = `${process.env.EVENTS_URL}?write_key=${encodeURIComponent(process.env.WRITE_KEY)}`;
const rnd = (b) => randomFillSync(b);
let failed = 0;
const check = (ok, what, detail) => {
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}${!ok && detail !== undefined ? ` (${JSON.stringify(detail).slice(0, 400)})` : ''}`);
};

const consent = { necessary: true, analytics: true, marketing: false };
const wire = (c, i) =>
  t.toWire(
    t.makeDraft(c.type, c.category, c.example(), {
      id: t.uuid(rnd),
      ts: Date.now() - i,
      url: 'https://fixit.example/services/screen-repair?utm_source=newsletter&x=' + 'é'.repeat(3000),
      referrer: 'https://www.google.com/',
      sessionId: t.uuid(rnd),
      userId: i % 2 ? 'cust-' + i : null,
    }),
    'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    consent,
  );
const post = async (events) => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', Origin: 'https://fixit.example' },
    body: t.encodeBatch(events),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
};

const sent = [];
check(t.CATALOG.length === Object.keys(t.EVENTS).length, `the catalog has every event type the tracker makes (${t.CATALOG.length})`);
for (const [i, c] of t.CATALOG.entries()) {
  const e = wire(c, i);
  const a = await post([e]);
  check(a.status === 202 && a.body?.accepted === 1 && a.body.rejected.length === 0, `${c.type}: 202, taken`, a);
  sent.push({ id: e.event_id, type: e.event_type, data: e.event_data });
}
const all = t.CATALOG.map(wire);
const a = await post(all);
check(a.status === 202 && a.body?.accepted === all.length && a.body.rejected.length === 0, `all ${all.length} in one batch: 202, all taken`, a);
for (const e of all) sent.push({ id: e.event_id, type: e.event_type, data: e.event_data });
writeFileSync(process.env.IDS, sent.map((s) => JSON.stringify(s)).join('\n') + '\n');
process.exit(failed ? 1 : 0);
