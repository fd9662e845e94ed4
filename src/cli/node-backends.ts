// The backends the command-line tools can run in Node.
import { createNodeBackend, findOnnxFile } from '../backends/node';
import { BACKEND_CATALOG, COMPARISON_BACKENDS, OUR_ENGINE, type BackendName } from '../backends/registry';
import type { LoadedModel } from '../checkpoint/load';
import type { DeviceTier, EngineDevice } from '../engine/device';
import { nodeEngineDevice } from '../engine/node-gpu';
import { TimesformerEngine } from '../engine/timesformer';
import { attentionGeometry } from '../model/geometry';
import { explanationOutputs } from '../reference/relevance';
import { rolloutOutputs } from '../reference/rollout';
import { forwardReference } from '../reference/timesformer';
import type { NamedTensors, Tensor } from '../tensor';
import { CPU_TOLERANCES, WGSL_TOLERANCES, type Tolerances } from '../verify/compare';

export interface NodeBackend {
  tolerances: Tolerances;
  /**
   * Every output verify compares: logits, hidden states, all attention probabilities (our engine: unless
   * `probabilities` or `hiddenStates` is false); `rollout.<fusion>` when asked and able; `grad_pixels.class.<c>`
   * and `relevance.class.<c>` for each class in `explain`, when able.
   */
  run(model: LoadedModel, pixels: Tensor, options?: { rollout?: boolean; explain?: number[]; probabilities?: boolean; hiddenStates?: boolean; tier?: DeviceTier }): Promise<NamedTensors>;
  /**
   * The expected tensors this backend is checked on, when it cannot produce them all (an ONNX export
   * returns logits only). Default: every output in the expected file.
   */
  compares?: (name: string) => boolean;
  /** One line for verify to print about where the backend's inputs came from. */
  describe?: (model: LoadedModel) => string;
}

/** A Dawn device for one verify run, destroyed afterwards. */
async function withGpu<T>(tier: DeviceTier | undefined, work: (gpu: EngineDevice) => Promise<T>): Promise<T> {
  const gpu = await nodeEngineDevice(undefined, tier);
  try {
    return await work(gpu);
  } finally {
    gpu.device.destroy();
  }
}

/**
 * A library beside our engine, made anew for one verify run. One that runs an ONNX graph gets the export beside
 * the model folder: `<model_dir>/model.onnx`, else `<model_dir>/../model.onnx` (the fixtures' layout), and is
 * checked on logits only (an ONNX export returns nothing else); one that runs the weights on everything.
 */
function comparisonBackend(name: BackendName): NodeBackend {
  const { needs, gpu } = BACKEND_CATALOG[name];
  const onnxPath = (model: LoadedModel) => {
    const path = findOnnxFile(model.source);
    if (!path) throw new Error(`${name} needs an ONNX export: no model.onnx in ${model.source} or its parent folder`);
    return path;
  };
  const runWith = async (model: LoadedModel, pixels: Tensor, device?: EngineDevice) => {
    const backend = await createNodeBackend(name, needs === 'onnx' ? { onnxPath: onnxPath(model), gpu: device } : { model, gpu: device });
    try {
      return await backend.run(pixels.data, pixels.shape as [number, number, number, number], { hiddenStates: true, attention: true });
    } finally {
      await backend.dispose();
    }
  };
  const run: NodeBackend['run'] = (model, pixels, options) => (gpu ? withGpu(options?.tier, (device) => runWith(model, pixels, device)) : runWith(model, pixels));
  if (needs === 'weights') return { tolerances: WGSL_TOLERANCES, run };
  return { tolerances: WGSL_TOLERANCES, compares: (tensor) => tensor === 'logits', describe: (model) => `ONNX file ${onnxPath(model)} (an ONNX export returns logits only)`, run };
}

export const nodeBackends: Record<string, NodeBackend> = {
  cpu: {
    tolerances: CPU_TOLERANCES,
    async run(model, pixels, options) {
      const outputs = forwardReference(model, pixels);
      const geometry = attentionGeometry(model.config, pixels.shape);
      if (options?.rollout) for (const [name, t] of rolloutOutputs(outputs, geometry)) outputs.set(name, t);
      if (options?.explain?.length) for (const [name, t] of explanationOutputs(model, pixels, options.explain, geometry)) outputs.set(name, t);
      return outputs;
    },
  },
  [OUR_ENGINE]: {
    tolerances: WGSL_TOLERANCES,
    run: (model, pixels, options) =>
      withGpu(options?.tier, async (gpu) => {
        const engine = await TimesformerEngine.create(gpu, model);
        try {
          return await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: options?.probabilities === false ? 'none' : 'all', hiddenStates: options?.hiddenStates !== false, rollout: options?.rollout ? { discard: 0 } : undefined, explain: options?.explain });
        } finally {
          engine.destroy();
        }
      }),
  },
  ...Object.fromEntries(COMPARISON_BACKENDS.map((name) => [name, comparisonBackend(name)])),
} satisfies Record<'cpu' | typeof OUR_ENGINE, NodeBackend>;

/** The backends that run on a GPU device (the ones `--baseline-device` applies to). */
export const GPU_BACKENDS: string[] = [OUR_ENGINE, ...COMPARISON_BACKENDS.filter((name) => BACKEND_CATALOG[name].gpu)];
