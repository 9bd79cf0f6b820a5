#!/usr/bin/env node
// Serves the demo site (the build's demo/ directory) as the repair
// business's web server would: clean URLs (/pricing is pricing.html), the
// tracker's script tag pointing at the collector, and the site's own small
// API (POST /api/bookings, POST /api/messages) that the booking form calls.
//
//   node web/demo/serve.mjs --root build/web/demo --listen 127.0.0.1:8000 \
//     --collector http://127.0.0.1:8080 [--write-key KEY] [--personalize http://127.0.0.1:8090] \
//     [--tracker-attrs 'data-flush-interval="1000"']
//
// Prints one JSON line {"event":"demo.listening","url":...,"port":...} once
// it listens (port 0 picks a free one), then one line per request with
// --log. SIGTERM and SIGINT stop it.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

// Other names the pipeline's rules use for the same pages (deploy/config/personalize.json links /booking).
const REDIRECTS = { '/booking': '/book' };
const PRICES = { 'screen-repair': 89, 'battery-replacement': 59, 'water-damage': 79 };
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

function args(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  const o = {
    root: resolve(here, '..', '..', 'build', 'web', 'demo'),
    listen: '127.0.0.1:8000',
    collector: 'http://127.0.0.1:8080',
    writeKey: '',
    personalize: '',
    trackerAttrs: '',
    log: false,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--root') o.root = resolve(v());
    else if (a === '--listen') o.listen = v();
    else if (a === '--collector') o.collector = v().replace(/\/+$/, '');
    else if (a === '--write-key') o.writeKey = v();
    else if (a === '--personalize') o.personalize = v().replace(/\/+$/, '');
    else if (a === '--tracker-attrs') o.trackerAttrs = v();
    else if (a === '--log') o.log = true;
    else if (a === '-h' || a === '--help') {
      console.log('usage: serve.mjs [--root DIR] [--listen HOST:PORT] [--collector URL] [--write-key KEY] [--personalize URL] [--tracker-attrs ATTRS] [--log]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const escAttr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The file for a URL path, or null: /x is x.html or x/index.html, / is index.html. */
async function find(root, urlPath) {
  const clean = normalize(decodeURIComponent(urlPath)).replace(/^(\.\.[/\\])+/, '');
  const base = join(root, clean);
  if (!base.startsWith(root)) return null;
  const tries = extname(clean) ? [base] : [base.replace(/\/$/, '') + '.html', join(base, 'index.html')];
  for (const f of tries) {
    try {
      return { file: f, body: await readFile(f) };
    } catch {
      /* next */
    }
  }
  return null;
}

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function readBody(req, max = 65536) {
  return new Promise((ok, fail) => {
    let n = 0;
    const parts = [];
    req.on('data', (c) => {
      n += c.length;
      if (n > max) {
        fail(new Error('too large'));
        req.destroy();
      } else parts.push(c);
    });
    req.on('end', () => ok(Buffer.concat(parts).toString('utf8')));
    req.on('error', fail);
  });
}

async function api(req, res, path) {
  if (req.method !== 'POST') return send(res, 405, 'application/json', '{"error":"use POST"}', { Allow: 'POST' });
  let body;
  try {
    body = await readBody(req);
  } catch {
    return send(res, 413, 'application/json', '{"error":"too large"}');
  }
  if (path === '/api/messages') return send(res, 202, 'application/json', '{"ok":true}');
  let data;
  try {
    data = JSON.parse(body);
  } catch {
    return send(res, 400, 'application/json', '{"error":"malformed JSON"}');
  }
  if (!data || typeof data.service !== 'string' || !(data.service in PRICES) || !data.email) {
    return send(res, 422, 'application/json', '{"error":"service and email are needed"}');
  }
  // A booking system takes a moment.
  await new Promise((r) => setTimeout(r, 40 + Math.random() * 60));
  const id = 'b-' + randomBytes(4).toString('hex');
  send(res, 201, 'application/json', JSON.stringify({ booking_id: id, value: PRICES[data.service], currency: 'EUR' }));
}

function main() {
  const o = args(process.argv);
  const fillIn = (html) =>
    html
      .replaceAll('%COLLECTOR_URL%', escAttr(o.collector))
      .replaceAll('%WRITE_KEY%', escAttr(o.writeKey))
      .replaceAll('%PERSONALIZE_URL%', escAttr(o.personalize))
      .replaceAll('%TRACKER_ATTRS%', o.trackerAttrs);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const path = url.pathname;
    if (o.log) res.on('finish', () => console.log(JSON.stringify({ event: 'demo.request', method: req.method, path, status: res.statusCode })));
    try {
      if (path.startsWith('/api/')) return await api(req, res, path);
      if (REDIRECTS[path]) return send(res, 302, 'text/plain', '', { Location: REDIRECTS[path] + url.search });
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'use GET', { Allow: 'GET, HEAD' });
      const hit = await find(o.root, path);
      if (!hit) {
        const nf = await find(o.root, '/404');
        return send(res, 404, TYPES['.html'], nf ? fillIn(nf.body.toString('utf8')) : '<h1>Not found</h1>', {
          'Cache-Control': 'no-store',
        });
      }
      const type = TYPES[extname(hit.file)] ?? 'application/octet-stream';
      const body = type.startsWith('text/html') ? fillIn(hit.body.toString('utf8')) : hit.body;
      send(res, 200, type, body, { 'Cache-Control': type.startsWith('text/html') ? 'no-store' : 'no-cache' });
    } catch (e) {
      if (!res.headersSent) send(res, 500, 'text/plain', 'error');
      console.error(JSON.stringify({ event: 'demo.error', path, error: String(e) }));
    }
  });
  const i = o.listen.lastIndexOf(':');
  const host = o.listen.slice(0, i) || '127.0.0.1';
  server.listen(Number(o.listen.slice(i + 1)), host, () => {
    const port = server.address().port;
    console.log(JSON.stringify({ event: 'demo.listening', url: `http://${host}:${port}`, port, root: o.root }));
  });
  server.on('error', (e) => {
    console.error(JSON.stringify({ event: 'demo.listen_failed', listen: o.listen, error: String(e) }));
    process.exit(1);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
