// Recording one plan: its buffers (sized by shape), the outputs it reads back, and where each attention
// step's probabilities go as the read-back policy (read-back.ts) says, the rollout fused from them on the
// way. forward.ts says what the model computes; this says what is kept of it.
import { attention, attentionInParts, type AttentionArgs } from './kernels/attention';
import { packedWords, packF16 } from './kernels/pack-f16';
import { RolloutRecorder, type rolloutLayout } from './kernels/rollout';
import type { Explanation, KeptAttention, Output, Plan } from './plans';
import type { AttentionStep, ReadBackPolicy } from './read-back';
import type { Runtime, Step } from './runtime';
import { pieces, sequenceBuffers, sharedSequenceBuffers, type SequenceParts } from './sequence-chunks';
import { StagedRead } from './staged-read';
import type { KernelPicks } from './autotune';

const count = (shape: number[]) => shape.reduce((x, y) => x * y, 1);

export class PlanRecorder {
  readonly steps: Step[] = [];
  private readonly buffers: GPUBuffer[] = [];
  private readonly outputs: Output[] = [];
  private readonly kept: KeptAttention = new Map();
  private readonly rollout?: RolloutRecorder;
  /** The largest sub-layer's probabilities (in parts), made on first use, when a rollout needs them and nothing else keeps them. */
  private scratch?: (seqs: number, seqFloats: number) => SequenceParts;
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

  /** `source` [shape] (a buffer from `offset`, or a tensor in parts) with staging buffers to read it back through. */
  staged(name: string, shape: number[], source: GPUBuffer | SequenceParts, offset = 0, encoding: Output['encoding'] = 'f32'): Output {
    const bytes = encoding === 'f16' ? packedWords(count(shape)) * 4 : count(shape) * 4;
    const read = new StagedRead(this.rt.device, name, 'parts' in source ? pieces(source) : [{ buffer: source, offset, bytes }], this.rt.limits.buffer);
    this.buffers.push(...read.stagings);
    return { name, shape, read, encoding };
  }

  /** `seqs` sequences of `seqFloats` f32, in parts within one binding (sequence-chunks.ts). */
  private inParts(label: string, seqs: number, seqFloats: number): SequenceParts {
    return sequenceBuffers((part, floats) => this.buffer(part, [floats]), label, this.rt.limits, seqs, seqFloats);
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
   * [seqs, H, len, len] go, in parts of whole sequences where they are larger than one binding. A rollout needs
   * every probability on the GPU: when no buffer of their own holds them they go to scratch buffers, fused from
   * before the next step overwrites them.
   */
  attend(l: number, step: AttentionStep, sub: number, label: string, args: Omit<AttentionArgs, 'probs' | 'probsMode'>): Step[] {
    const want = this.policy.want(step, l);
    const name = `attn.${l}.${step}`;
    const { rt, rollout } = this;
    const H = args.heads, len = args.len, variant = this.kernels.attention(args);
    const fullShape = [args.seqs, H, len, len];
    let probs: SequenceParts | undefined;
    if (want.full || want.keep) {
      probs = this.inParts(name, args.seqs, H * len * len);
      this.kept.set(name, { probs, shape: fullShape });
      if (want.full) this.outputs.push(this.staged(name, fullShape, probs));
    } else if (rollout) {
      const shapes = this.layout.subLayers.map((u) => ({ seqs: u.seqs, seqFloats: H * u.len * u.len }));
      this.scratch ??= sharedSequenceBuffers((part, floats) => this.buffer(part, [floats]), 'attention probabilities scratch', rt.limits, shapes);
      probs = this.scratch(args.seqs, H * len * len);
    }
    const clsRows = want.cls ? this.output(`${name}.cls`, [args.seqs, H, len]) : undefined;
    const steps = probs ? attentionInParts(rt, label, args, probs, variant) : [attention(rt, label, { ...args, probs: clsRows, probsMode: clsRows ? 'cls' : 'none' }, variant)];
    for (const part of clsRows && probs ? probs.parts : []) {
      for (let r = 0; r < part.count * H; r++) {
        const row = part.first * H + r;
        steps.push({ kind: 'copy', label: `${name} CLS row ${row}`, src: part.buffer, srcOffset: r * len * len * 4, dst: clsRows!, dstOffset: row * len * 4, size: len * 4 });
      }
    }
    const fused = probs && rollout?.subLayer(steps, l, label, { ...this.layout.subLayers[sub], probs });
    if (want.mean) this.output(`${name}.mean`, [args.seqs, len, len], fused!.get('mean'));
    return steps;
  }

  /** The plan, the rollout composed at its end. */
  finish(key: string, pixels: GPUBuffer): Plan {
    this.rollout?.finish(this.steps, (name, shape) => this.output(name, shape));
    const { steps, outputs, buffers, kept } = this;
    return { key, steps, pixels, outputs, buffers, bytes: buffers.reduce((n, b) => n + b.size, 0), kept, explanation: this.explanation };
  }
}
