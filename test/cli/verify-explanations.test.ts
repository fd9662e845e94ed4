// `npm run verify` on the fixtures' explanations.safetensors (PyTorch autograd, scripts/torch/write-explanations.py):
// grad_pixels.class.<c> and relevance.class.<c> are compared, produced by --backend cpu and wgsl, failed by a backend
// that cannot produce them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify } from './run-verify';
import { explanationsPath, modelDir } from '../fixtures';

const line = (name: string, status: string) => new RegExp(`^${name.replace(/\./g, '\\.')} +\\[[\\d,]+\\] +max abs error [\\d.e+-]+ \\(tolerance 1\\.00e-5\\) +${status}$`, 'm');

type Header = Record<string, { data_offsets: [number, number] }>;

/** A copy of tiny-divided's explanations, its header and data edited by `edit` (data offsets from the body's start). */
function tampered(edit: (header: Header, body: DataView) => void): string {
  const bytes = new Uint8Array(readFileSync(explanationsPath('tiny-divided')));
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header: Header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const body = bytes.slice(8 + headerLength);
  edit(header, new DataView(body.buffer));
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  const path = join(mkdtempSync(join(tmpdir(), 'verify-explanations-')), 'explanations.safetensors');
  writeFileSync(path, out);
  return path;
}

describe('verify compares grad_pixels.class.<c> and relevance.class.<c>', () => {
  const cases = [['tiny-divided', 'cpu'], ['tiny-space_only', 'cpu'], ['tiny-divided', 'wgsl'], ['tiny-space_only', 'wgsl'], ['tiny-joint_space_time', 'wgsl']] as const;
  for (const [name, backend] of cases) {
    // wgsl: our engine's backward pass (src/engine/backward.ts) on SwiftShader, kernels tuned in the process.
    it(`passes on ${name} with --backend ${backend}`, { timeout: backend === 'wgsl' ? 300_000 : undefined }, async () => {
      const { code, stdout } = await verify(modelDir(name), explanationsPath(name), '--backend', backend);
      const classes = { 'tiny-divided': [0, 3], 'tiny-space_only': [7, 5], 'tiny-joint_space_time': [9, 2] }[name];
      for (const c of classes) {
        expect(stdout).toMatch(line(`grad_pixels.class.${c}`, 'pass'));
        expect(stdout).toMatch(line(`relevance.class.${c}`, 'pass'));
      }
      expect(stdout.trim().split('\n').at(-1)).toBe('verify: PASS');
      expect(code).toBe(0);
    });
  }

  it('fails when the relevance differs', async () => {
    const path = tampered((header, body) => {
      const at = header['relevance.class.3'].data_offsets[0] + 4 * 9;
      body.setFloat32(at, body.getFloat32(at, true) + 5e-5, true);
    });
    const { code, stdout } = await verify(modelDir('tiny-divided'), path, '--backend', 'cpu');
    expect(stdout).toMatch(line('relevance.class.3', 'FAIL'));
    expect(stdout).toMatch(line('grad_pixels.class.3', 'pass'));
    expect(code).toBe(1);
  });

  it('fails a backend that cannot produce them (an ONNX export)', async () => {
    const { code, stdout } = await verify(modelDir('tiny-divided'), explanationsPath('tiny-divided'), '--backend', 'onnx-wasm');
    expect(stdout).toMatch(/^grad_pixels\.class\.0 .* not produced by the backend +FAIL$/m);
    expect(stdout).toMatch(/^relevance\.class\.3 .* not produced by the backend +FAIL$/m);
    expect(code).toBe(1);
  });

  it('names a class the model does not have', async () => {
    const path = tampered((header) => {
      header['relevance.class.12'] = header['relevance.class.3'];
      delete header['relevance.class.3'];
    });
    const { code, stderr, stdout } = await verify(modelDir('tiny-divided'), path, '--backend', 'cpu');
    expect(stderr).toMatch(/explains class 12; the model has 10 labels/);
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: FAIL (error)');
    expect(code).toBe(1);
  });
});
