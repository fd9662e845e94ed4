// Paths and loaders for the reference fixtures copied into fixtures/ (see fixtures/README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type LoadedModel } from '../src/checkpoint/load';
import { folderSource } from '../src/checkpoint/node-source';
import { readSafetensors } from '../src/checkpoint/safetensors';
import { toFloat32, type TensorMap } from '../src/checkpoint/tensor';
import type { Tensor } from '../src/tensor';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'timesformer');
export const FIXTURE_NAMES = ['tiny-divided', 'tiny-space_only', 'tiny-joint_space_time', 'small-divided', 'base1-divided-fp16'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export const modelDir = (name: FixtureName) => join(FIXTURES, name, 'model');
export const expectedPath = (name: FixtureName) => join(FIXTURES, name, 'expected.safetensors');
/** Class-specific gradients and relevance written by PyTorch autograd (scripts/torch/write-explanations.py). */
export const explanationsPath = (name: FixtureName) => join(FIXTURES, name, 'explanations.safetensors');

export interface Fixture {
  model: LoadedModel;
  expected: TensorMap;
  /** pixel_values without the batch dimension: [T, 3, H, W]. */
  pixels: Tensor;
}

export async function loadFixture(name: FixtureName): Promise<Fixture> {
  const model = await loadModel(folderSource(modelDir(name)));
  const expected = readSafetensors(new Uint8Array(readFileSync(expectedPath(name))), expectedPath(name));
  const pv = expected.get('pixel_values')!;
  return { model, expected, pixels: { shape: pv.shape.slice(1), data: toFloat32(pv) } };
}
