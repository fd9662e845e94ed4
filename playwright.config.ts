import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';
import { chromiumArgs } from './src/cli/browser/chromium';

// Browser tests (e2e/) against the Vite dev server, in Chromium with WebGPU.
//
// On Debian (CI, .ci/run) we use the distribution's /usr/bin/chromium: `npx playwright install` cannot
// download there. Elsewhere Playwright's own Chromium is used (`npx playwright install chromium` once).
// Without a GPU, WebGPU runs on SwiftShader (a CPU Vulkan), which is slow: timeouts are generous and
// tests run one at a time.

const systemChromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// E2E_PORT: run beside another dev server (locally, one already on the port is reused; on CI it is an error).
const port = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    ...devices['Desktop Chrome'],
    baseURL: `http://127.0.0.1:${port}`,
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    video: 'off',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: existsSync(systemChromium) ? systemChromium : undefined,
      args: chromiumArgs,
    },
  },
  webServer: {
    command: `VITE_NO_HMR=1 npx vite --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
