// Builds the browser side with esbuild: node web/build.mjs OUTDIR
//
// Every web/<app>/app.mjs exports builds(outdir, root): a list of esbuild
// option objects (the app's bundles, written under outdir). Every
// web/<app>/test/*.test.ts is bundled for node into OUTDIR/tests/, where
// `node --test OUTDIR/tests/` runs them (ctest "web.unit").
import { build } from 'esbuild';
import { readdirSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const web = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node web/build.mjs OUTDIR');
  process.exit(64);
}
mkdirSync(outdir, { recursive: true });

const apps = readdirSync(web, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(web, d.name, 'app.mjs')))
  .map((d) => d.name)
  .sort();

const jobs = [];
for (const app of apps) {
  const mod = await import(pathToFileURL(join(web, app, 'app.mjs')).href);
  for (const opts of mod.builds(outdir, join(web, app))) {
    jobs.push(build({ logLevel: 'warning', ...opts }));
  }
}

const tests = [];
for (const app of apps) {
  const dir = join(web, app, 'test');
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.test.ts')) tests.push(join(dir, f));
  }
}
rmSync(join(outdir, 'tests'), { recursive: true, force: true });
for (const t of tests) {
  const app = basename(dirname(dirname(t)));
  jobs.push(
    build({
      logLevel: 'warning',
      entryPoints: [t],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      packages: 'external',
      outfile: join(outdir, 'tests', `${app}.${basename(t, '.ts')}.mjs`),
    }),
  );
}

const results = await Promise.allSettled(jobs);
const failed = results.filter((r) => r.status === 'rejected');
for (const f of failed) console.error(f.reason?.message ?? f.reason);
process.exit(failed.length ? 1 : 0);
