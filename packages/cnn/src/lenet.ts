import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, DLArgumentError, Linear, Module, type Rng } from '@dl/core';
import { Conv2d } from './conv.js';
import { AvgPool2d, MaxPool2d } from './pool.js';
import { convOutputSize } from './sizes.js';
import { labelLayers, optionKeys } from './util.js';

/** Options of {@link LeNet5}. */
export interface LeNet5Options {
  /** Image side (square). 28 (MNIST; conv1 pads by 2 to see 32×32 as in the paper) or 32 (no padding). Default 28. */
  inputSize?: number;
  /** Input channels. Default 1. */
  inChannels?: number;
  /** Classes. Default 10. */
  numClasses?: number;
  /** Activation after each conv and hidden fc. Default `'relu'` (the 1998 paper: `'tanh'`). */
  activation?: 'relu' | 'tanh';
  /** Sub-sampling: `'max'` (default) or `'avg'` (the paper's). */
  pool?: 'max' | 'avg';
  /** Generator for the initial values. */
  rng?: Rng;
}

const KEYS = optionKeys<LeNet5Options>()(['inputSize', 'inChannels', 'numClasses', 'activation', 'pool', 'rng']);

/**
 * LeNet-5 (LeCun et al. 1998): input, conv, pool, conv, pool, fully connected, fully connected,
 * output: conv1 (6 filters 5×5) → pool 2×2 → conv2 (16 filters 5×5) → pool 2×2 → flatten (16·5·5) →
 * fc1 (120) → fc2 (84) → fc3 (classes). Names follow the PyTorch tutorial's LeNet (`conv1`, `conv2`,
 * `fc1`, `fc2`, `fc3`); a PyTorch state dict loads with `loadPytorchStateDict`, which also permutes fc1's
 * columns from PyTorch's (c, h, w) flattening to our (h, w, c).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LeNet5 } from '@dl/cnn';
 * const net = new LeNet5(); // 61,706 parameters
 * const logits = net.forward(tf.zeros([32, 28, 28, 1])); // [32, 10]
 * ```
 */
export class LeNet5 extends Module {
  /** First convolution, 6 filters 5×5. */
  readonly conv1: Conv2d;
  /** First sub-sampling. */
  readonly pool1: MaxPool2d | AvgPool2d;
  /** Second convolution, 16 filters 5×5. */
  readonly conv2: Conv2d;
  /** Second sub-sampling. */
  readonly pool2: MaxPool2d | AvgPool2d;
  /** Fully connected 16·5·5 → 120. */
  readonly fc1: Linear;
  /** Fully connected 120 → 84. */
  readonly fc2: Linear;
  /** Output layer 84 → classes. */
  readonly fc3: Linear;
  /** The feature map `[h, w, c]` that is flattened into fc1. */
  readonly flatShape: [number, number, number];
  /** Input side. */
  readonly inputSize: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Classes. */
  readonly numClasses: number;
  private readonly act: 'relu' | 'tanh';

  /** @param options input size and channels, classes, activation, pooling. */
  constructor(options: LeNet5Options = {}) {
    super();
    checkKeys('LeNet5', options, KEYS);
    this.inputSize = checkInt('LeNet5', 'inputSize', options.inputSize ?? 28);
    this.inChannels = checkInt('LeNet5', 'inChannels', options.inChannels ?? 1);
    this.numClasses = checkInt('LeNet5', 'numClasses', options.numClasses ?? 10);
    this.act = options.activation ?? 'relu';
    if (this.act !== 'relu' && this.act !== 'tanh') throw new DLArgumentError('LeNet5', 'activation', "'relu' or 'tanh'", options.activation);
    const poolKind = options.pool ?? 'max';
    if (poolKind !== 'max' && poolKind !== 'avg') throw new DLArgumentError('LeNet5', 'pool', "'max' or 'avg'", options.pool);
    const pad = this.inputSize === 28 ? 2 : 0;
    const s1 = convOutputSize(this.inputSize, 5, { padding: pad });
    const s2 = convOutputSize(Math.floor(s1 / 2), 5);
    const s3 = Math.floor(s2 / 2);
    if (s3 < 1) throw new DLArgumentError('LeNet5', 'inputSize', 'at least 13 (two 5×5 convs and two 2×2 pools must fit)', this.inputSize);
    const rng = options.rng;
    const fused = this.act === 'relu' ? 'relu' : 'linear';
    this.conv1 = this.registerModule('conv1', new Conv2d(this.inChannels, 6, 5, { padding: pad, activation: fused, rng }));
    const pool = () => (poolKind === 'max' ? new MaxPool2d(2) : new AvgPool2d(2));
    this.pool1 = this.registerModule('pool1', pool());
    this.conv2 = this.registerModule('conv2', new Conv2d(6, 16, 5, { activation: fused, rng }));
    this.pool2 = this.registerModule('pool2', pool());
    this.flatShape = [s3, s3, 16];
    this.fc1 = this.registerModule('fc1', new Linear(16 * s3 * s3, 120, { rng }));
    this.fc2 = this.registerModule('fc2', new Linear(120, 84, { rng }));
    this.fc3 = this.registerModule('fc3', new Linear(84, this.numClasses, { rng }));
    labelLayers(this, 'LeNet5');
  }

  /** Linear layers fed by an NHWC flatten, with the PyTorch (c, h, w) shape of their input (for weight import). */
  pytorchFlattenInputs(): Record<string, [number, number, number]> {
    const [h, w, c] = this.flatShape;
    return { fc1: [c, h, w] };
  }

  /**

   * Forward pass.

   * @param x `[N, inputSize, inputSize, inChannels]` → logits `[N, numClasses]`.

   */
  forward(x: tf.Tensor): tf.Tensor2D {
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4 || x.shape[1] !== this.inputSize || x.shape[2] !== this.inputSize || x.shape[3] !== this.inChannels) {
      throw new DLArgumentError('LeNet5', 'input', `of shape [N, ${this.inputSize}, ${this.inputSize}, ${this.inChannels}] (NHWC)`, x);
    }
    return tf.tidy(() => {
      const act = (t: tf.Tensor) => (this.act === 'relu' ? t : tf.tanh(t)); // relu is fused into the convs
      let h = this.pool1.forward(act(this.conv1.forward(x))); // [N, 14, 14, 6]
      h = this.pool2.forward(act(this.conv2.forward(h))); // [N, 5, 5, 16]
      const flat = tf.reshape(h, [h.shape[0], -1]); // [N, 400] in (h, w, c) order
      const hidden = (l: Linear, t: tf.Tensor) => (this.act === 'relu' ? tf.relu(l.forward(t)) : tf.tanh(l.forward(t)));
      const f2 = hidden(this.fc2, hidden(this.fc1, flat)); // [N, 84]
      return this.fc3.forward(f2) as tf.Tensor2D; // [N, classes]
    });
  }
}
