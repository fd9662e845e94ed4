// Node side of the browser tools: serve the project with Vite and open the harness page in headless
// Chromium (Debian's /usr/bin/chromium when present, else Playwright's own) with WebGPU enabled.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium, type Browser, type Page } from '@playwright/test';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import type { DeviceTier } from '../../engine/device';
import { chromiumArgs } from './chromium';

const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface HarnessSession {
  page: Page;
  baseUrl: string;
  close(): Promise<void>;
}

/** Start Vite (with extra middleware, e.g. to serve a user's model folder) and open the harness, its device of `tier`. */
export async function openHarness(plugins: Plugin[] = [], log: (line: string) => void = () => {}, tier: DeviceTier = 'adapter'): Promise<HarnessSession> {
  const server: ViteDevServer = await createServer({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), plugins, server: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not start');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const systemChromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: existsSync(systemChromium) ? systemChromium : undefined, args: chromiumArgs, headless: true });
    const page = await browser.newPage();
    page.on('console', (m) => log(m.text()));
    await page.goto(`${baseUrl}/src/cli/browser/harness.html${tier === 'baseline' ? '?gpu=baseline' : ''}`);
    await page.waitForFunction(() => 'harness' in window, undefined, { timeout: 120_000 });
    return {
      page,
      baseUrl,
      async close() {
        await browser?.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

/** A Vite plugin serving the files of a local folder at `/__local/<name>/<file>` (file names only, no subfolders). */
export function serveLocalFolder(name: string, dir: string): Plugin {
  return {
    name: `serve-local-${name}`,
    configureServer(server) {
      server.middlewares.use(`/__local/${name}`, (req, res) => {
        const file = join(dir, basename(decodeURIComponent((req.url ?? '/').split('?')[0])));
        if (!existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(file));
      });
    },
  };
}
