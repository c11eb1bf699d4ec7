// Sums over leading axes and segment sums for @dl/core on tfjs's wasm backend, in WebAssembly SIMD.
//
// tfjs 4.22's wasm Sum reduces only the innermost axes natively: to sum over leading axes (a bias's
// gradient sums dy over the batch rows, LayerNorm's gain and shift over batch and time) it transposes
// the input first, ~2–3 ms for 768 × 512 values, most of a small Transformer's reduction time. Here the
// rows are added into the output four columns at a time, in one pass over the input. tfjs-backend-wasm
// has no UnsortedSegmentSum at all (the gradient of every gather, an embedding's among them), so it ran
// through @dl/core's cpu fallback, copying its input and output through the cpu backend.
//
// No libc: the caller (src/wasm-sum.ts) passes every pointer.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// out[c] = Σ_r x[r·cols + c] for c < cols (x is rows × cols, row-major).
EXPORT("sum_rows")
void sum_rows(int rows, int cols, const float *x, float *out) {
  int c4 = cols & ~3;
  for (int c = 0; c < c4; c += 4) wasm_v128_store(out + c, wasm_f32x4_splat(0));
  for (int c = c4; c < cols; c++) out[c] = 0;
  for (int r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    for (int c = 0; c < c4; c += 4) wasm_v128_store(out + c, wasm_f32x4_add(wasm_v128_load(out + c), wasm_v128_load(row + c)));
    for (int c = c4; c < cols; c++) out[c] += row[c];
  }
}

// out[s·width + c] = Σ_{i : ids[i] = s} x[i·width + c] for s < segments (the gradient of a gather: rows
// of x added into the rows their ids name; ids outside [0, segments) are dropped, as tfjs does).
EXPORT("segment_sum_rows")
void segment_sum_rows(int n, int width, int segments, const float *x, const int *ids, float *out) {
  int w4 = width & ~3;
  for (int i = 0; i < segments * width; i++) out[i] = 0;
  for (int i = 0; i < n; i++) {
    int s = ids[i];
    if (s < 0 || s >= segments) continue;
    const float *row = x + i * width;
    float *dst = out + s * width;
    for (int c = 0; c < w4; c += 4) wasm_v128_store(dst + c, wasm_f32x4_add(wasm_v128_load(dst + c), wasm_v128_load(row + c)));
    for (int c = w4; c < width; c++) dst[c] += row[c];
  }
}
