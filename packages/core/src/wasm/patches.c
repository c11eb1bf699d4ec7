// Image patches for @dl/core's im2col / col2im, max pooling and the gradients of depthwise convolutions,
// on tfjs's wasm backend, in WebAssembly SIMD.
//
// A convolution is a matrix product once every output pixel's receptive field is laid out as one row
// (im2col): [N·oH·oW, kh·kw·C] × [kh·kw·C, out]. Its input gradient is the transpose: the rows of
// g·Wᵀ added back where their pixels came from (col2im). With these two and @dl/core's matrix products a
// convolution and both its gradients run in the module, and autodiff skips the input gradient of a
// first layer (tfjs's convolutions compute it whether or not anything needs it).
//
// Layout: NHWC images; a patch row is ordered (i, j, c) for kernel row i, column j, channel c, which is
// a [kh, kw, C, out] kernel reshaped to [kh·kw·C, out]. Padding cells are zeros. No libc: the caller
// (src/patches.ts) passes every pointer.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))

// n ≥ 4 values end with one vector at n − 4 (overlapping the last full one: harmless for copies and
// stores of zeros), so short channel counts such as 6 need no scalar tail.
static void copy(float *dst, const float *src, int n) {
  if (n < 4) {
    for (int i = 0; i < n; i++) dst[i] = src[i];
    return;
  }
  for (int i = 0; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  wasm_v128_store(dst + n - 4, wasm_v128_load(src + n - 4));
}

static void add(float *dst, const float *src, int n) {
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  for (int i = n4; i < n; i++) dst[i] += src[i];
}

static void zero(float *dst, int n) {
  if (n < 4) {
    for (int i = 0; i < n; i++) dst[i] = 0;
    return;
  }
  for (int i = 0; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0));
  wasm_v128_store(dst + n - 4, wasm_f32x4_splat(0));
}

// The geometry every function takes: n, h, w, c the input images; oh, ow the output pixels; kh, kw the
// kernel; sh, sw the stride; dh, dw the dilation; pt, pl the top and left padding (bottom and right
// follow from oh and ow).
#define GEOMETRY int n, int h, int w, int c, int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl

// cols[((b·oh + y)·ow + x)·kh·kw·c + (i·kw + j)·c + ch] = x[b, y·sh − pt + i·dh, x·sw − pl + j·dw, ch] (0 outside).
EXPORT("im2col")
void im2col(GEOMETRY, const float *x, float *cols) {
  const int row = kh * kw * c;
  float *out = cols;
  for (int b = 0; b < n; b++) {
    const float *img = x + b * h * w * c;
    for (int y = 0; y < oh; y++) {
      for (int xx = 0; xx < ow; xx++, out += row) {
        float *dst = out;
        const int x0 = xx * sw - pl;
        // The taps j0 ≤ j < j1 of a kernel row fall inside the image; with dw = 1 they are one run.
        int j0 = 0, j1 = kw;
        while (j0 < kw && x0 + j0 * dw < 0) j0++;
        while (j1 > j0 && x0 + (j1 - 1) * dw >= w) j1--;
        for (int i = 0; i < kh; i++, dst += kw * c) {
          int iy = y * sh - pt + i * dh;
          if (iy < 0 || iy >= h || j0 >= j1) {
            zero(dst, kw * c);
            continue;
          }
          if (j0 > 0) zero(dst, j0 * c);
          if (dw == 1) copy(dst + j0 * c, img + (iy * w + x0 + j0) * c, (j1 - j0) * c);
          else for (int j = j0; j < j1; j++) copy(dst + j * c, img + (iy * w + x0 + j * dw) * c, c);
          if (j1 < kw) zero(dst + j1 * c, (kw - j1) * c);
        }
      }
    }
  }
}

// The adjoint of im2col: x[b, iy, ix, ch] = Σ of every cols entry im2col took from there (padding dropped).
EXPORT("col2im")
void col2im(GEOMETRY, const float *cols, float *x) {
  const int row = kh * kw * c;
  zero(x, n * h * w * c);
  const float *in = cols;
  for (int b = 0; b < n; b++) {
    float *img = x + b * h * w * c;
    for (int y = 0; y < oh; y++) {
      for (int xx = 0; xx < ow; xx++, in += row) {
        const float *src = in;
        for (int i = 0; i < kh; i++) {
          int iy = y * sh - pt + i * dh;
          for (int j = 0; j < kw; j++, src += c) {
            int ix = xx * sw - pl + j * dw;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) add(img + (iy * w + ix) * c, src, c);
          }
        }
      }
    }
  }
}

// Max pooling (PyTorch's max_pool2d): y[b, y, x, ch] = the largest x[b, iy, ix, ch] of the window (padding
// never wins: it is not read), and idx the pixel it came from (iy·w + ix: the first largest, or the last
// NaN, as PyTorch picks). Four channels at a time.
EXPORT("max_pool")
void max_pool(GEOMETRY, const float *x, float *out, int *idx) {
  const int c4 = c & ~3;
  for (int b = 0; b < n; b++) {
    const float *img = x + b * h * w * c;
    for (int y = 0; y < oh; y++) {
      int y0 = y * sh - pt;
      for (int xx = 0; xx < ow; xx++) {
        int x0 = xx * sw - pl;
        float *o = out + ((b * oh + y) * ow + xx) * c;
        int *oi = idx + ((b * oh + y) * ow + xx) * c;
        // c ≥ 4: the last vector starts at c − 4 (recomputing a few channels) instead of a scalar tail.
        for (int cv = 0; cv < c4 + (c4 < c && c >= 4 ? 4 : 0); cv += 4) {
          const int ch = cv < c4 ? cv : c - 4;
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          for (int i = 0; i < kh; i++) {
            int iy = y0 + i * dh;
            if (iy < 0 || iy >= h) continue;
            for (int j = 0; j < kw; j++) {
              int ix = x0 + j * dw;
              if (ix < 0 || ix >= w) continue;
              v128_t v = wasm_v128_load(img + (iy * w + ix) * c + ch);
              v128_t take = wasm_v128_or(wasm_f32x4_gt(v, best), wasm_f32x4_ne(v, v));
              v128_t first = wasm_i32x4_eq(at, wasm_i32x4_splat(-1)); // the first pixel read always counts
              take = wasm_v128_or(take, first);
              best = wasm_v128_bitselect(v, best, take);
              at = wasm_v128_bitselect(wasm_i32x4_splat(iy * w + ix), at, take);
            }
          }
          wasm_v128_store(o + ch, best);
          wasm_v128_store(oi + ch, at);
        }
        for (int ch = c >= 4 ? c : c4; ch < c; ch++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int i = 0; i < kh; i++) {
            int iy = y0 + i * dh;
            if (iy < 0 || iy >= h) continue;
            for (int j = 0; j < kw; j++) {
              int ix = x0 + j * dw;
              if (ix < 0 || ix >= w) continue;
              float v = img[(iy * w + ix) * c + ch];
              if (at < 0 || v > best || v != v) {
                best = v;
                at = iy * w + ix;
              }
            }
          }
          o[ch] = best;
          oi[ch] = at;
        }
      }
    }
  }
}

// The gradient of max_pool: each output's gradient goes to the pixel idx names (none for idx = −1).
EXPORT("max_pool_grad")
void max_pool_grad(int n, int hw, int c, int ohw, const float *dy, const int *idx, float *dx) {
  zero(dx, n * hw * c);
  for (int b = 0; b < n; b++) {
    float *img = dx + b * hw * c;
    const float *g = dy + b * ohw * c;
    const int *at = idx + b * ohw * c;
    for (int p = 0; p < ohw; p++)
      for (int ch = 0; ch < c; ch++) {
        int i = at[p * c + ch];
        if (i >= 0) img[i * c + ch] += g[p * c + ch];
      }
  }
}

// dst[i] += a[i] · b[i], four at a time.
static void add_product(float *dst, const float *a, const float *b, int n) {
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) {
    v128_t p = wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i));
    wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), p));
  }
  for (int i = n4; i < n; i++) dst[i] += a[i] * b[i];
}

// The gradients of a depthwise convolution (each channel ch convolved with its own m filters; output
// channel ch·m + mm, tfjs's and PyTorch's order) with a [kh, kw, c, m] kernel. They walk the windows as
// im2col does, without laying the patches out: the filter gradient accumulates in a kh·kw·c·m block
// that stays in cache, and the input gradient adds each window's share back like col2im.

// dwt[i, j, ch, mm] = Σ over images and output pixels of x[b, y·sh − pt + i·dh, x·sw − pl + j·dw, ch] · g[b, y, x, ch·m + mm].
EXPORT("depthwise_filter_grad")
void depthwise_filter_grad(GEOMETRY, int m, const float *x, const float *g, float *dwt) {
  const int cm = c * m;
  zero(dwt, kh * kw * cm);
  for (int b = 0; b < n; b++) {
    const float *img = x + b * h * w * c;
    for (int y = 0; y < oh; y++) {
      for (int xx = 0; xx < ow; xx++) {
        const float *gp = g + ((b * oh + y) * ow + xx) * cm;
        for (int i = 0; i < kh; i++) {
          int iy = y * sh - pt + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < kw; j++) {
            int ix = xx * sw - pl + j * dw;
            if (ix < 0 || ix >= w) continue;
            const float *xp = img + (iy * w + ix) * c;
            float *d = dwt + (i * kw + j) * cm;
            if (m == 1) add_product(d, xp, gp, c);
            else
              for (int ch = 0; ch < c; ch++)
                for (int mm = 0; mm < m; mm++) d[ch * m + mm] += xp[ch] * gp[ch * m + mm];
          }
        }
      }
    }
  }
}

// dx[b, iy, ix, ch] = Σ over the windows that read (iy, ix) of Σ_mm g[b, y, x, ch·m + mm] · wt[i, j, ch, mm].
EXPORT("depthwise_input_grad")
void depthwise_input_grad(GEOMETRY, int m, const float *g, const float *wt, float *dx) {
  const int cm = c * m;
  zero(dx, n * h * w * c);
  for (int b = 0; b < n; b++) {
    float *img = dx + b * h * w * c;
    for (int y = 0; y < oh; y++) {
      for (int xx = 0; xx < ow; xx++) {
        const float *gp = g + ((b * oh + y) * ow + xx) * cm;
        for (int i = 0; i < kh; i++) {
          int iy = y * sh - pt + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < kw; j++) {
            int ix = xx * sw - pl + j * dw;
            if (ix < 0 || ix >= w) continue;
            float *xp = img + (iy * w + ix) * c;
            const float *wp = wt + (i * kw + j) * cm;
            if (m == 1) add_product(xp, gp, wp, c);
            else
              for (int ch = 0; ch < c; ch++) {
                float s = 0;
                for (int mm = 0; mm < m; mm++) s += gp[ch * m + mm] * wp[ch * m + mm];
                xp[ch] += s;
              }
          }
        }
      }
    }
  }
}
