// The dashboard's build (web/build.mjs calls builds()): one ES module entry,
// src/main.ts, split by esbuild so the live view (in the entry) does not wait
// for the other views or for ECharts (each view and each kind of chart is a
// chunk loaded when first shown). Written to OUTDIR/dashboard/:
//   index.html                 from src/index.html, naming the hashed entry
//   assets/main-<hash>.js|css  the entry and its stylesheet
//   assets/chunks/*-<hash>.js  the views and ECharts, loaded on demand
// with .gz and .br siblings of every text file, which the push-gateway sends
// to clients that accept them. Content-hashed names let the gateway cache
// assets/ for a year; index.html is revalidated on every load.
import { readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const COMPRESS = /\.(js|css|html|svg|json)$/; // not the source maps: big, and fetched only by developer tools;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)],
  );
}

// Writes index.html and the compressed siblings once esbuild is done.
function page(out, appdir) {
  return {
    name: 'dashboard-page',
    setup(build) {
      build.onStart(() => {
        rmSync(out, { recursive: true, force: true }); // no stale hashed files
      });
      build.onEnd((result) => {
        if (result.errors.length > 0 || !result.metafile) return;
        const outputs = Object.entries(result.metafile.outputs);
        const entry = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith('src/main.ts'));
        if (!entry) throw new Error('dashboard: no output for src/main.ts');
        const [js, meta] = entry;
        const rel = (p) => relative(out, p).split('\\').join('/');
        const template = readFileSync(join(appdir, 'src/index.html'), 'utf8');
        // The chunks the entry imports statically, asked for at once rather
        // than after the entry has been read (one round trip fewer).
        const preload = meta.imports
          .filter((i) => i.kind === 'import-statement' && !i.external)
          .map((i) => `<link rel="modulepreload" href="${rel(i.path)}">`)
          .join('\n  ');
        const html = template
          .replace('%MAIN_JS%', rel(js))
          .replace('%MAIN_CSS%', meta.cssBundle ? rel(meta.cssBundle) : '')
          .replace('%PRELOAD%', preload);
        writeFileSync(join(out, 'index.html'), html);
        writeFileSync(join(out, 'favicon.svg'), readFileSync(join(appdir, 'src/favicon.svg')));
        for (const f of walk(out)) {
          if (!COMPRESS.test(f) || statSync(f).size < 512) continue;
          const data = readFileSync(f);
          writeFileSync(`${f}.gz`, gzipSync(data, { level: 9 }));
          writeFileSync(
            `${f}.br`,
            brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
          );
        }
      });
    },
  };
}

export function builds(outdir, appdir) {
  const out = join(outdir, 'dashboard');
  mkdirSync(out, { recursive: true });
  return [
    {
      entryPoints: [join(appdir, 'src/main.ts')],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      outdir: join(out, 'assets'),
      entryNames: '[name]-[hash]',
      chunkNames: 'chunks/[name]-[hash]',
      assetNames: '[name]-[hash]',
      minify: true,
      sourcemap: 'linked',
      legalComments: 'eof',
      metafile: true,
      plugins: [page(out, appdir)],
    },
  ];
}
