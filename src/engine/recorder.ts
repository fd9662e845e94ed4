// Recording one plan: its buffers (sized by shape), the outputs it reads back, and where each attention
// step's probabilities go as the read-back policy (read-back.ts) says, the rollout fused from them on the
// way. forward.ts says what the model computes; this says what is kept of it.
import { attention, type AttentionArgs } from './kernels/attention';
import { packedWords, packF16 } from './kernels/pack-f16';
import { RolloutRecorder, type rolloutLayout } from './kernels/rollout';
import type { Explanation, KeptAttention, Output, Plan } from './plans';
import type { AttentionStep, ReadBackPolicy } from './read-back';
import type { Runtime, Step } from './runtime';
import type { KernelPicks } from './autotune';

const count = (shape: number[]) => shape.reduce((x, y) => x * y, 1);

export class PlanRecorder {
  readonly steps: Step[] = [];
  private readonly buffers: GPUBuffer[] = [];
  private readonly outputs: Output[] = [];
  private readonly kept: KeptAttention = new Map();
  private readonly rollout?: RolloutRecorder;
  /** The largest sub-layer's probabilities, made on first use, when a rollout needs them and nothing else keeps them. */
  private scratch?: GPUBuffer;
  /** Explaining: the residual stream before each layer and after the last, kept for the backward pass (backward.ts). */
  readonly checkpoints: GPUBuffer[] = [];
  private explanation?: Explanation;

  constructor(
    private readonly rt: Runtime,
    private readonly kernels: KernelPicks,
    private readonly policy: ReadBackPolicy,
    private readonly layout: ReturnType<typeof rolloutLayout>,
    private readonly hiddenStates: boolean,
    private readonly explaining = false,
  ) {
    const { discards, fusions } = policy;
    this.rollout = discards && new RolloutRecorder(rt, layout.vector, discards, (label, floats) => this.buffer(label, [floats]), fusions);
  }

  /** Steps, or lists of them (a kernel run in row chunks). */
  push(...steps: (Step | Step[])[]) {
    this.steps.push(...steps.flat());
  }

  /** A plan buffer of f32 values of this shape (released with the plan). */
  buffer(label: string, shape: number[]): GPUBuffer {
    const b = this.rt.buffer(label, count(shape) * 4);
    this.buffers.push(b);
    return b;
  }

  upload(label: string, data: Float32Array): GPUBuffer {
    const b = this.rt.upload(label, data);
    this.buffers.push(b);
    return b;
  }

  /** Read `buffer` (a new one by default) back after the run as `name`. */
  output(name: string, shape: number[], buffer = this.buffer(name, shape), offset = 0, encoding: Output['encoding'] = 'f32'): GPUBuffer {
    this.outputs.push(this.staged(name, shape, buffer, offset, encoding));
    return buffer;
  }

  /** `buffer` [shape] with a staging buffer to read it back through. */
  staged(name: string, shape: number[], buffer: GPUBuffer, offset = 0, encoding: Output['encoding'] = 'f32'): Output {
    const bytes = encoding === 'f16' ? packedWords(count(shape)) * 4 : count(shape) * 4;
    const staging = this.rt.device.createBuffer({ label: `${name} staging`, size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.buffers.push(staging);
    return { name, shape, buffer, offset, staging, encoding };
  }

  /** When explaining: a copy of the residual stream `h` ([rows, D], `floats` values) as it is now. */
  checkpoint(h: GPUBuffer, floats: number) {
    if (!this.explaining) return;
    const copy = this.buffer(`checkpoint ${this.checkpoints.length}`, [floats]);
    this.push({ kind: 'copy', label: `checkpoint ${this.checkpoints.length}`, src: h, srcOffset: 0, dst: copy, dstOffset: 0, size: floats * 4 });
    this.checkpoints.push(copy);
  }

  /** The backward pass's steps, run after the forward's once per explained class. */
  explain(explanation: Explanation) {
    this.explanation = explanation;
  }

  /** The residual stream `h` [B, S, D] as `name` (hidden_states.i), when the run records hidden states. */
  snapshot(name: string, h: GPUBuffer, shape: number[]) {
    if (!this.hiddenStates) return;
    const copy = this.output(name, shape);
    this.push({ kind: 'copy', label: name, src: h, srcOffset: 0, dst: copy, dstOffset: 0, size: count(shape) * 4 });
  }

  /** The input clip [T, 3, H, W] as `pixel_values`, for display only: read back as f16, half the bytes. */
  returnInput(pixels: GPUBuffer, shape: number[]) {
    const packed = this.buffer('pixel_values f16', [packedWords(count(shape))]);
    this.push(packF16(this.rt, 'pack pixel_values', pixels, packed, count(shape)));
    this.output('pixel_values', shape, packed, 0, 'f16');
  }

  /**
   * One attention step of layer `l` (sub-layer `sub` of the rollout's) and where its probabilities
   * [seqs, H, len, len] go. A rollout needs every probability on the GPU: when no buffer of their own holds
   * them they go to one scratch buffer, fused from before the next step overwrites it.
   */
  attend(l: number, step: AttentionStep, sub: number, label: string, args: Omit<AttentionArgs, 'probs' | 'probsMode'>): Step[] {
    const want = this.policy.want(step, l);
    const name = `attn.${l}.${step}`;
    const H = args.heads, rollout = this.rollout;
    const fullShape = [args.seqs, H, args.len, args.len];
    let probs: GPUBuffer | undefined;
    if (want.full) probs = this.output(name, fullShape);
    else if (want.keep) probs = this.buffer(name, fullShape);
    else if (rollout) probs = this.scratch ??= this.buffer('attention probabilities scratch', [H * Math.max(...this.layout.subLayers.map((u) => u.seqs * u.len * u.len))]);
    if (probs && (want.full || want.keep)) this.kept.set(name, { buffer: probs, shape: fullShape });
    const clsRows = want.cls ? this.output(`${name}.cls`, [args.seqs, H, args.len]) : undefined;
    const steps = [attention(this.rt, label, { ...args, probs: probs ?? clsRows, probsMode: probs ? 'all' : clsRows ? 'cls' : 'none' }, this.kernels.attention(args))];
    if (clsRows && probs) {
      for (let r = 0; r < args.seqs * H; r++) {
        steps.push({ kind: 'copy', label: `${name} CLS row ${r}`, src: probs, srcOffset: r * args.len * args.len * 4, dst: clsRows, dstOffset: r * args.len * 4, size: args.len * 4 });
      }
    }
    const fused = probs && rollout?.subLayer(steps, l, label, { ...this.layout.subLayers[sub], probs });
    if (want.mean) this.output(`${name}.mean`, [args.seqs, args.len, args.len], fused!.get('mean'));
    return steps;
  }

  /** The plan, the rollout composed at its end. */
  finish(key: string, pixels: GPUBuffer): Plan {
    this.rollout?.finish(this.steps, (name, shape) => this.output(name, shape));
    const { steps, outputs, buffers, kept } = this;
    return { key, steps, pixels, outputs, buffers, bytes: buffers.reduce((n, b) => n + b.size, 0), kept, explanation: this.explanation };
  }
}
