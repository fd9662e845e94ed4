// Recorded plans: a clip's steps, activations and read-back buffers, recorded once per (input shape,
// request) and kept within a memory budget (least recently used destroyed first); running one is one
// command submission and one mapAsync per staging buffer. The attention a plan keeps on the GPU stays readable
// in slices (readAttention) until another plan runs.
import type { NamedTensors } from '../tensor';
import { GpuError } from './device';
import { unpackF16 } from './kernels/pack-f16';
import type { Runtime, Step } from './runtime';
import { pieces, type SequenceParts } from './sequence-chunks';
import { StagedRead } from './staged-read';

/**
 * A clip for the run (e.g. from the video preprocessing): records its work into the run's command encoder,
 * writing [T, 3, H, W] f32 into `target`, so that preprocessing and the model are one submission and the
 * pixels never visit the CPU; a clip made on the CPU (a CPU adapter's) writes it with writeBuffer instead.
 */
export interface GpuClip {
  /** Write the clip into `target` (STORAGE and COPY_DST: a clip made on the CPU is written with writeBuffer). */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer): void;
}

/** A slice of a kept attention tensor (`attn.l.temporal`, `attn.l.spatial`, `attn.l.full`): `count` floats from `offset`. */
export interface AttentionSlice {
  name: string;
  offset: number;
  count: number;
}

/** A tensor read back after the run, through its own staging buffers. */
export interface Output {
  name: string;
  shape: number[];
  read: StagedRead;
  /** 'f16': the values packed two per word (packF16). */
  encoding: 'f32' | 'f16';
}

/**
 * A backward pass recorded after the forward (backward.ts): `seed` [labels] holds the head's gradient, written
 * per class (the class's one-hot scaled by `seedScale`) before `steps` run; `outputs` are read after each class
 * and named `<name>.class.<c>`.
 */
export interface Explanation {
  seed: GPUBuffer;
  seedScale: number;
  labels: number;
  steps: Step[];
  outputs: Output[];
}

/** Attention probabilities kept on the GPU by name: [seqs, H, len, len] in parts of whole sequences. */
export type KeptAttention = Map<string, { probs: SequenceParts; shape: number[] }>;

export interface Plan {
  key: string;
  steps: Step[];
  /** The clip's input [T, 3, H, W]. */
  pixels: GPUBuffer;
  outputs: Output[];
  buffers: GPUBuffer[];
  /** GPU memory its activations, outputs and staging buffers take (what the plan budget counts). */
  bytes: number;
  /** Full attention probabilities kept on the GPU ('maps'), by name, for readAttention(). */
  kept: KeptAttention;
  /** When recorded for explanations. */
  explanation?: Explanation;
}

/** Default budget of kept plans' GPU memory: a multi-view classification and a timeline's plans both stay. */
export const DEFAULT_PLAN_BUDGET_BYTES = 512 * 2 ** 20;

export class Plans {
  /** Recorded plans by key, least recently used first. */
  private readonly plans = new Map<string, Plan>();
  /** The attention probabilities the last run kept on the GPU ('maps'). */
  private keptAttention?: KeptAttention;

  constructor(
    private readonly rt: Runtime,
    private readonly budgetBytes: number,
  ) {}

  /**
   * The plan under `key`: reused when kept, else recorded (and the least recently used plans beyond the memory
   * budget destroyed). A GPU error while recording (out of memory, a validation error) is a GpuError here, not
   * an uncaptured error later. `what` names the clip in that error.
   */
  async get(key: string, what: string, record: () => Plan): Promise<Plan> {
    const known = this.plans.get(key);
    if (known) {
      this.plans.delete(key); // re-inserted: most recently used
      this.plans.set(key, known);
      return known;
    }
    const { device } = this.rt;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let plan: Plan | undefined;
    let recordError: unknown;
    try {
      plan = record();
    } catch (e) {
      recordError = e;
    }
    // Both scopes closed at once, before any wait: other GPU work (tuning, uploads) may push scopes meanwhile.
    const popped = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    // Its kernels compile in the background (and, at load, while the weights stream in): wait for them here.
    const compileError = plan && (await this.rt.compiled(plan.steps.concat(plan.explanation?.steps ?? [])).then(() => undefined, (e: Error) => e));
    const errors = (await popped).filter((e) => e !== null);
    if (errors.length || compileError || recordError) {
      if (plan) this.release(plan);
      if (!errors.length && !compileError) throw recordError;
      const why = errors.map((e) => e.message).concat(compileError ? [compileError.message] : []);
      throw new GpuError(`recording the plan for ${what} failed: ${why.join('; ')}`);
    }
    if (!plan) throw recordError;
    this.plans.set(key, plan);
    let total = [...this.plans.values()].reduce((n, p) => n + p.bytes, 0);
    for (const [oldKey, old] of this.plans) {
      if (total <= this.budgetBytes || old === plan) break;
      this.plans.delete(oldKey);
      this.release(old);
      total -= old.bytes;
    }
    return plan;
  }

  /**
   * Run a plan on one clip, from the CPU or the GPU, in one submission, and read its outputs back; then, for
   * each class in `explain` (the plan must have been recorded explaining), its backward pass in one more.
   */
  async run(plan: Plan, pixels: Float32Array | GpuClip, explain: readonly number[] = []): Promise<NamedTensors> {
    this.keptAttention = plan.kept.size > 0 ? plan.kept : undefined;
    const { device } = this.rt;
    const encoder = device.createCommandEncoder();
    if (pixels instanceof Float32Array) device.queue.writeBuffer(plan.pixels, 0, pixels.buffer, pixels.byteOffset, pixels.byteLength);
    else pixels.encode(encoder, plan.pixels);
    const [result] = await this.submit(this.staged(this.rt.encode(plan.steps, encoder), plan.outputs), plan.outputs);
    const ex = plan.explanation;
    if (explain.length && !ex) throw new GpuError('this plan was recorded without its backward pass');
    for (const c of explain) {
      const seed = new Float32Array(ex!.labels);
      seed[c] = ex!.seedScale;
      device.queue.writeBuffer(ex!.seed, 0, seed);
      const [outputs] = await this.submit(this.staged(this.rt.encode(ex!.steps), ex!.outputs), ex!.outputs);
      for (const [name, t] of outputs) result.set(`${name}.class.${c}`, t);
    }
    return result;
  }

  /**
   * Run a plan on several clips of its shape (CPU pixels), as many per submission as `maxPixelBytes` of their pixels
   * allow: their pixels written into one buffer, then per clip a copy of its pixels into the plan's input, the plan's
   * steps and a copy of each output into the clip's row of one staging buffer per output; one read-back per
   * submission. The same steps on the same pixels: each clip's outputs are those of a run of it alone.
   */
  async runBatch(plan: Plan, clips: Float32Array[], maxPixelBytes: number): Promise<NamedTensors[]> {
    this.keptAttention = plan.kept.size > 0 ? plan.kept : undefined;
    const bytes = clips[0]?.byteLength ?? 0;
    const perSubmission = Math.max(1, Math.floor(Math.min(maxPixelBytes, this.rt.limits.buffer) / Math.max(bytes, 1)));
    const results: NamedTensors[] = [];
    for (let from = 0; from < clips.length; from += perSubmission) results.push(...(await this.submitBatch(plan, clips.slice(from, from + perSubmission))));
    return results;
  }

  private async submitBatch(plan: Plan, clips: Float32Array[]): Promise<NamedTensors[]> {
    const { device } = this.rt;
    const bytes = clips[0].byteLength;
    const input = device.createBuffer({ label: 'batch pixels', size: bytes * clips.length, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const reads = clips.map((_, k) => plan.outputs.map((o) => o.read.again(`${o.name} batch ${k}`)));
    try {
      clips.forEach((clip, k) => device.queue.writeBuffer(input, k * bytes, clip.buffer, clip.byteOffset, bytes));
      const encoder = device.createCommandEncoder();
      reads.forEach((clipReads, k) => {
        encoder.copyBufferToBuffer(input, k * bytes, plan.pixels, 0, bytes);
        this.rt.encode(plan.steps, encoder);
        for (const r of clipReads) r.encode(encoder);
      });
      return await this.submit(encoder, plan.outputs, reads);
    } finally {
      input.destroy();
      for (const r of reads.flat()) r.destroy();
    }
  }

  /** `encoder` with the copies of `outputs` to their staging buffers. */
  private staged(encoder: GPUCommandEncoder, outputs: Output[]): GPUCommandEncoder {
    for (const o of outputs) o.read.encode(encoder);
    return encoder;
  }

  /** Submit `encoder` (the staging copies recorded) and read each clip's outputs: `reads[k][j]` holds output j of clip k. */
  private async submit(encoder: GPUCommandEncoder, outputs: Output[], reads = [outputs.map((o) => o.read)]): Promise<NamedTensors[]> {
    const { device } = this.rt;
    device.pushErrorScope('validation');
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new GpuError(`GPU validation error: ${error.message}`);
    return Promise.all(
      reads.map(async (clipReads) => {
        const read = await Promise.all(clipReads.map((r) => r.read()));
        const result: NamedTensors = new Map();
        outputs.forEach((o, k) => {
          const n = o.shape.reduce((x, y) => x * y, 1);
          result.set(o.name, o.encoding === 'f16' ? { shape: o.shape, data: unpackF16(read[k], n), readBytes: read[k].byteLength } : { shape: o.shape, data: new Float32Array(read[k]) });
        });
        return result;
      }),
    );
  }

  /** Read slices of the attention probabilities the last run kept on the GPU, without reading the rest back. */
  async readAttention(slices: AttentionSlice[]): Promise<Float32Array[]> {
    const kept = this.keptAttention;
    if (!kept) throw new GpuError("no attention is kept on the GPU: run a clip with attention 'maps' first");
    for (const s of slices) {
      const k = kept.get(s.name);
      const size = k?.shape.reduce((x, y) => x * y) ?? 0;
      if (!k) throw new GpuError(`${s.name} is not kept on the GPU (kept: ${[...kept.keys()].join(', ')})`);
      if (!(Number.isInteger(s.offset) && Number.isInteger(s.count) && s.offset >= 0 && s.count > 0 && s.offset + s.count <= size)) {
        throw new GpuError(`${s.name}: slice [${s.offset}, +${s.count}) is outside its ${size} values`);
      }
    }
    const staged = new StagedRead(this.rt.device, 'attention slices', slices.flatMap((s) => pieces(kept.get(s.name)!.probs, s.offset, s.count)), this.rt.limits.buffer);
    try {
      const encoder = this.rt.device.createCommandEncoder();
      staged.encode(encoder);
      this.rt.device.queue.submit([encoder.finish()]);
      const all = new Float32Array(await staged.read());
      let from = 0;
      return slices.map((s) => all.slice(from, (from += s.count)));
    } finally {
      staged.destroy();
    }
  }

  /** Whether the plan under `key` is kept (running it allocates nothing). */
  has(key: string): boolean {
    return this.plans.has(key);
  }

  /** Keys of the kept plans, least recently used first (for tests and the memory readout). */
  get kept(): { key: string; bytes: number }[] {
    return [...this.plans.values()].map((p) => ({ key: p.key, bytes: p.bytes }));
  }

  private release(plan: Plan) {
    if (plan.kept === this.keptAttention) this.keptAttention = undefined;
    this.rt.release(plan.buffers);
    const steps = plan.steps.concat(plan.explanation?.steps ?? []);
    this.rt.release(steps.flatMap((s) => (s.kind === 'dispatch' ? [s.params] : [])));
  }

  /** Destroy every plan's buffers. */
  destroy() {
    for (const plan of this.plans.values()) this.release(plan);
    this.plans.clear();
  }
}
