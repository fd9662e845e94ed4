// erf for WGSL, which has none: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, about float32 rounding).
// Shared by the GEMM's GELU epilogue and the transposed GEMM's GELU′ epilogue (GELU's backward).
export const ERF_WGSL = /* wgsl */ `
fn erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
`;

/** Exact GELU's derivative Φ(v) + v·φ(v), φ(v) = exp(−v²/2)/√(2π) (needs ERF_WGSL). */
export const GELU_GRAD_WGSL = /* wgsl */ `
fn geluGrad(v: f32) -> f32 {
  return 0.5 * (1.0 + erf(v * 0.70710678118654752)) + v * exp(-0.5 * v * v) * 0.3989422804014327;
}
`;
