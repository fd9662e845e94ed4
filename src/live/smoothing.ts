// Live predictions smoothed over time: an exponential moving average of the class probabilities,
// s ← α·p + (1 − α)·s. α = 1 shows each clip's raw result; smaller α reacts more slowly and flickers less.

export class ProbabilitySmoother {
  private state?: Float32Array;

  constructor(private alpha: number) {
    this.setFactor(alpha);
  }

  get factor(): number {
    return this.alpha;
  }

  setFactor(alpha: number) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`the smoothing factor must be in (0, 1], got ${alpha}`);
    this.alpha = alpha;
  }

  /** Fold in one clip's probabilities; returns the smoothed ones (a new array). */
  update(probs: Float32Array): Float32Array {
    const s = this.state;
    if (!s || s.length !== probs.length) {
      this.state = Float32Array.from(probs);
    } else {
      for (let i = 0; i < s.length; i++) s[i] = this.alpha * probs[i] + (1 - this.alpha) * s[i];
    }
    return Float32Array.from(this.state!);
  }

  reset() {
    this.state = undefined;
  }
}
