// Adam's moment updates and step for @dl/optim on tfjs's wasm backend, in one SIMD pass per parameter.
//
// Written with tfjs ops, one Adam step of one parameter is eleven elementwise kernels (two scalings and
// an add per moment, a square, a square root, an add, a division and a scaling), each a pass over the
// parameter and a kernel launch: for a small network most of the optimizer's time is launches. Here the
// same float32 operations, in the same order, run in one loop, so the results are the same numbers.
// No libc: the caller (src/adam-step.ts) passes every pointer and constant.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// m' = b1·m + c1·g,  v' = b2·v + c2·(g·g),  u = (m' / (√v' + eps)) · scale   (c1 = 1 − b1, c2 = 1 − b2, as float32)
EXPORT("adam_step")
void adam_step(int n, const float *g, const float *m, const float *v, float b1, float c1, float b2, float c2, float eps, float scale, float *m_out, float *v_out, float *u) {
  const v128_t B1 = wasm_f32x4_splat(b1), C1 = wasm_f32x4_splat(c1), B2 = wasm_f32x4_splat(b2), C2 = wasm_f32x4_splat(c2);
  const v128_t E = wasm_f32x4_splat(eps), S = wasm_f32x4_splat(scale);
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) {
    v128_t gi = wasm_v128_load(g + i);
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), B1), wasm_f32x4_mul(gi, C1));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), B2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), C2));
    wasm_v128_store(m_out + i, mi);
    wasm_v128_store(v_out + i, vi);
    wasm_v128_store(u + i, wasm_f32x4_mul(wasm_f32x4_div(mi, wasm_f32x4_add(wasm_f32x4_sqrt(vi), E)), S));
  }
  for (int i = n4; i < n; i++) {
    float mi = m[i] * b1 + g[i] * c1;
    float vi = v[i] * b2 + (g[i] * g[i]) * c2;
    m_out[i] = mi;
    v_out[i] = vi;
    u[i] = (mi / (__builtin_sqrtf(vi) + eps)) * scale;
  }
}
