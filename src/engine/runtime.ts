// The engine's small runtime: a pipeline cache, buffers, and recorded plans of GPU steps.
// A plan is built once per input shape; running it is one command submission.
//
// One Runtime per device: whoever owns the device (the worker's inference service, a test, a tool) makes
// it, and preprocessing and the engine share it through `scope()`: each scope owns its buffers (destroyed
// with it), while compiled pipelines and per-adapter measurements (`memo`) are kept once per device.
import { GpuError, type EngineDevice } from './device';

/** A binding: a uniform or storage buffer, or an external texture (a video frame imported as it is). */
export type BindingKind = 'uniform' | 'read' | 'write' | 'external';

/**
 * Threads per workgroup of the kernels that give each thread one element (WGSL `override WORKGROUP_SIZE`,
 * set from here): written once for the WGSL and the dispatches that cover `count` elements (`elementGrid`).
 */
export const WORKGROUP_SIZE = 64;

/** One compute kernel: its WGSL, its bindings in order (binding i = kinds[i]) and its override constants. */
export interface KernelSource {
  /** Cache key: name and everything rendered into the code (never shapes, which go in uniforms); the constants are added to it. */
  key: string;
  code: string;
  bindings: BindingKind[];
  /** Values of the WGSL `override` constants the code declares (numbers shared by the WGSL and the host code). */
  constants?: Record<string, number>;
}

const bindingLayout = (kind: BindingKind): Omit<GPUBindGroupLayoutEntry, 'binding' | 'visibility'> =>
  kind === 'external' ? { externalTexture: {} } : { buffer: { type: kind === 'uniform' ? 'uniform' : kind === 'read' ? 'read-only-storage' : 'storage' } };

/** A recorded step: a dispatch, or a buffer copy (which must sit outside a compute pass). */
export type Step =
  | { kind: 'dispatch'; label: string; kernel: CachedPipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number]; params: GPUBuffer }
  | { kind: 'copy'; label: string; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };

/**
 * A kernel's bind group layout (made at once: bind groups need it) and its pipeline, compiled in the background
 * (`createComputePipelineAsync`) so that recording a plan does not wait for the compiler: `compiled(steps)` waits.
 */
export interface CachedPipeline {
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  /** The module, entry point and override constants it compiles. */
  compute: GPUProgrammableStage;
  key: string;
  /** Set once compiled. */
  pipeline?: GPUComputePipeline;
  compiling: Promise<GPUComputePipeline>;
}

/**
 * A binding of part of a buffer, in bytes: a buffer larger than the device lets one binding hold (WebGPU's
 * baseline: 128 MiB of a 256 MiB buffer) is bound in ranges, each `offset` a multiple of
 * `minStorageBufferOffsetAlignment`.
 */
export interface BufferRange {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}
export type Bound = GPUBuffer | BufferRange;

/** The sizes a runtime keeps within, in bytes: one binding, one buffer (the device's limits unless a test lowers them). */
export interface BufferLimits {
  binding: number;
  buffer: number;
}

/** What every scope of a device's Runtime shares: compiled pipelines and memoized per-device values. */
interface DeviceCaches {
  pipelines: Map<string, CachedPipeline>;
  memo: Map<string, unknown>;
}

export class Runtime {
  readonly device: GPUDevice;
  /** Bound where a kernel's optional input is unused (bindings cannot be left empty). */
  readonly placeholder: GPUBuffer;
  private readonly caches: DeviceCaches;
  readonly limits: BufferLimits;

  constructor(
    readonly gpu: EngineDevice,
    caches?: DeviceCaches,
    limits?: BufferLimits,
  ) {
    this.device = gpu.device;
    this.caches = caches ?? { pipelines: new Map(), memo: new Map() };
    this.limits = limits ?? { binding: this.device.limits.maxStorageBufferBindingSize, buffer: this.device.limits.maxBufferSize };
    this.placeholder = this.buffer('placeholder', 16);
  }

  /** A runtime on the same device sharing this one's pipelines and memos, owning (and destroying) only its own buffers. */
  scope(): Runtime {
    return new Runtime(this.gpu, this.caches, this.limits);
  }

  /** A scope that binds at most `binding` bytes at once, and makes buffers of at most `buffer` (tests: large buffers in parts, on small models). */
  withBindingLimit(binding: number, buffer = this.limits.buffer): Runtime {
    return new Runtime(this.gpu, this.caches, { binding: Math.min(binding, this.limits.binding), buffer: Math.min(buffer, this.limits.buffer) });
  }

  /** A value made once per device (a pipeline of another shape, a measurement) and shared by every scope. */
  memo<T>(key: string, make: () => T): T {
    if (!this.caches.memo.has(key)) this.caches.memo.set(key, make());
    return this.caches.memo.get(key) as T;
  }

  /** The kernel's layout now, its pipeline compiling in the background (once per device). */
  pipeline(source: KernelSource): CachedPipeline {
    const pipelines = this.caches.pipelines;
    const constants = source.constants ?? {};
    const names = Object.keys(constants).sort();
    const key = names.length ? `${source.key}|${names.map((n) => `${n}=${constants[n]}`).join(',')}` : source.key;
    let cached = pipelines.get(key);
    if (!cached) {
      const layout = this.device.createBindGroupLayout({
        label: key,
        entries: source.bindings.map((kind, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, ...bindingLayout(kind) })),
      });
      const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [layout] });
      const module = this.device.createShaderModule({ label: key, code: source.code });
      const compute = { module, entryPoint: 'main', constants };
      const entry: CachedPipeline = { layout, pipelineLayout, compute, key, compiling: undefined! };
      entry.compiling = this.device.createComputePipelineAsync({ label: key, layout: pipelineLayout, compute }).then(
        (pipeline) => (entry.pipeline ??= pipeline),
        (e: Error) => {
          pipelines.delete(key); // a later recording tries again and sees the error again
          throw new GpuError(`compiling ${key} failed: ${e.message}`);
        },
      );
      entry.compiling.catch(() => {}); // reported to whoever awaits compiled()
      cached = entry;
      pipelines.set(key, cached);
    }
    return cached;
  }

  /** The kernel's pipeline now: compiled in the foreground when the background compile has not finished. */
  ready(kernel: CachedPipeline): GPUComputePipeline {
    return (kernel.pipeline ??= this.device.createComputePipeline({ label: kernel.key, layout: kernel.pipelineLayout, compute: kernel.compute }));
  }

  /** Wait until every kernel these steps dispatch is compiled (rejects with the compiler's error). */
  async compiled(steps: Step[]): Promise<void> {
    await Promise.all([...new Set(steps.flatMap((s) => (s.kind === 'dispatch' ? [s.kernel] : [])))].map((k) => k.compiling));
  }

  /** Kernels compiled and compiling on this device (the load's progress). */
  compileProgress(): { done: number; total: number } {
    const all = [...this.caches.pipelines.values()];
    return { done: all.filter((k) => k.pipeline).length, total: all.length };
  }

  /** A storage buffer (zeroed by WebGPU). Sizes are in bytes, rounded up to 16 for vec4 views. */
  private readonly owned = new Set<GPUBuffer>();

  buffer(label: string, bytes: number, usage = 0): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.limits.buffer) throw new GpuError(`${label} needs ${size} bytes, more than this GPU allows in one buffer (${this.limits.buffer})`);
    const buffer = this.device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | usage });
    this.owned.add(buffer);
    return buffer;
  }

  /** Destroy these buffers now (e.g. a plan's, when the input shape changes). */
  release(buffers: Iterable<GPUBuffer>) {
    for (const b of buffers) {
      b.destroy();
      this.owned.delete(b);
    }
  }

  /** Destroy every buffer this runtime made. */
  destroy() {
    this.release([...this.owned]);
  }

  upload(label: string, data: Float32Array | Uint32Array | Uint16Array): GPUBuffer {
    const buffer = this.buffer(label, data.byteLength);
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return buffer;
  }

  /** A uniform buffer holding `words` (u32 and f32 mixed, as the kernel's Params struct lays them out). */
  uniform(label: string, words: ArrayBuffer): GPUBuffer {
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, words);
    this.owned.add(buffer);
    return buffer;
  }

  /** Record a dispatch of `source` over `buffers` or ranges of them (in binding order) with its uniform words. */
  dispatch(label: string, source: KernelSource, params: ArrayBuffer, buffers: Bound[], workgroups: [number, number, number]): Step {
    const kernel = this.pipeline(source);
    for (const b of buffers) {
      if (b.size > this.limits.binding) throw new GpuError(`${label}: binding ${b.size} bytes of ${'buffer' in b ? b.buffer.label : b.label}, more than this GPU allows in one binding (${this.limits.binding})`);
    }
    const uniform = this.uniform(`${label} params`, params);
    const all = [uniform, ...buffers];
    if (all.length !== source.bindings.length) throw new GpuError(`${label}: ${all.length} bindings given, kernel has ${source.bindings.length}`);
    const bindGroup = this.device.createBindGroup({ label, layout: kernel.layout, entries: all.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })) });
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((n) => n > max)) throw new GpuError(`${label}: ${workgroups} workgroups exceed the limit ${max}`);
    return { kind: 'dispatch', label, kernel, bindGroup, workgroups, params: uniform };
  }

  /** Encode steps into one command buffer: consecutive dispatches share a compute pass. */
  encode(steps: Step[], encoder = this.device.createCommandEncoder()): GPUCommandEncoder {
    let pass: GPUComputePassEncoder | undefined;
    for (const step of steps) {
      if (step.kind === 'dispatch') {
        pass ??= encoder.beginComputePass();
        // Not compiled yet (a step encoded without awaiting compiled()): compile it now, in the foreground.
        pass.setPipeline(this.ready(step.kernel));
        pass.setBindGroup(0, step.bindGroup);
        pass.dispatchWorkgroups(...step.workgroups);
      } else {
        pass?.end();
        pass = undefined;
        encoder.copyBufferToBuffer(step.src, step.srcOffset, step.dst, step.dstOffset, step.size);
      }
    }
    pass?.end();
    return encoder;
  }

  /**
   * GPU time of each dispatch of `steps` (needs `timestamp-query`): every dispatch in its own pass with
   * timestamps at its start and end, so the times are each kernel's alone (one pass per dispatch adds some
   * overhead; the ranking, not the sum, is what this is for). Copies run as usual and are not timed.
   */
  async timeDispatches(steps: Step[]): Promise<{ label: string; ms: number }[]> {
    if (!this.gpu.features.timestampQuery) throw new GpuError('this device has no timestamp-query: no per-kernel GPU times');
    const dispatches = steps.filter((s) => s.kind === 'dispatch');
    if (dispatches.length === 0) return [];
    await this.compiled(steps);
    const count = 2 * dispatches.length;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count });
    const resolved = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder();
      let i = 0;
      for (const step of steps) {
        if (step.kind === 'copy') {
          encoder.copyBufferToBuffer(step.src, step.srcOffset, step.dst, step.dstOffset, step.size);
          continue;
        }
        const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(step.kernel.pipeline!);
        pass.setBindGroup(0, step.bindGroup);
        pass.dispatchWorkgroups(...step.workgroups);
        pass.end();
        i++;
      }
      encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, count * 8);
      this.device.pushErrorScope('validation');
      this.device.queue.submit([encoder.finish()]);
      const error = await this.device.popErrorScope();
      if (error) throw new GpuError(`timing the kernels failed: ${error.message}`);
      await staging.mapAsync(GPUMapMode.READ);
      const ns = new BigUint64Array(staging.getMappedRange().slice(0));
      return dispatches.map((s, j) => ({ label: s.label, ms: Number(ns[2 * j + 1] - ns[2 * j]) / 1e6 }));
    } finally {
      querySet.destroy();
      resolved.destroy();
      staging.destroy();
    }
  }

  /** Copy a storage buffer's first `bytes` back to the CPU. */
  async read(buffer: GPUBuffer, bytes = buffer.size): Promise<Float32Array> {
    const staging = this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }
}

/** Params words: u32 and f32 values packed in order, as the WGSL Params struct declares them. */
export function params(values: (number | { f32: number })[]): ArrayBuffer {
  const buffer = new ArrayBuffer(Math.max(16, Math.ceil((values.length * 4) / 16) * 16));
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  values.forEach((v, i) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new GpuError(`param ${i} = ${v} is not a u32`);
      u32[i] = v;
    } else f32[i] = v.f32;
  });
  return buffer;
}

/** Split a count of workgroups over x and y when it exceeds the per-dimension limit. */
export function grid(workgroups: number, max = 65535): [number, number, number] {
  if (workgroups <= max) return [workgroups, 1, 1];
  const y = Math.ceil(workgroups / max);
  return [Math.ceil(workgroups / y), y, 1];
}

/** Workgroups of WORKGROUP_SIZE threads covering `count` elements, one per thread. */
export const elementGrid = (count: number) => grid(Math.ceil(count / WORKGROUP_SIZE));

/** The constants of a kernel that gives each thread one element. */
export const ELEMENT_CONSTANTS = { WORKGROUP_SIZE } as const;
