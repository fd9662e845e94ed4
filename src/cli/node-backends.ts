// The backends the command-line tools can run in Node.
import type { LoadedModel } from '../checkpoint/load';
import { forwardReference } from '../reference/timesformer';
import type { NamedTensors, Tensor } from '../tensor';
import { CPU_TOLERANCES, type Tolerances } from '../verify/compare';

export interface NodeBackend {
  tolerances: Tolerances;
  run(model: LoadedModel, pixels: Tensor): Promise<NamedTensors>;
}

export const nodeBackends: Record<string, NodeBackend> = {
  cpu: { tolerances: CPU_TOLERANCES, run: async (model, pixels) => forwardReference(model, pixels) },
};
