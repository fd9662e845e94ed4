// The backends the command-line tools can run in Node.
import type { LoadedModel } from '../checkpoint/load';
import { nodeEngineDevice } from '../engine/node-gpu';
import { TimesformerEngine } from '../engine/timesformer';
import { forwardReference } from '../reference/timesformer';
import type { NamedTensors, Tensor } from '../tensor';
import { CPU_TOLERANCES, WGSL_TOLERANCES, type Tolerances } from '../verify/compare';

export interface NodeBackend {
  tolerances: Tolerances;
  /** Every output verify compares: logits, hidden states, all attention probabilities. */
  run(model: LoadedModel, pixels: Tensor): Promise<NamedTensors>;
}

export const nodeBackends: Record<string, NodeBackend> = {
  cpu: { tolerances: CPU_TOLERANCES, run: async (model, pixels) => forwardReference(model, pixels) },
  wgsl: {
    tolerances: WGSL_TOLERANCES,
    async run(model, pixels) {
      const gpu = await nodeEngineDevice();
      const engine = await TimesformerEngine.create(gpu, model);
      try {
        return await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'all', hiddenStates: true });
      } finally {
        engine.destroy();
        gpu.device.destroy();
      }
    },
  },
};
