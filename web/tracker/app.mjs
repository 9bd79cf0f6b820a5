// The tracker's bundles (web/build.mjs calls builds()):
//   tracker/analytics.js              the script tag (IIFE, window.analytics), what the
//                                     collector serves at /analytics.js
//   tracker/analytics-<chunk>.js      ES module chunks analytics.js imports only when
//                                     needed: fingerprint (ThumbmarkJS, once per device
//                                     with analytics consent), consent (the banner: a
//                                     visitor to ask), vitals (web-vitals, with analytics)
//   tracker/npm/                      the same API as an ES module package
//                                     (createTracker), web-vitals and ThumbmarkJS left
//                                     as dependencies for the site's bundler
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const target = ['es2020'];

export function builds(outdir, appdir) {
  const out = join(outdir, 'tracker');
  const root = JSON.parse(readFileSync(join(appdir, '..', '..', 'package.json'), 'utf8'));
  const npmPackage = {
    name: 'onEnd: package.json',
    setup(b) {
      b.onEnd((r) => {
        if (r.errors.length) return;
        const dir = join(out, 'npm');
        mkdirSync(dir, { recursive: true });
        const pkg = {
          name: '@analytics/tracker',
          version: root.version,
          description: 'The browser tracker and consent banner of the self-hosted analytics pipeline',
          type: 'module',
          module: './index.js',
          exports: { '.': './index.js' },
          sideEffects: false,
          dependencies: {
            '@thumbmarkjs/thumbmarkjs': root.dependencies['@thumbmarkjs/thumbmarkjs'],
            'web-vitals': root.dependencies['web-vitals'],
          },
        };
        writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
      });
    },
  };
  return [
    {
      entryPoints: [join(appdir, 'src', 'global.ts')],
      outfile: join(out, 'analytics.js'),
      bundle: true,
      minify: true,
      format: 'iife',
      target,
      sourcemap: 'external',
      legalComments: 'none',
      // the fingerprint chunk's URL is only known at run time
      logOverride: { 'unsupported-dynamic-import': 'silent' },
    },
    ...['fingerprint', 'consent', 'vitals'].map((name) => ({
      entryPoints: [join(appdir, 'src', name === 'consent' ? 'banner.ts' : `${name}.ts`)],
      outfile: join(out, `analytics-${name}.js`),
      bundle: true,
      minify: true,
      format: 'esm',
      target,
      legalComments: 'none',
    })),
    {
      entryPoints: [join(appdir, 'src', 'index.ts')],
      outdir: join(out, 'npm'),
      bundle: true,
      splitting: true,
      format: 'esm',
      target,
      packages: 'external',
      sourcemap: true,
      plugins: [npmPackage],
    },
  ];
}
