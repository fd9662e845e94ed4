// Writes test/attention/expected/<fixture>.safetensors: the fixture's pixel_values and the attention
// rollout (`rollout.mean|max|min`, no discard) of the dense CPU reference (src/reference/rollout.ts) on
// the CPU forward pass — expected files for `verify` to compare a backend's rollout with.
// Regenerate: npx tsx test/attention/write-rollout-expected.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attentionGeometry } from '../../src/model/geometry';
import { rolloutOutputs } from '../../src/reference/rollout';
import { forwardReference } from '../../src/reference/timesformer';
import type { Tensor } from '../../src/tensor';
import { loadFixture, type FixtureName } from '../fixtures';

export const ROLLOUT_FIXTURES: FixtureName[] = ['tiny-divided', 'tiny-joint_space_time', 'tiny-space_only', 'small-divided'];
export const rolloutExpectedPath = (name: FixtureName) => join(import.meta.dirname, 'expected', `${name}.safetensors`);

/** A safetensors file of float32 tensors, in the order given. */
function safetensors(tensors: [string, Tensor][]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { written_by: 'test/attention/write-rollout-expected.ts (dense CPU rollout reference)' } };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

async function main() {
  for (const name of ROLLOUT_FIXTURES) {
    const { model, pixels } = await loadFixture(name);
    const rollouts = rolloutOutputs(forwardReference(model, pixels), attentionGeometry(model.config, pixels.shape));
    writeFileSync(rolloutExpectedPath(name), safetensors([['pixel_values', { shape: [1, ...pixels.shape], data: pixels.data }], ...rollouts]));
    console.log(`${rolloutExpectedPath(name)}: ${[...rollouts].map(([n, t]) => `${n} [${t.shape}]`).join(', ')}`);
  }
}

if (process.argv[1]?.endsWith('write-rollout-expected.ts')) await main();
