/** A float32 tensor on the CPU: row-major data with its shape. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
  /** Bytes it took to read back from the GPU, where not 4 per value (frames packed as f16). */
  readBytes?: number;
}

/** Named outputs of a forward pass, named as in the reference fixtures (`logits`, `hidden_states.i`, `attn.l.temporal`, …). */
export type NamedTensors = Map<string, Tensor>;
