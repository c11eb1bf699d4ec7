import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkShape, DLArgumentError } from '@dl/core';

/**
 * Fused attention for the WebGPU backend in the manner of FlashAttention (Dao et al. 2022): the
 * softmax(Q·Kᵀ·scale)·V product is computed tile by tile with an online softmax, so the N×N score matrix
 * never exists in memory. Forward and backward are three WGSL compute shaders run through
 * tfjs-backend-webgpu's own program runner (no extra dependency: the backend object is reached through
 * `tf.backend()`).
 *
 * - **Forward**: a workgroup of `BR` threads owns `BR` query rows; it walks the keys in tiles of `BC`
 *   rows staged in workgroup memory. Each thread keeps its running maximum m, normaliser l and output
 *   accumulator, rescaling them as larger scores arrive (the online softmax of Milakov & Gimelshein
 *   2018). It writes the output row and L = m + log l (the row's log-sum-exp) for the backward pass.
 * - **Backward** (FlashAttention's Algorithm 2, split into two passes so no thread ever needs an atomic):
 *   with D_i = Σ_d dO_i,d·O_i,d and P_ij = exp(s_ij − L_i) recomputed on the fly, one pass walks key tiles
 *   per query row for dQ_i = scale·Σ_j P_ij(dO_i·V_j − D_i)·K_j, the other walks query tiles per key row for
 *   dV_j = Σ_i P_ij·dO_i and dK_j = scale·Σ_i P_ij(dO_i·V_j − D_i)·Q_i.
 *
 * Masking: causal (query i sees keys j ≤ i + Lk − Lq, as everywhere in @dl/attention) and key padding.
 * A query with no visible key gets a zero output and zero gradients, as the dense path gives.
 */

/** Threads (query or key rows) per workgroup. */
const BR = 64;
/** Workgroup memory every WebGPU device offers (maxComputeWorkgroupStorageSize's guaranteed minimum). */
const WORKGROUP_BYTES = 16384;
/**
 * The largest head dimension the fused kernels support (they keep a row in per-thread arrays).
 *
 * @example
 * ```ts
 * import { FLASH_MAX_HEAD_DIM } from '@dl/attention';
 * const fits = 128 <= FLASH_MAX_HEAD_DIM; // true
 * ```
 */
export const FLASH_MAX_HEAD_DIM = 256;

/** Rows of a tile of `floatsPerRow` floats that fit the workgroup memory, at most 64. */
const tileRows = (floatsPerRow: number) => Math.max(1, Math.min(64, Math.floor(WORKGROUP_BYTES / 4 / floatsPerRow)));

/** What tfjs-backend-webgpu's `runWebGPUProgram` reads from a program (the same fields its own programs have). */
interface WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: boolean;
  getUserCode(): string;
}

interface WebGPUBackendLike {
  runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: 'float32', uniforms: { type: string; data: number[] }[]): tf.TensorInfo;
}

const UNIFORMS = 'lq : i32, lk : i32, heads : i32, causal : i32, offset : i32, scale : f32,';

/**
 * A program over `rows` rows per (batch·head) and `bh` of those: workgroups of `BR` threads along x, one
 * (batch·head) per y. The dispatch layout is not flat, so `main()` takes no index.
 */
function program(key: string, names: string[], outputShape: number[], rows: number, bh: number, code: string): WebGPUProgram {
  return {
    outputShape,
    shaderKey: `dlFlashAttention_${key}`,
    dispatchLayout: { x: [], y: [0], z: [] },
    dispatch: [Math.ceil(rows / BR), bh, 1],
    variableNames: names,
    uniforms: UNIFORMS,
    workgroupSize: [BR, 1, 1],
    size: false,
    getUserCode: () => code,
  };
}

/** WGSL: whether key `key` is visible from query `row` of batch `b` (in range, not padding, causal). */
const VISIBLE = `
  fn visible(row : i32, key : i32, keep : f32) -> bool {
    return key < uniforms.lk && keep > 0.5 && (uniforms.causal == 0 || key <= row + uniforms.offset);
  }`;

/** WGSL: the key-side workgroup tiles (K, V and the key-padding flags) of the forward and dQ kernels. */
const keyTileDeclarations = (DK: number, DV: number, BC: number) => `
  var<workgroup> kTile : array<f32, ${BC * DK}>;
  var<workgroup> vTile : array<f32, ${BC * DV}>;
  var<workgroup> keepTile : array<f32, ${BC}>;
  ${VISIBLE}`;

/** WGSL: the workgroup's threads stage keys start … start + BC − 1 into the tiles (zeros past Lk). */
const loadKeyTile = (DK: number, DV: number, BC: number) => `
      for (var i = t; i < ${BC * DK}; i += ${BR}) {
        let key = start + i / ${DK};
        kTile[i] = select(0.0, K[(bh * uniforms.lk + key) * ${DK} + i % ${DK}], key < uniforms.lk);
      }
      for (var i = t; i < ${BC * DV}; i += ${BR}) {
        let key = start + i / ${DV};
        vTile[i] = select(0.0, V[(bh * uniforms.lk + key) * ${DV} + i % ${DV}], key < uniforms.lk);
      }
      for (var i = t; i < ${BC}; i += ${BR}) {
        keepTile[i] = select(0.0, f32(Keep[b * uniforms.lk + start + i]), start + i < uniforms.lk);
      }`;

/** Forward: `result` `[BH, Lq, DV + 1]`, the output rows then each row's log-sum-exp L. */
function forwardCode(DK: number, DV: number, BC: number): string {
  return `
  ${keyTileDeclarations(DK, DV, BC)}
  fn main() {
    let bh = i32(workgroupId.y);
    let b = bh / uniforms.heads;
    let row = i32(workgroupId.x) * ${BR} + i32(localId.x);
    let t = i32(localId.x);
    let valid = row < uniforms.lq;
    var q : array<f32, ${DK}>;
    var acc : array<f32, ${DV}>;
    for (var d = 0; d < ${DK}; d++) {
      q[d] = select(0.0, Q[(bh * uniforms.lq + row) * ${DK} + d] * uniforms.scale, valid);
    }
    for (var d = 0; d < ${DV}; d++) { acc[d] = 0.0; }
    var m = -1.0e30;
    var l = 0.0;
    let tiles = (uniforms.lk + ${BC - 1}) / ${BC};
    for (var tile = 0; tile < tiles; tile++) {
      let start = tile * ${BC};
      ${loadKeyTile(DK, DV, BC)}
      workgroupBarrier();
      if (valid) {
        for (var j = 0; j < ${BC}; j++) {
          if (visible(row, start + j, keepTile[j])) {
            var s = 0.0;
            for (var d = 0; d < ${DK}; d++) { s += q[d] * kTile[j * ${DK} + d]; }
            let mNew = max(m, s);
            let correction = exp(m - mNew);
            let p = exp(s - mNew);
            l = l * correction + p;
            for (var d = 0; d < ${DV}; d++) { acc[d] = acc[d] * correction + p * vTile[j * ${DV} + d]; }
            m = mNew;
          }
        }
      }
      workgroupBarrier();
    }
    if (valid) {
      let base = (bh * uniforms.lq + row) * ${DV + 1};
      let inv = select(0.0, 1.0 / l, l > 0.0);
      for (var d = 0; d < ${DV}; d++) { result[base + d] = acc[d] * inv; }
      // A row that sees no key: L = 1e30 makes every recomputed P_ij = exp(s − L) zero in the backward pass.
      result[base + ${DV}] = select(1.0e30, m + log(l), l > 0.0);
    }
  }`;
}

/** Backward, dQ: `result` `[BH, Lq, DK]`; `LD` is `[BH, Lq, 2]` (L, D). */
function gradQCode(DK: number, DV: number, BC: number): string {
  return `
  ${keyTileDeclarations(DK, DV, BC)}
  fn main() {
    let bh = i32(workgroupId.y);
    let b = bh / uniforms.heads;
    let row = i32(workgroupId.x) * ${BR} + i32(localId.x);
    let t = i32(localId.x);
    let valid = row < uniforms.lq;
    var q : array<f32, ${DK}>;
    var go : array<f32, ${DV}>;
    var dq : array<f32, ${DK}>;
    for (var d = 0; d < ${DK}; d++) {
      q[d] = select(0.0, Q[(bh * uniforms.lq + row) * ${DK} + d] * uniforms.scale, valid);
      dq[d] = 0.0;
    }
    for (var d = 0; d < ${DV}; d++) { go[d] = select(0.0, DO[(bh * uniforms.lq + row) * ${DV} + d], valid); }
    let L = select(1.0e30, LD[(bh * uniforms.lq + row) * 2], valid);
    let D = select(0.0, LD[(bh * uniforms.lq + row) * 2 + 1], valid);
    let tiles = (uniforms.lk + ${BC - 1}) / ${BC};
    for (var tile = 0; tile < tiles; tile++) {
      let start = tile * ${BC};
      ${loadKeyTile(DK, DV, BC)}
      workgroupBarrier();
      if (valid) {
        for (var j = 0; j < ${BC}; j++) {
          if (visible(row, start + j, keepTile[j])) {
            var s = 0.0;
            for (var d = 0; d < ${DK}; d++) { s += q[d] * kTile[j * ${DK} + d]; }
            let p = exp(s - L);
            var dp = 0.0;
            for (var d = 0; d < ${DV}; d++) { dp += go[d] * vTile[j * ${DV} + d]; }
            let ds = p * (dp - D);
            for (var d = 0; d < ${DK}; d++) { dq[d] += ds * kTile[j * ${DK} + d]; }
          }
        }
      }
      workgroupBarrier();
    }
    if (valid) {
      let base = (bh * uniforms.lq + row) * ${DK};
      for (var d = 0; d < ${DK}; d++) { result[base + d] = dq[d] * uniforms.scale; }
    }
  }`;
}

/** Backward, dK and dV: `result` `[BH, Lk, DK + DV]` (dK then dV per key row). */
function gradKVCode(DK: number, DV: number, BC: number): string {
  return `
  var<workgroup> qTile : array<f32, ${BC * DK}>;
  var<workgroup> goTile : array<f32, ${BC * DV}>;
  var<workgroup> lTile : array<f32, ${BC}>;
  var<workgroup> dTile : array<f32, ${BC}>;
  ${VISIBLE}
  fn main() {
    let bh = i32(workgroupId.y);
    let b = bh / uniforms.heads;
    let key = i32(workgroupId.x) * ${BR} + i32(localId.x);
    let t = i32(localId.x);
    let valid = key < uniforms.lk;
    let keep = select(0.0, f32(Keep[b * uniforms.lk + key]), valid);
    var k : array<f32, ${DK}>;
    var v : array<f32, ${DV}>;
    var dk : array<f32, ${DK}>;
    var dv : array<f32, ${DV}>;
    for (var d = 0; d < ${DK}; d++) {
      k[d] = select(0.0, K[(bh * uniforms.lk + key) * ${DK} + d], valid);
      dk[d] = 0.0;
    }
    for (var d = 0; d < ${DV}; d++) {
      v[d] = select(0.0, V[(bh * uniforms.lk + key) * ${DV} + d], valid);
      dv[d] = 0.0;
    }
    let tiles = (uniforms.lq + ${BC - 1}) / ${BC};
    for (var tile = 0; tile < tiles; tile++) {
      let start = tile * ${BC};
      for (var i = t; i < ${BC * DK}; i += ${BR}) {
        let row = start + i / ${DK};
        qTile[i] = select(0.0, Q[(bh * uniforms.lq + row) * ${DK} + i % ${DK}] * uniforms.scale, row < uniforms.lq);
      }
      for (var i = t; i < ${BC * DV}; i += ${BR}) {
        let row = start + i / ${DV};
        goTile[i] = select(0.0, DO[(bh * uniforms.lq + row) * ${DV} + i % ${DV}], row < uniforms.lq);
      }
      for (var i = t; i < ${BC}; i += ${BR}) {
        let row = start + i;
        lTile[i] = select(1.0e30, LD[(bh * uniforms.lq + row) * 2], row < uniforms.lq);
        dTile[i] = select(0.0, LD[(bh * uniforms.lq + row) * 2 + 1], row < uniforms.lq);
      }
      workgroupBarrier();
      if (valid) {
        for (var i = 0; i < ${BC}; i++) {
          let row = start + i;
          if (row < uniforms.lq && visible(row, key, keep)) {
            var s = 0.0;
            for (var d = 0; d < ${DK}; d++) { s += qTile[i * ${DK} + d] * k[d]; }
            let p = exp(s - lTile[i]);
            var dp = 0.0;
            for (var d = 0; d < ${DV}; d++) {
              dv[d] += p * goTile[i * ${DV} + d];
              dp += goTile[i * ${DV} + d] * v[d];
            }
            let ds = p * (dp - dTile[i]);
            // qTile holds scale·Q, so this already is scale·Σ ds·Q.
            for (var d = 0; d < ${DK}; d++) { dk[d] += ds * qTile[i * ${DK} + d]; }
          }
        }
      }
      workgroupBarrier();
    }
    if (valid) {
      let base = (bh * uniforms.lk + key) * ${DK + DV};
      for (var d = 0; d < ${DK}; d++) { result[base + d] = dk[d]; }
      for (var d = 0; d < ${DV}; d++) { result[base + ${DK} + d] = dv[d]; }
    }
  }`;
}

/**
 * Options of {@link flashAttention}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import type { FlashAttentionOptions } from '@dl/attention';
 * const options: FlashAttentionOptions = { causal: true, keyPaddingMask: tf.tensor2d([[false, false, true]], [1, 3], 'bool') };
 * ```
 */
export interface FlashAttentionOptions {
  /** Multiplies q·k. Default 1/√dk. */
  scale?: number;
  /** Causal masking: query i sees keys j ≤ i + (Lk − Lq). */
  causal?: boolean;
  /** Boolean `[batch, Lk]`, true = padding (ignored key). */
  keyPaddingMask?: tf.Tensor;
}

const FLASH_KEYS = ['scale', 'causal', 'keyPaddingMask'];

/**
 * Whether {@link flashAttention} can run here: the active backend is webgpu and both head dims are ≤ 256.
 *
 * @example
 * ```ts
 * import { flashAttentionAvailable } from '@dl/attention';
 * const fused = flashAttentionAvailable(64, 64); // true on webgpu, false on cpu and wasm
 * ```
 */
export function flashAttentionAvailable(dk: number, dv: number): boolean {
  return tf.getBackend() === 'webgpu' && dk <= FLASH_MAX_HEAD_DIM && dv <= FLASH_MAX_HEAD_DIM && typeof (tf.backend() as unknown as Partial<WebGPUBackendLike>).runWebGPUProgram === 'function';
}

function run(code: string, key: string, names: string[], inputs: tf.Tensor[], outputShape: number[], rows: number, bh: number, u: number[], scale: number): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackendLike;
  const uniforms = [...u.map((x) => ({ type: 'int32', data: [x] })), { type: 'float32', data: [scale] }];
  const info = backend.runWebGPUProgram(program(key, names, outputShape, rows, bh, code), inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Scaled dot-product attention as fused WebGPU kernels that never materialise the `Lq × Lk` scores
 * (FlashAttention, Dao et al. 2022): memory O((Lq + Lk)·d) instead of O(Lq·Lk), forward and backward.
 * Same result as {@link scaledDotProductAttention} with the same `scale`, `causal` and
 * `keyPaddingMask` (which calls it automatically on webgpu when nothing else is asked for: see
 * {@link useFusedAttention}). Only on the webgpu backend, head dims ≤ 256.
 *
 * @param q `[B, H, Lq, dk]`; k `[B, H, Lk, dk]`; v `[B, H, Lk, dv]` (float32).
 * @returns the output `[B, H, Lq, dv]`, differentiable in q, k and v.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { flashAttention, flashAttentionAvailable } from '@dl/attention';
 * const q = tf.randomNormal([1, 2, 128, 32]);
 * if (flashAttentionAvailable(32, 32)) {
 *   const out = flashAttention(q, q, q, { causal: true }); // [1, 2, 128, 32]
 * }
 * ```
 */
export function flashAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: FlashAttentionOptions = {}): tf.Tensor {
  const where = 'flashAttention';
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object', options);
  const unknown = Object.keys(options).filter((key) => !FLASH_KEYS.includes(key));
  if (unknown.length) throw new DLArgumentError(where, 'options', `only the keys ${FLASH_KEYS.join(', ')}`, `unknown key(s) ${unknown.join(', ')}`);
  checkShape(where, 'q', q, { rank: 4, dtype: 'float32' });
  checkShape(where, 'k', k, { rank: 4, dtype: 'float32' });
  checkShape(where, 'v', v, { rank: 4, dtype: 'float32' });
  const [B, H, Lq, DK] = q.shape;
  const [, , Lk, DV] = v.shape;
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== DK) throw new DLArgumentError(where, 'k', `of shape [${B}, ${H}, Lk, ${DK}]`, k);
  if (v.shape[0] !== B || v.shape[1] !== H || v.shape[2] !== k.shape[2]) throw new DLArgumentError(where, 'v', `of shape [${B}, ${H}, ${k.shape[2]}, dv]`, v);
  if (!flashAttentionAvailable(DK, DV)) {
    throw new DLArgumentError(where, 'backend', `webgpu with head dims ≤ ${FLASH_MAX_HEAD_DIM}`, `${tf.getBackend()} with dk ${DK}, dv ${DV}`);
  }
  const scale = options.scale === undefined ? 1 / Math.sqrt(DK) : checkNumber(where, 'scale', options.scale);
  if (options.causal !== undefined && typeof options.causal !== 'boolean') throw new DLArgumentError(where, 'causal', 'a boolean', options.causal);
  if (options.keyPaddingMask != null) {
    checkShape(where, 'keyPaddingMask', options.keyPaddingMask, { rank: 2, dtype: 'bool' });
    if (options.keyPaddingMask.shape[0] !== B || options.keyPaddingMask.shape[1] !== Lk) throw new DLArgumentError(where, 'keyPaddingMask', `of shape [${B}, ${Lk}]`, options.keyPaddingMask);
  }
  if (B * H === 0 || Lq === 0) return tf.zeros([B, H, Lq, DV]);
  const u = [Lq, Lk, H, options.causal ? 1 : 0, Lk - Lq];
  const shapeKey = `${DK}_${DV}`;
  const bcF = tileRows(DK + DV + 1);
  const bcQ = tileRows(DK + DV + 1);
  const bcKV = tileRows(DK + DV + 2);
  const fwd = forwardCode(DK, DV, bcF);
  const gq = gradQCode(DK, DV, bcQ);
  const gkv = gradKVCode(DK, DV, bcKV);
  const BH = B * H;

  const keep = options.keyPaddingMask ? tf.logicalNot(options.keyPaddingMask) : null;
  const keepF = keep ? tf.cast(keep, 'float32') : tf.ones([B, Lk]); // [B, Lk] 1 = visible key
  keep?.dispose();
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv, kp, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const q3 = tf.reshape(qq, [BH, Lq, DK]); // [BH, Lq, dk]
    const k3 = tf.reshape(kk, [BH, Lk, DK]); // [BH, Lk, dk]
    const v3 = tf.reshape(vv, [BH, Lk, DV]); // [BH, Lk, dv]
    const packed = run(fwd, `fwd_${shapeKey}_${bcF}`, ['Q', 'K', 'V', 'Keep'], [q3, k3, v3, kp], [BH, Lq, DV + 1], Lq, BH, u, scale); // [BH, Lq, dv + 1]
    const o3 = tf.slice(packed, [0, 0, 0], [BH, Lq, DV]); // [BH, Lq, dv]
    const lse = tf.slice(packed, [0, 0, DV], [BH, Lq, 1]); // [BH, Lq, 1] log-sum-exp of each row
    packed.dispose();
    save([q3, k3, v3, kp, o3, lse]);
    return {
      value: tf.reshape(o3, [B, H, Lq, DV]), // [B, H, Lq, dv]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, skp, so, sl] = saved;
        const dO = tf.reshape(dy, [BH, Lq, DV]); // [BH, Lq, dv]
        const D = tf.sum(tf.mul(dO, so), -1, true); // [BH, Lq, 1] D_i = Σ dO·O
        const LD = tf.concat([sl, D], -1); // [BH, Lq, 2]
        const dq = run(gq, `dq_${shapeKey}_${bcQ}`, ['Q', 'K', 'V', 'Keep', 'DO', 'LD'], [sq, sk, sv, skp, dO, LD], [BH, Lq, DK], Lq, BH, u, scale); // [BH, Lq, dk]
        const dkv = run(gkv, `dkv_${shapeKey}_${bcKV}`, ['Q', 'K', 'V', 'Keep', 'DO', 'LD'], [sq, sk, sv, skp, dO, LD], [BH, Lk, DK + DV], Lk, BH, u, scale); // [BH, Lk, dk + dv]
        const dk = tf.slice(dkv, [0, 0, 0], [BH, Lk, DK]); // [BH, Lk, dk]
        const dv = tf.slice(dkv, [0, 0, DK], [BH, Lk, DV]); // [BH, Lk, dv]
        return [tf.reshape(dq, [B, H, Lq, DK]), tf.reshape(dk, [B, H, Lk, DK]), tf.reshape(dv, [B, H, Lk, DV]), tf.zerosLike(skp)];
      },
    };
  });
  const out = f(q, k, v, keepF) as tf.Tensor;
  keepF.dispose();
  return out;
}

let fused = true;

/**
 * Turns the automatic use of {@link flashAttention} by `scaledDotProductAttention` on webgpu on or off
 * (default on). It is used when the call asks for nothing the fused kernels lack: no weights returned,
 * no general `mask`, no `scoreBias`, no dropout while training, head dims ≤ 256. Returns the previous
 * setting.
 *
 * @example
 * ```ts
 * import { useFusedAttention } from '@dl/attention';
 * const previous = useFusedAttention(false); // the dense matMul → softmax → matMul path everywhere
 * useFusedAttention(previous);
 * ```
 */
export function useFusedAttention(enabled: boolean): boolean {
  if (typeof enabled !== 'boolean') throw new DLArgumentError('useFusedAttention', 'enabled', 'a boolean', enabled);
  const previous = fused;
  fused = enabled;
  return previous;
}

/** Whether automatic fused attention is on (package-internal). */
export function fusedAttentionEnabled(): boolean {
  return fused;
}
