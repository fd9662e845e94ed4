// Every kernel variant, forced for the whole model, meets the fixture tolerances (ARCHITECTURE.md): what the
// autotuner may pick is correct on this adapter, not only on the shapes it measured.
import { describe, expect, it } from 'vitest';
import { GEMM_VARIANTS } from '../../src/engine/kernels/gemm';
import { TimesformerEngine, type EngineOptions } from '../../src/engine/timesformer';
import { compareOutputs, F16_WEIGHT_TOLERANCES, WGSL_TOLERANCES } from '../../src/verify/compare';
import { loadFixture } from '../fixtures';
import { testDevice } from '../gpu';

const { features } = await testDevice();

/** Each GEMM variant once, with the non-default attention and LayerNorm variants where they can run. */
const combinations: NonNullable<EngineOptions['kernels']>[] = GEMM_VARIANTS.filter((g) => g !== 'registers-f16' || features.shaderF16).map((gemm) => ({
  gemm,
  attention: 'kv-tiles',
  layerNorm: features.subgroups ? 'subgroups' : 'workgroup',
}));

describe('kernel variants against the fixtures', () => {
  for (const kernels of combinations) {
    // f16 arithmetic runs on f16 weights: it is held to the f16-weight tolerances.
    const f16 = kernels.gemm === 'registers-f16';
    for (const name of ['tiny-divided', 'tiny-joint_space_time'] as const) {
      it(`${kernels.gemm} + ${kernels.attention} + ${kernels.layerNorm}: ${name}${f16 ? ' (f16 weights)' : ''}`, async () => {
        const { model, expected, pixels } = await loadFixture(name);
        const engine = await TimesformerEngine.create(await testDevice(), model, { kernels, weights: f16 ? 'f16' : 'f32' });
        try {
          const outputs = await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'all', hiddenStates: true });
          expect(compareOutputs(outputs, expected, f16 ? F16_WEIGHT_TOLERANCES : WGSL_TOLERANCES).filter((r) => !r.pass)).toEqual([]);
        } finally {
          engine.destroy();
        }
      });
    }
  }
});
