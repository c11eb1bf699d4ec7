// Batched single-precision matrix products for @dl/core on tfjs's wasm backend, in WebAssembly SIMD.
//
// tfjs 4.22's wasm BatchMatMul runs a plain 2-D product through XNNPACK (~15-20 GFLOP/s on one thread)
// but every batched or transposed product through a scalar loop (~1.7 GFLOP/s): attention's q·kᵀ and
// p·v and their gradients all take that path. This file is the replacement for those products: B is
// packed into panels of 8 columns (transposing on the way when asked), A is read row by row (packed
// first when transposed), and a 4 × 8 register tile accumulates C with 128-bit SIMD. The build script
// (scripts/build-wasm-kernels.mjs) compiles it with clang into src/wasm/kernels-wasm.ts.
//
// No libc: the caller (src/wasm-gemm.ts) owns the memory and passes every pointer.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define MR 4
#define NR 8

// Copies the k × n operand (or its transpose, given as n × k when tb) into panels of NR columns:
// panel j holds, for p = 0..k-1, the NR values B[p][NR·j .. NR·j + NR - 1], zero past column n.
static void pack_b(const float *b, int k, int n, int tb, float *bp) {
  int panels = (n + NR - 1) / NR;
  for (int j = 0; j < panels; j++) {
    float *dst = bp + j * k * NR;
    int c0 = j * NR;
    int w = n - c0 < NR ? n - c0 : NR;
    if (!tb && w == NR) {
      for (int p = 0; p < k; p++) wasm_v128_store(dst + p * NR, wasm_v128_load(b + p * n + c0)), wasm_v128_store(dst + p * NR + 4, wasm_v128_load(b + p * n + c0 + 4));
      continue;
    }
    for (int p = 0; p < k; p++)
      for (int c = 0; c < NR; c++) dst[p * NR + c] = c < w ? (tb ? b[(c0 + c) * k + p] : b[p * n + c0 + c]) : 0.0f;
  }
}

// Rows i0 .. i1-1 of A's transpose: the k × m operand `a` gives (i1 - i0) × k rows in `ap`.
static void pack_a_transposed(const float *a, int k, int m, int i0, int i1, float *ap) {
  for (int p = 0; p < k; p++)
    for (int i = i0; i < i1; i++) ap[(i - i0) * k + p] = a[p * m + i];
}

// C[rows × cols] (row stride ldc) = A[rows × k] (row stride lda) · one packed panel of B. rows ≤ MR and
// cols ≤ NR; missing rows reuse row 0 and missing columns are zero in the panel, then are not stored.
static void tile(int k, const float *a, int lda, const float *bp, float *c, int ldc, int rows, int cols) {
  const float *a0 = a;
  const float *a1 = rows > 1 ? a + lda : a;
  const float *a2 = rows > 2 ? a + 2 * lda : a;
  const float *a3 = rows > 3 ? a + 3 * lda : a;
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int p = 0; p < k; p++) {
    v128_t b0 = wasm_v128_load(bp + p * NR);
    v128_t b1 = wasm_v128_load(bp + p * NR + 4);
    v128_t x = wasm_v128_load32_splat(a0 + p);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a1 + p);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a2 + p);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
    x = wasm_v128_load32_splat(a3 + p);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
  }
  if (rows == MR && cols == NR) {
    wasm_v128_store(c, c00), wasm_v128_store(c + 4, c01);
    wasm_v128_store(c + ldc, c10), wasm_v128_store(c + ldc + 4, c11);
    wasm_v128_store(c + 2 * ldc, c20), wasm_v128_store(c + 2 * ldc + 4, c21);
    wasm_v128_store(c + 3 * ldc, c30), wasm_v128_store(c + 3 * ldc + 4, c31);
    return;
  }
  float t[MR * NR];
  wasm_v128_store(t, c00), wasm_v128_store(t + 4, c01), wasm_v128_store(t + 8, c10), wasm_v128_store(t + 12, c11);
  wasm_v128_store(t + 16, c20), wasm_v128_store(t + 20, c21), wasm_v128_store(t + 24, c30), wasm_v128_store(t + 28, c31);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) c[i * ldc + j] = t[i * NR + j];
}

// Rows i0 .. i1-1 of C[s] = op(A[s]) · op(B[s]) for s = 0..batch-1, every matrix row-major and
// contiguous: A[s] is m × k (k × m when ta), B[s] is k × n (n × k when tb), C[s] is m × n. `scratch` holds
// ⌈n / 8⌉·8·k floats, plus (i1 - i0)·k more when ta. Batch index s of A and B advances by strideA / strideB
// floats (0 broadcasts one matrix over the batch). Threads (src/wasm-pool.ts) each take a band of rows or
// a range of the batch, with scratch of their own.
EXPORT("gemm_rows")
void gemm_rows(int batch, int m, int n, int k, const float *a, int ta, int strideA, const float *b, int tb, int strideB, float *c, float *scratch, int i0, int i1) {
  int panels = (n + NR - 1) / NR;
  float *bp = scratch;
  float *ap = scratch + panels * NR * k;
  for (int s = 0; s < batch; s++) {
    const float *as = a + s * strideA;
    const float *bs = b + s * strideB;
    float *cs = c + s * m * n;
    if (s == 0 || strideB != 0) pack_b(bs, k, n, tb, bp);
    if (ta && (s == 0 || strideA != 0)) pack_a_transposed(as, k, m, i0, i1, ap);
    for (int i = i0; i < i1; i += MR) {
      int r = i1 - i < MR ? i1 - i : MR;
      const float *arow = ta ? ap + (i - i0) * k : as + i * k; // row i of op(A)
      for (int j = 0; j < panels; j++) {
        int w = n - j * NR < NR ? n - j * NR : NR;
        tile(k, arow, k, bp + j * k * NR, cs + i * n + j * NR, n, r, w);
      }
    }
  }
}

// All of C: gemm_rows over rows 0 .. m-1 (`scratch`: ⌈n / 8⌉·8·k floats, plus m·k more when ta).
EXPORT("gemm")
void gemm(int batch, int m, int n, int k, const float *a, int ta, int strideA, const float *b, int tb, int strideB, float *c, float *scratch) {
  gemm_rows(batch, m, n, k, a, ta, strideA, b, tb, strideB, c, scratch, 0, m);
}
