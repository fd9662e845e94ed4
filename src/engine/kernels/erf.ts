// erf for WGSL, which has none: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, about float32 rounding).
// Shared by the GEMM's GELU epilogue and GELU's backward.
export const ERF_WGSL = /* wgsl */ `
fn erf(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
`;
