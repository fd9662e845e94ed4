// What the app's browser tests share: the test clips, an offline hub, and a real drop of a file.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';

export const CLIPS = 'e2e/clips/out';

/** Small test clips (h264.mp4, vp9.webm, not-a-video.mp4, truncated.mp4, …) and a 20 s one for timelines, made once with ffmpeg. */
export function makeClips() {
  execFileSync('bash', ['e2e/clips/make-clips.sh'], { stdio: 'inherit', timeout: 170_000 });
  // 20 s: several windows of the tiny model's clip (as e2e/worker.spec.ts makes it).
  if (!existsSync(`${CLIPS}/long-20s.mp4`)) {
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30:duration=20', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', `${CLIPS}/long-20s.mp4`]);
  }
}

/** Every hub request fails as if offline (the app must not reach the network in tests anyway). */
export const offlineHub = (context: BrowserContext) => context.route('https://huggingface.co/**', (route) => route.abort('internetdisconnected'));

/** A real drop event carrying the file in a DataTransfer, on the drop zone. */
export async function dropFile(page: Page, path: string, type: string) {
  const data = await page.evaluateHandle(
    ({ b64, name, type }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type }));
      return transfer;
    },
    { b64: readFileSync(path).toString('base64'), name: basename(path), type },
  );
  const zone = page.getByTestId('drop-zone');
  await zone.dispatchEvent('dragover', { dataTransfer: data });
  await zone.dispatchEvent('drop', { dataTransfer: data });
}

/** A stand-in for huggingface.co: serves model files (by name → path) under /<owner>/<repo>/resolve/main/, slowly. */
export async function standInHub(files: Record<string, string>) {
  const requests: string[] = [];
  const hub = { requests, chunkDelayMs: 40, url: '' };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    requests.push(path);
    // The app's page is cross-origin isolated: a cross-origin fetch needs CORS.
    const headers = { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' };
    const file = /^\/[^/]+\/[^/]+\/resolve\/main\/([\w.-]+)$/.exec(path)?.[1];
    if (!file || !files[file] || !existsSync(files[file])) {
      res.writeHead(404, headers).end();
      return;
    }
    const body = readFileSync(files[file]);
    res.writeHead(200, { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });
    let sent = 0;
    const next = () => {
      if (res.destroyed) return;
      if (sent >= body.length) return void res.end();
      res.write(body.subarray(sent, (sent += 32 * 1024)));
      setTimeout(next, hub.chunkDelayMs);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    hub,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface Pixels {
  colours: number;
  /** Grey levels of every 7th pixel. */
  sample: number[];
}

/**
 * How many colours a canvas has (drawn, not flat) and a sample of its pixels. Redrawing the same picture
 * on SwiftShader's canvas can move a few pixels by a level, so "changed" means a mean difference of over
 * 2 grey levels, not a different hash.
 */
export function canvasPixels(page: Page, testId: string): Promise<Pixels> {
  return page.getByTestId(testId).first().evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    const sample: number[] = [];
    for (let i = 0; i < d.length; i += 4) {
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if ((i / 4) % 7 === 0) sample.push((d[i] + d[i + 1] + d[i + 2]) / 3);
    }
    return { colours: colours.size, sample };
  });
}

export function difference(a: Pixels, b: Pixels): number {
  if (a.sample.length !== b.sample.length) return Infinity;
  return a.sample.reduce((s, v, i) => s + Math.abs(v - b.sample[i]), 0) / a.sample.length;
}
