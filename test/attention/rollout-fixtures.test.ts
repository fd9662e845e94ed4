// The engine's GPU rollout against the dense CPU reference (full matrices from the CPU forward pass,
// composed by plain matrix products), on the Hugging Face fixtures, for every head fusion and the
// discard ratios below. The engine reads back nothing but the rollout rows and the logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimesformerEngine } from '../../src/engine/timesformer';
import { HEAD_FUSIONS } from '../../src/model/head-fusions';
import { denseRollout } from '../../src/reference/rollout';
import { forwardReference } from '../../src/reference/timesformer';
import type { NamedTensors } from '../../src/tensor';
import { loadFixture, type Fixture, type FixtureName } from '../fixtures';
import { maxAbsDiff, testDevice } from '../gpu';

const DISCARDS = [0, 0.5, 0.9];
const FIXTURES: FixtureName[] = ['tiny-divided', 'tiny-joint_space_time', 'tiny-space_only', 'small-divided'];

describe.each(FIXTURES)('GPU rollout on %s', (name) => {
  let fixture: Fixture;
  let engine: TimesformerEngine;
  let cpu: NamedTensors;
  beforeAll(async () => {
    fixture = await loadFixture(name);
    engine = await TimesformerEngine.create(await testDevice(), fixture.model);
    cpu = forwardReference(fixture.model, fixture.pixels);
  });
  afterAll(() => engine?.destroy());

  it('equals the dense reference within 1e-5 for each fusion and discard ratio, through every layer', async () => {
    const c = fixture.model.config;
    const [T, , H] = fixture.pixels.shape;
    const N = (H / c.patchSize) ** 2;
    const geometry = { attentionType: c.attentionType, layers: c.numLayers, frames: T, patches: N, heads: c.numHeads };
    for (const discard of DISCARDS) {
      const gpu = await engine.run(fixture.pixels.data, fixture.pixels.shape as [number, number, number, number], { attention: 'none', hiddenStates: false, rollout: { discard } });
      expect([...gpu.keys()].filter((k) => k.startsWith('attn.'))).toEqual([]); // no probabilities read back
      for (const fusion of HEAD_FUSIONS) {
        const want = denseRollout(cpu, geometry, { fusion, discard });
        const got = gpu.get(`rollout.${fusion}`)!;
        expect(got.shape).toEqual(c.attentionType === 'space_only' ? [T, 1 + N] : [1 + N * T]);
        expect(maxAbsDiff(got.data, want.final), `${fusion}, discard ${discard}`).toBeLessThan(1e-5);
        expect(maxAbsDiff(gpu.get(`rollout.${fusion}.layers`)!.data, want.layers), `${fusion}, discard ${discard}, per layer`).toBeLessThan(1e-5);
      }
    }
  });
});
