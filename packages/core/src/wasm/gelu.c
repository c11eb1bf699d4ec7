// GELU (Hendrycks & Gimpel 2016, exact form) and its gradient for @dl/core on tfjs's wasm backend (and
// ReLU's gradient, at the end):
//   y  = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))
//   dx = dy·(Φ(x) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π)
// tfjs builds GELU from Erf, Exp and a dozen elementwise kernels, and wasm's Erf and Exp are scalar
// calls into libm (~2–3 ms each for 768 × 512 values): a quarter of nanoGPT's feed-forward time. Here
// one loop per direction over four values at a time (128-bit SIMD) computes erf with
// Abramowitz & Stegun's formula 7.1.26 (|error| ≤ 1.5e−7) and exp by range reduction to [−½ln2, ½ln2]
// and a degree-6 polynomial (relative error ~1e−7). No libc: the caller passes every pointer.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// e^v for four v ≤ 0 (clamped at −87, where e^v ≈ 1.6e−38 and the result no longer matters).
static inline v128_t exp_neg(v128_t v) {
  v = wasm_f32x4_max(v, wasm_f32x4_splat(-87.0f));
  v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(v, wasm_f32x4_splat(1.44269504088896341f))); // round(v / ln 2)
  v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(v, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693145751953125f))), wasm_f32x4_mul(k, wasm_f32x4_splat(1.428606765330187e-6f))); // v − k·ln 2 in two parts
  v128_t p = wasm_f32x4_splat(1.0f / 720);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  v128_t two = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23); // 2^k, k ∈ [−126, 0]
  return wasm_f32x4_mul(p, two);
}

// Φ(x) and e^{−x²/2} for four x (the gradient needs both).
static inline v128_t cdf(v128_t x, v128_t *gauss) {
  v128_t z = wasm_f32x4_mul(wasm_f32x4_abs(x), wasm_f32x4_splat(0.70710678118654752f)); // |x|/√2
  v128_t one = wasm_f32x4_splat(1.0f);
  v128_t t = wasm_f32x4_div(one, wasm_f32x4_add(one, wasm_f32x4_mul(wasm_f32x4_splat(0.3275911f), z)));
  v128_t poly = wasm_f32x4_splat(1.061405429f);
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-1.453152027f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(1.421413741f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(-0.284496736f));
  poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(0.254829592f));
  poly = wasm_f32x4_mul(poly, t);
  v128_t e = exp_neg(wasm_f32x4_neg(wasm_f32x4_mul(z, z)));
  *gauss = e;
  v128_t erf_abs = wasm_f32x4_sub(one, wasm_f32x4_mul(poly, e));
  v128_t erf = wasm_v128_bitselect(wasm_f32x4_neg(erf_abs), erf_abs, wasm_f32x4_lt(x, wasm_f32x4_splat(0.0f)));
  return wasm_f32x4_mul(wasm_f32x4_splat(0.5f), wasm_f32x4_add(one, erf));
}

// The tail of a length that is not a multiple of 4 goes through a zero-padded vector.
static inline v128_t load_part(const float *p, int count) {
  float t[4] = {0, 0, 0, 0};
  for (int i = 0; i < count; i++) t[i] = p[i];
  return wasm_v128_load(t);
}

static inline void store_part(float *p, v128_t v, int count) {
  float t[4];
  wasm_v128_store(t, v);
  for (int i = 0; i < count; i++) p[i] = t[i];
}

EXPORT("gelu")
void gelu(int n, const float *x, float *y) {
  v128_t g;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t xv = wasm_v128_load(x + i);
    wasm_v128_store(y + i, wasm_f32x4_mul(xv, cdf(xv, &g)));
  }
  if (i < n) {
    v128_t xv = load_part(x + i, n - i);
    store_part(y + i, wasm_f32x4_mul(xv, cdf(xv, &g)), n - i);
  }
}

EXPORT("gelu_grad")
void gelu_grad(int n, const float *x, const float *dy, float *dx) {
  v128_t g;
  v128_t inv_sqrt_2pi = wasm_f32x4_splat(0.39894228040143268f); // φ(x) = e^{−x²/2}/√(2π)
  int i = 0;
  for (; i < n; i += 4) {
    int count = n - i < 4 ? n - i : 4;
    v128_t xv = count == 4 ? wasm_v128_load(x + i) : load_part(x + i, count);
    v128_t dyv = count == 4 ? wasm_v128_load(dy + i) : load_part(dy + i, count);
    v128_t phi = cdf(xv, &g);
    v128_t d = wasm_f32x4_mul(dyv, wasm_f32x4_add(phi, wasm_f32x4_mul(xv, wasm_f32x4_mul(g, inv_sqrt_2pi))));
    if (count == 4) wasm_v128_store(dx + i, d);
    else store_part(dx + i, d, count);
  }
}

// ReLU's gradient: dx = dy where x > 0, else 0 (x is ReLU's input or its output: both are > 0 at the same
// places). tfjs computes it as dy · step(x) through two broadcasting kernels (~1.6 ms for 64 × 28 × 28 × 6
// values on wasm); this is one pass.
EXPORT("relu_grad")
void relu_grad(int n, const float *x, const float *dy, float *dx) {
  int n4 = n & ~3;
  v128_t zero = wasm_f32x4_splat(0);
  for (int i = 0; i < n4; i += 4) wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), wasm_f32x4_gt(wasm_v128_load(x + i), zero)));
  for (int i = n4; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}
