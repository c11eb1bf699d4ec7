import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, checkInt, checkKeys, checkNumber, DLArgumentError, Dropout, Linear, Module, ModuleList, type Rng } from '@dl/core';
import { Conv2d, convKaimingNormal } from '../conv.js';
import { MaxPool2d } from '../pool.js';
import { labelLayers, optionKeys } from '../util.js';

/** The grid and class layout of a YOLOv1 output: S×S cells, B boxes per cell, C classes. */
export interface YoloLayout {
  /** Grid side S (the paper: 7). */
  S: number;
  /** Boxes per cell B (the paper: 2). */
  B: number;
  /** Classes C (the paper: 20, Pascal VOC). */
  C: number;
}

/**
 * Checks a YOLO layout (S, B, C positive integers; the paper's 7, 2 and 20 where left out) and returns
 * it; a bad value throws an error naming `where` and the argument.
 *
 * @example
 * ```ts
 * import { checkLayout } from '@dl/cnn';
 * checkLayout('MyHead', { S: 4, C: 3 }); // { S: 4, B: 2, C: 3 }
 * checkLayout('MyHead', { S: 0 }); // throws "MyHead: S must be a positive integer, got 0"
 * ```
 */
export function checkLayout(where: string, layout: Partial<YoloLayout>): YoloLayout {
  return { S: checkInt(where, 'S', layout.S ?? 7), B: checkInt(where, 'B', layout.B ?? 2), C: checkInt(where, 'C', layout.C ?? 20) };
}

/** Options of {@link YoloV1Head}. */
export interface YoloV1HeadOptions extends Partial<YoloLayout> {
  /** Width of the hidden fully connected layer. Default 4096 (the paper). */
  hidden?: number;
  /** Dropout after the hidden layer. Default 0.5 (the paper). */
  dropout?: number;
  /** Generator for the initial values and dropout. */
  rng?: Rng;
}

const HEAD_KEYS = optionKeys<YoloV1HeadOptions>()(['S', 'B', 'C', 'hidden', 'dropout', 'rng']);

/**
 * YOLOv1's detection head (Redmon et al. 2016): flatten the backbone's `[h, w, c]` map → fc (hidden, leaky
 * ReLU 0.1) → dropout → fc to S·S·(B·5 + C), reshaped to `[N, S, S, B·5 + C]`. Per cell the last axis
 * holds B boxes `(x, y, √w, √h, confidence)` then C class scores, all raw (see {@link yoloActivate}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { YoloV1Head } from '@dl/cnn';
 * const head = new YoloV1Head([4, 4, 64], { S: 7, B: 2, C: 20, hidden: 256 });
 * const raw = head.forward(tf.zeros([1, 4, 4, 64])); // [1, 7, 7, 30]
 * ```
 */
export class YoloV1Head extends Module {
  /** Hidden fully connected layer. */
  readonly fc1: Linear;
  /** Output layer to S·S·(B·5 + C). */
  readonly fc2: Linear;
  /** The grid layout. */
  readonly layout: YoloLayout;
  private readonly drop: Dropout | null;

  /**
   * @param inputShape `[h, w, c]` of the backbone's feature map.
   * @param options S, B, C, hidden width, dropout.
   */
  constructor(readonly inputShape: [number, number, number], options: YoloV1HeadOptions = {}) {
    super();
    checkKeys('YoloV1Head', options, HEAD_KEYS);
    if (!Array.isArray(inputShape) || inputShape.length !== 3) throw new DLArgumentError('YoloV1Head', 'inputShape', '[h, w, c]', inputShape);
    inputShape.forEach((d, i) => checkInt('YoloV1Head', `inputShape[${i}]`, d));
    this.layout = checkLayout('YoloV1Head', options);
    const hidden = checkInt('YoloV1Head', 'hidden', options.hidden ?? 4096);
    const p = checkNumber('YoloV1Head', 'dropout', options.dropout ?? 0.5, 0, 1, false, true);
    const { S, B, C } = this.layout;
    this.fc1 = this.registerModule('fc1', new Linear(inputShape[0] * inputShape[1] * inputShape[2], hidden, { rng: options.rng }));
    this.drop = p > 0 ? this.registerModule('drop', new Dropout(p, { rng: options.rng })) : null;
    this.fc2 = this.registerModule('fc2', new Linear(hidden, S * S * (B * 5 + C), { rng: options.rng }));
  }

  /** Linear layers fed by an NHWC flatten, with the PyTorch (c, h, w) shape of their input (for weight import). */
  pytorchFlattenInputs(): Record<string, [number, number, number]> {
    const [h, w, c] = this.inputShape;
    return { fc1: [c, h, w] };
  }

  /**

   * Forward pass.

   * @param x `[N, h, w, c]` → raw predictions `[N, S, S, B·5 + C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const [h, w, c] = this.inputShape;
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      throw new DLArgumentError('YoloV1Head', 'input', `of shape [N, ${h}, ${w}, ${c}]`, x);
    }
    const { S, B, C } = this.layout;
    return tf.tidy(() => {
      const flat = tf.reshape(x, [x.shape[0], -1]); // [N, h·w·c]
      let hid = tf.leakyRelu(this.fc1.forward(flat), 0.1); // [N, hidden]
      if (this.drop) hid = this.drop.forward(hid);
      return tf.reshape(this.fc2.forward(hid), [x.shape[0], S, S, B * 5 + C]) as tf.Tensor4D; // [N, S, S, B·5+C]
    });
  }
}

/** Options of {@link YoloV1}. */
export interface YoloV1Options extends YoloV1HeadOptions {
  /** Square input side; must be S · 2^k for the k pooling stages of the backbone. Default 448. */
  inputSize?: number;
  /** Input channels. Default 3. */
  inChannels?: number;
  /**
   * Channels of the backbone stages: each stage is a 3×3 conv + batch norm + leaky ReLU, and every
   * stage but the last ends in a 2×2 max pool. The number of pools must bring `inputSize` down to S.
   * Default: a compact Darknet-like stack for 448 → 7 (`[64, 128, 256, 512, 1024, 1024, 1024]`).
   */
  widths?: number[];
}

const YOLO_KEYS = optionKeys<YoloV1Options>()(['S', 'B', 'C', 'hidden', 'dropout', 'rng', 'inputSize', 'inChannels', 'widths']);

/**
 * YOLOv1 (Redmon et al. 2016): a convolutional backbone down to an S×S map, then {@link YoloV1Head}.
 * The backbone here is a compact Darknet-style stack (3×3 conv + batch norm + leaky ReLU, 2×2 max pool);
 * the paper's 24-conv Darknet can be substituted by composing {@link YoloV1Head} with any backbone.
 * Train with {@link yoloLoss}; read boxes with {@link decodeYolo}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { YoloV1 } from '@dl/cnn';
 * const yolo = new YoloV1({ S: 4, B: 2, C: 3, inputSize: 64, widths: [8, 16, 32, 32, 32], hidden: 128 });
 * const raw = yolo.forward(tf.zeros([1, 64, 64, 3])); // [1, 4, 4, 13]
 * ```
 */
export class YoloV1 extends Module {
  /** Backbone stages (`features.i.conv`, `features.i.bn`). */
  readonly features: ModuleList<ModuleList<Conv2d | BatchNorm2d>>;
  /** The detection head. */
  readonly head: YoloV1Head;
  /** Input side. */
  readonly inputSize: number;
  /** Input channels. */
  readonly inChannels: number;
  /** The grid layout. */
  readonly layout: YoloLayout;
  private readonly pool = new MaxPool2d(2);

  /** @param options layout, input size and channels, backbone widths, head width, dropout. */
  constructor(options: YoloV1Options = {}) {
    super();
    checkKeys('YoloV1', options, YOLO_KEYS);
    this.layout = checkLayout('YoloV1', options);
    this.inputSize = checkInt('YoloV1', 'inputSize', options.inputSize ?? 448);
    this.inChannels = checkInt('YoloV1', 'inChannels', options.inChannels ?? 3);
    const widths = options.widths ?? [64, 128, 256, 512, 1024, 1024, 1024];
    if (!Array.isArray(widths) || widths.length < 1) throw new DLArgumentError('YoloV1', 'widths', 'a non-empty list of stage widths', widths);
    const pools = widths.length - 1;
    if (this.inputSize !== this.layout.S * 2 ** pools) {
      throw new DLArgumentError('YoloV1', 'inputSize', `S · 2^${pools} = ${this.layout.S * 2 ** pools} (${pools} pools between ${widths.length} stages bring it to S = ${this.layout.S})`, this.inputSize);
    }
    let c = this.inChannels;
    const stages = widths.map((w, i) => {
      checkInt('YoloV1', `widths[${i}]`, w);
      const conv = new Conv2d(c, w, 3, { padding: 1, bias: false, weightInit: convKaimingNormal(), rng: options.rng });
      c = w;
      return new ModuleList<Conv2d | BatchNorm2d>([conv, new BatchNorm2d(w)]);
    });
    this.features = this.registerModule('features', new ModuleList(stages));
    this.head = this.registerModule('head', new YoloV1Head([this.layout.S, this.layout.S, c], { ...this.layout, hidden: options.hidden, dropout: options.dropout, rng: options.rng }));
    labelLayers(this, 'YoloV1');
  }

  /**

   * Forward pass.

   * @param x `[N, inputSize, inputSize, inChannels]` → raw predictions `[N, S, S, B·5 + C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const n = this.inputSize;
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4 || x.shape[1] !== n || x.shape[2] !== n || x.shape[3] !== this.inChannels) {
      throw new DLArgumentError('YoloV1', 'input', `of shape [N, ${n}, ${n}, ${this.inChannels}] (NHWC)`, x);
    }
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      const stages = [...this.features];
      stages.forEach((stage, i) => {
        const conv = stage.get(0) as Conv2d;
        const bn = stage.get(1) as BatchNorm2d;
        h = tf.leakyRelu(bn.forward(conv.forward(h)), 0.1) as tf.Tensor4D; // [N, h, w, c]
        if (i < stages.length - 1) h = this.pool.forward(h); // [N, h/2, w/2, c]
      });
      return this.head.forward(h); // [N, S, S, B·5+C]
    });
  }
}

/**
 * Squashes raw YOLOv1 outputs into their ranges: x, y (offsets in the cell), √w, √h (of the image) and
 * confidence through a sigmoid, class scores through a softmax. (The paper's outputs are linear; bounded
 * outputs train more stably at small scale and keep √w ≥ 0.) Returns `boxes [N, S·S, B, 5]` and
 * `classes [N, S·S, C]`, cells in row-major order (cell = row·S + col; rank ≤ 4 for WebGPU).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { yoloActivate } from '@dl/cnn';
 * const { boxes, classes } = yoloActivate(tf.zeros([1, 7, 7, 30]), { B: 2, C: 20 });
 * ```
 */
export function yoloActivate(raw: tf.Tensor, layout: { B: number; C: number }): {
  /** `[N, S·S, B, 5]`: x, y, √w, √h, confidence, each in (0, 1). */
  boxes: tf.Tensor;
  /** `[N, S·S, C]`: Pr(class | object). */
  classes: tf.Tensor;
} {
  const { B, C } = layout;
  if (raw == null || typeof raw !== 'object' || !('shape' in raw) || raw.rank !== 4 || raw.shape[1] !== raw.shape[2] || raw.shape[3] !== B * 5 + C) {
    throw new DLArgumentError('yoloActivate', 'predictions', `of shape [N, S, S, B·5 + C = ${B * 5 + C}] (B = ${B}, C = ${C})`, raw);
  }
  return tf.tidy(() => {
    const [n, s] = raw.shape;
    const cells = tf.reshape(raw, [n, s * s, B * 5 + C]); // [N, S·S, B·5+C]
    const boxRaw = tf.slice(cells, [0, 0, 0], [n, s * s, B * 5]); // [N, S·S, B·5]
    const boxes = tf.sigmoid(tf.reshape(boxRaw, [n, s * s, B, 5])); // [N, S·S, B, 5]
    const classes = tf.softmax(tf.slice(cells, [0, 0, B * 5], [n, s * s, C])); // [N, S·S, C]
    return { boxes, classes };
  });
}
