// The backends the command-line tools can run in Node.
import { createNodeBackend, findOnnxFile } from '../backends/node';
import type { BackendName } from '../backends/backend';
import type { LoadedModel } from '../checkpoint/load';
import type { DeviceTier, EngineDevice } from '../engine/device';
import { nodeEngineDevice } from '../engine/node-gpu';
import { TimesformerEngine } from '../engine/timesformer';
import { rolloutGeometry, rolloutOutputs } from '../reference/rollout';
import { forwardReference } from '../reference/timesformer';
import type { NamedTensors, Tensor } from '../tensor';
import { CPU_TOLERANCES, WGSL_TOLERANCES, type Tolerances } from '../verify/compare';

export interface NodeBackend {
  tolerances: Tolerances;
  /** Every output verify compares: logits, hidden states, all attention probabilities; `rollout.<fusion>` when asked and able. */
  run(model: LoadedModel, pixels: Tensor, options?: { rollout?: boolean; tier?: DeviceTier }): Promise<NamedTensors>;
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
 * onnxruntime-web on the ONNX export beside the model folder: `<model_dir>/model.onnx`, else
 * `<model_dir>/../model.onnx` (the fixtures' layout). Logits only.
 */
function onnxBackend(name: 'onnx-wasm' | 'onnx-webgpu'): NodeBackend {
  const onnxPath = (model: LoadedModel) => {
    const path = findOnnxFile(model.source);
    if (!path) throw new Error(`${name} needs an ONNX export: no model.onnx in ${model.source} or its parent folder`);
    return path;
  };
  const runWith = async (model: LoadedModel, pixels: Tensor, gpu?: EngineDevice) => {
    const backend = await createNodeBackend(name, { onnxPath: onnxPath(model), gpu });
    try {
      return await backend.run(pixels.data, pixels.shape as [number, number, number, number]);
    } finally {
      await backend.dispose();
    }
  };
  return {
    tolerances: WGSL_TOLERANCES,
    compares: (tensor) => tensor === 'logits',
    describe: (model) => `ONNX file ${onnxPath(model)} (an ONNX export returns logits only)`,
    run: (model, pixels, options) => (name === 'onnx-webgpu' ? withGpu(options?.tier, (gpu) => runWith(model, pixels, gpu)) : runWith(model, pixels)),
  };
}

/** The TimeSformer forward pass in TensorFlow.js ops, on tfjs-backend-cpu or tfjs-backend-webgpu (Dawn). */
function tfjsBackend(name: 'tfjs-cpu' | 'tfjs-webgpu'): NodeBackend {
  const runWith = async (model: LoadedModel, pixels: Tensor, gpu?: EngineDevice) => {
    const backend = await createNodeBackend(name, { model, gpu });
    try {
      return await backend.run(pixels.data, pixels.shape as [number, number, number, number], { hiddenStates: true, attention: true });
    } finally {
      await backend.dispose();
    }
  };
  return {
    tolerances: WGSL_TOLERANCES,
    run: (model, pixels, options) => (name === 'tfjs-webgpu' ? withGpu(options?.tier, (gpu) => runWith(model, pixels, gpu)) : runWith(model, pixels)),
  };
}

export const nodeBackends: Record<string, NodeBackend> = {
  cpu: {
    tolerances: CPU_TOLERANCES,
    async run(model, pixels, options) {
      const outputs = forwardReference(model, pixels);
      if (options?.rollout) for (const [name, t] of rolloutOutputs(outputs, rolloutGeometry(model.config, pixels.shape))) outputs.set(name, t);
      return outputs;
    },
  },
  wgsl: {
    tolerances: WGSL_TOLERANCES,
    run: (model, pixels, options) =>
      withGpu(options?.tier, async (gpu) => {
        const engine = await TimesformerEngine.create(gpu, model);
        try {
          return await engine.run(pixels.data, pixels.shape as [number, number, number, number], { attention: 'all', hiddenStates: true, rollout: options?.rollout ? { discard: 0 } : undefined });
        } finally {
          engine.destroy();
        }
      }),
  },
  'onnx-wasm': onnxBackend('onnx-wasm'),
  'onnx-webgpu': onnxBackend('onnx-webgpu'),
  'tfjs-cpu': tfjsBackend('tfjs-cpu'),
  'tfjs-webgpu': tfjsBackend('tfjs-webgpu'),
} satisfies Record<'cpu' | 'wgsl' | BackendName, NodeBackend>;

/** The backends that run on a GPU device (the ones `--baseline-device` applies to). */
export const GPU_BACKENDS = ['wgsl', 'onnx-webgpu', 'tfjs-webgpu'];
