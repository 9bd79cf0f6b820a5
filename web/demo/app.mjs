// The demo site (web/build.mjs calls builds()): the repair business's
// pages, rendered from pages/*.html into the shared layout.html at build
// time, its script (src/demo.ts) and styles, into OUTDIR/demo. The pages
// keep %COLLECTOR_URL%, %WRITE_KEY%, %PERSONALIZE_URL% and %TRACKER_ATTRS%
// for web/demo/serve.mjs to fill in when it serves them.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, copyFileSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';

const SERVICES = [
  {
    slug: 'screen-repair',
    name: 'Screen repair',
    price: 89,
    time: 'About 45 minutes for most phones',
    lead: 'A cracked or dead screen replaced with original-grade glass and display, while you wait.',
    details:
      '<p>We replace the whole display assembly, so touch, brightness and colours are as they were. Face ID, True Tone and fingerprint sensors keep working.</p><p>Every screen is tested for dead pixels, touch and brightness before you get the phone back.</p>',
  },
  {
    slug: 'battery-replacement',
    name: 'Battery replacement',
    price: 59,
    time: 'About 30 minutes',
    lead: 'A phone that lasts the day again: a new battery fitted and calibrated in half an hour.',
    details:
      '<p>A battery loses capacity with every charge. Below 80% of its original capacity a phone slows down and dies early; a new battery fixes both.</p><p>We fit a new cell, reseal the case against dust and water, and recycle the old one.</p>',
  },
  {
    slug: 'water-damage',
    name: 'Water damage repair',
    price: 79,
    time: 'The same day in most cases',
    lead: 'Dropped it in water? Switch it off, do not charge it, and bring it in: the sooner, the better.',
    details:
      '<p>We open the device, clean the board in an ultrasonic bath to stop corrosion, and replace what the water destroyed. The diagnosis is free.</p><p>Rice does not help: it leaves starch in the ports. Switching it off and bringing it to us does.</p>',
  },
];

/** Splits a page into its front matter (key: value lines between ---) and body. */
function parse(text) {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  const meta = {};
  if (!m) return { meta, body: text };
  for (const line of m[1].split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) meta[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return { meta, body: text.slice(m[0].length) };
}

const fill = (s, vars) => s.replace(/\{\{(\w+)\}\}/g, (_, k) => (k in vars ? String(vars[k]) : `{{${k}}}`));

function render(layout, page, urlPath) {
  const { meta, body } = parse(page);
  const nav = (href) => (urlPath === href || urlPath.startsWith(href + '/') ? 'aria-current="page"' : '');
  return layout
    .replace(/\{\{nav:([^}]+)\}\}/g, (_, href) => nav(href))
    .replace('{{main}}', meta.main ?? '')
    .replace('{{title}}', meta.title ?? 'FixIt Repairs')
    .replace('{{description}}', meta.description ?? '')
    .replace('{{body}}', body);
}

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function writePage(out, urlPath, html) {
  const file = urlPath === '/' ? join(out, 'index.html') : join(out, `${urlPath.slice(1)}.html`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, html);
}

export function builds(outdir, appdir) {
  const out = join(outdir, 'demo');
  const pages = {
    name: 'demo pages',
    setup(b) {
      b.onEnd((r) => {
        if (r.errors.length) return;
        const layout = readFileSync(join(appdir, 'layout.html'), 'utf8');
        const src = join(appdir, 'pages');
        for (const file of walk(src)) {
          const rel = relative(src, file).replace(/\.html$/, '');
          if (rel.endsWith('_service')) continue;
          const urlPath = rel === 'index' ? '/' : '/' + rel;
          writePage(out, urlPath, render(layout, readFileSync(file, 'utf8'), urlPath));
        }
        const tpl = readFileSync(join(src, 'services', '_service.html'), 'utf8');
        for (const s of SERVICES) {
          const urlPath = `/services/${s.slug}`;
          writePage(out, urlPath, render(layout, fill(tpl, s), urlPath));
        }
        mkdirSync(join(out, 'assets'), { recursive: true });
        copyFileSync(join(appdir, 'static', 'site.css'), join(out, 'assets', 'site.css'));
      });
    },
  };
  return [
    {
      entryPoints: [join(appdir, 'src', 'demo.ts')],
      outfile: join(out, 'assets', 'demo.js'),
      bundle: true,
      minify: true,
      format: 'iife',
      target: ['es2020'],
      plugins: [pages],
    },
  ];
}
