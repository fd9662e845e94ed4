// How the heads of an attention matrix are fused for rollout, and what a discard ratio drops: the
// definition src/reference/rollout.ts computes densely and src/engine/kernels/rollout.ts on the GPU.

export type HeadFusion = 'mean' | 'max' | 'min';
export const HEAD_FUSIONS: readonly HeadFusion[] = ['mean', 'max', 'min'];

/** How many entries of a len × len matrix `discard` drops (before sparing the CLS→CLS entry). */
export function discardCount(len: number, discard: number): number {
  if (!(discard >= 0 && discard < 1)) throw new RangeError(`discard ratio ${discard} is outside [0, 1)`);
  return Math.floor(discard * len * len);
}
