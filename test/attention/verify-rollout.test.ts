// `npm run verify` on expected files that hold the attention rollout (written by the dense CPU
// reference: test/attention/write-rollout-expected.ts): compared for every backend, failed by one that
// cannot produce it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify } from '../cli/run-verify';
import { modelDir } from '../fixtures';
import { rolloutExpectedPath } from './write-rollout-expected';

const rolloutLine = (fusion: string, status: string) => new RegExp(`^rollout\\.${fusion} +\\[[\\d,]+\\] +max abs error [\\d.e+-]+ \\(tolerance 1\\.00e-5\\) +${status}$`, 'm');

describe('verify compares rollout.mean|max|min', () => {
  // Two processes are enough here: test/attention/rollout-fixtures.test.ts checks the GPU rollout on every fixture.
  for (const name of ['tiny-divided', 'tiny-space_only'] as const) {
    it(`passes on ${name} with --backend wgsl (the GPU rollout)`, async () => {
      const { code, stdout } = await verify(modelDir(name), rolloutExpectedPath(name), '--backend', 'wgsl');
      for (const fusion of ['mean', 'max', 'min']) expect(stdout).toMatch(rolloutLine(fusion, 'pass'));
      expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
      expect(code).toBe(0);
    });
  }

  it('passes with --backend cpu (the dense reference itself)', async () => {
    const { code, stdout } = await verify(modelDir('tiny-space_only'), rolloutExpectedPath('tiny-space_only'), '--backend', 'cpu');
    expect(stdout).toMatch(/^rollout\.min +\[4,17\] +max abs error 0\.00e\+0 /m);
    expect(code).toBe(0);
  });

  it('fails a backend that cannot produce the rollout (an ONNX export)', async () => {
    const { code, stdout } = await verify(modelDir('tiny-divided'), rolloutExpectedPath('tiny-divided'), '--backend', 'onnx-wasm');
    expect(stdout).toMatch(/^rollout\.mean .* not produced by the backend +FAIL$/m);
    expect(code).toBe(1);
  });

  it('fails when the rollout differs', async () => {
    const bytes = new Uint8Array(readFileSync(rolloutExpectedPath('tiny-divided')));
    const view = new DataView(bytes.buffer);
    const headerLength = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const at = 8 + headerLength + header['rollout.max'].data_offsets[0] + 4 * 5; // rollout.max[5]
    view.setFloat32(at, view.getFloat32(at, true) + 5e-5, true);
    const path = join(mkdtempSync(join(tmpdir(), 'verify-rollout-')), 'expected.safetensors');
    writeFileSync(path, bytes);
    const { code, stdout } = await verify(modelDir('tiny-divided'), path, '--backend', 'wgsl');
    expect(stdout).toMatch(rolloutLine('max', 'FAIL'));
    expect(stdout).toMatch(rolloutLine('mean', 'pass'));
    expect(code).toBe(1);
  });
});
