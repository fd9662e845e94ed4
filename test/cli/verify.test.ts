// `npm run verify` end to end, as a user runs it: a real process, its output and exit code.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify } from './run-verify';
import { expectedPath, modelDir } from '../fixtures';


/** A copy of the tiny-divided expected file with one logit changed by `delta`. */
function tampered(delta: number): string {
  const bytes = new Uint8Array(readFileSync(expectedPath('tiny-divided')));
  const view = new DataView(bytes.buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const at = 8 + headerLength + header.logits.data_offsets[0] + 4 * 3; // logits[0, 3]
  view.setFloat32(at, view.getFloat32(at, true) + delta, true);
  const path = join(mkdtempSync(join(tmpdir(), 'verify-')), 'expected.safetensors');
  writeFileSync(path, bytes);
  return path;
}

describe('npm run verify', () => {
  for (const backend of ['cpu', 'wgsl']) {
    it(`passes on tiny-divided with --backend ${backend}, one line per tensor`, async () => {
      const { code, stdout } = await verify(modelDir('tiny-divided'), expectedPath('tiny-divided'), '--backend', backend);
      expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
      expect(code).toBe(0);
      for (const name of ['logits', 'hidden_states.0', 'hidden_states.2', 'last_hidden_state', 'attn.0.temporal', 'attn.1.spatial']) {
        expect(stdout).toMatch(new RegExp(`^${name.replace('.', '\\.')} +\\[[\\d,]+\\] +max abs error [\\d.e-]+ \\(tolerance [\\d.e-]+\\) +pass$`, 'm'));
      }
    });
  }

  it('fails loudly on a tampered expected file', async () => {
    const { code, stdout } = await verify(modelDir('tiny-divided'), tampered(1e-3));
    expect(code).toBe(1);
    expect(stdout).toMatch(/^logits .* FAIL$/m);
    expect(stdout.trim().split('\n').at(-1)).toMatch(/^verify: FAIL \(logits 1\.0\de-3\)$/);
  });

  it('--tolerance sets one absolute tolerance', async () => {
    const { code, stdout } = await verify(modelDir('tiny-divided'), tampered(1e-3), '--tolerance', '1e-2');
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
    expect(code).toBe(0);
  });

  it('explains bad arguments and missing files', async () => {
    const usage = await verify(modelDir('tiny-divided'));
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/usage: npm run verify/);
    const missing = await verify('/nonexistent', expectedPath('tiny-divided'));
    expect(missing.stderr).toMatch(/no config.json in \/nonexistent/);
    const backend = await verify(modelDir('tiny-divided'), expectedPath('tiny-divided'), '--backend', 'nope');
    expect(backend.stderr).toMatch(/unknown backend 'nope'/);
  });
});
