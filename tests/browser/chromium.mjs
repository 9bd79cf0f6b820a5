// Debian's chromium for the browser tests, driven by playwright-core: never
// a downloaded browser. Headless, with the flags that keep it from calling
// hosts this machine cannot reach, and a fresh profile per launch.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.ANALYTICS_CHROMIUM || '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

// launch(opts): a persistent context on a fresh user-data dir (removed by
// close()). opts go to launchPersistentContext (viewport, offline, ...).
export async function launch(opts = {}) {
  const base = process.env.ANALYTICS_TEST_TMP || tmpdir();
  mkdirSync(base, { recursive: true });
  const profile = mkdtempSync(join(base, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    ...opts,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
