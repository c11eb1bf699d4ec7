// Sums over leading axes for @dl/core on tfjs's wasm backend, in WebAssembly SIMD.
//
// tfjs 4.22's wasm Sum reduces only the innermost axes natively: to sum over leading axes (a bias's
// gradient sums dy over the batch rows, LayerNorm's gain and shift over batch and time) it transposes
// the input first, ~2–3 ms for 768 × 512 values, most of a small Transformer's reduction time. Here the
// rows are added into the output four columns at a time, in one pass over the input.
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
