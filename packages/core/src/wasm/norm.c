// Layer normalisation's forward pass for @dl/core on tfjs's wasm backend (Ba, Kiros & Hinton 2016): per
// row of `cols` values,
//   mean = Σx / cols,  var = Σ(x − mean)² / cols,  rstd = 1 / √(var + eps),  y = (x − mean)·rstd·γ + β.
// tfjs builds it from moments (Mean, Sub, Square, Mean, Cast, Reshape …) and elementwise kernels: ~20
// kernels forward. Here one pass for the mean, one for the variance (two passes, as tfjs's moments do, for
// accuracy) and one for y, four values at a time. The backward pass is tfjs ops in src/wasm-layer-norm.ts
// (so it stays differentiable), which recompute the statistics. gamma and beta may be absent (pointer 0).
// No libc: the caller passes every pointer.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

static float sum4(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

EXPORT("layer_norm")
void layer_norm(int rows, int cols, const float *x, const float *gamma, const float *beta, float eps, float *y) {
  const int c4 = cols & ~3;
  for (int r = 0; r < rows; r++) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    v128_t acc = wasm_f32x4_splat(0);
    for (int c = 0; c < c4; c += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(xr + c));
    float s = sum4(acc);
    for (int c = c4; c < cols; c++) s += xr[c];
    const float mu = s / (float)cols;
    const v128_t muv = wasm_f32x4_splat(mu);
    acc = wasm_f32x4_splat(0);
    for (int c = 0; c < c4; c += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + c), muv);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
    }
    float ss = sum4(acc);
    for (int c = c4; c < cols; c++) ss += (xr[c] - mu) * (xr[c] - mu);
    const float rs = 1.0f / __builtin_sqrtf(ss / (float)cols + eps);
    const v128_t rsv = wasm_f32x4_splat(rs);
    for (int c = 0; c < c4; c += 4) {
      v128_t t = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xr + c), muv), rsv);
      if (gamma) t = wasm_f32x4_mul(t, wasm_v128_load(gamma + c));
      if (beta) t = wasm_f32x4_add(t, wasm_v128_load(beta + c));
      wasm_v128_store(yr + c, t);
    }
    for (int c = c4; c < cols; c++) {
      float t = (xr[c] - mu) * rs;
      if (gamma) t *= gamma[c];
      if (beta) t += beta[c];
      yr[c] = t;
    }
  }
}
