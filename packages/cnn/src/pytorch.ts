import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, DLArgumentError, type LoadResult, type Module, type StateDict } from '@dl/core';
import { Conv1d, Conv2d } from './conv.js';
import { ConvTranspose2d } from './conv-transpose.js';

/** How one entry of a state dict moves between PyTorch's layout and ours. */
interface Converter {
  /** PyTorch layout → ours. */
  fromTorch(t: tf.Tensor): tf.Tensor;
  /** Ours → PyTorch layout. */
  toTorch(t: tf.Tensor): tf.Tensor;
  /** Expected PyTorch shape of the entry. */
  torchShape: number[];
}

/** A module that feeds NHWC-flattened maps into Linear layers and says their PyTorch `(c, h, w)` input. */
interface FlattenAware {
  pytorchFlattenInputs(): Record<string, [number, number, number]>;
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/**
 * Per state-dict name, how to convert between PyTorch and @dl layouts:
 * - `Conv2d.weight`: PyTorch `[out, in/g, kh, kw]` ↔ ours `[kh, kw, in/g, out]` (permute 2, 3, 1, 0);
 * - `Conv1d.weight`: `[out, in/g, k]` ↔ `[k, in/g, out]` (permute 2, 1, 0);
 * - `ConvTranspose2d.weight`: `[in, out/g, kh, kw]` ↔ `[kh, kw, out/g, in]` (permute 2, 3, 1, 0);
 * - the Linear right after a flatten (LeNet's `fc1`, YOLOv1's `head.fc1`): PyTorch flattens (c, h, w),
 *   NHWC flattens (h, w, c), so the weight's columns are permuted.
 * Everything else (Linear, BatchNorm, biases) is identical.
 */
function converters(model: Module): Map<string, Converter> {
  const out = new Map<string, Converter>();
  const perm = (p: number[]) => (t: tf.Tensor) => tf.transpose(t, p);
  for (const [path, m] of model.namedModules()) {
    if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
      const [kh, kw, a, b] = m.weight.shape;
      out.set(join(path, 'weight'), { fromTorch: perm([2, 3, 1, 0]), toTorch: perm([3, 2, 0, 1]), torchShape: [b, a, kh, kw] });
    } else if (m instanceof Conv1d) {
      const [k, a, b] = m.weight.shape;
      out.set(join(path, 'weight'), { fromTorch: perm([2, 1, 0]), toTorch: perm([2, 1, 0]), torchShape: [b, a, k] });
    }
    if (typeof (m as unknown as FlattenAware).pytorchFlattenInputs === 'function') {
      for (const [fc, [c, h, w]] of Object.entries((m as unknown as FlattenAware).pytorchFlattenInputs())) {
        const name = join(join(path, fc), 'weight');
        const weight = model.stateDict().get(name);
        if (!weight) continue;
        const outF = weight.shape[0];
        out.set(name, {
          // columns (c, h, w) → (h, w, c)
          fromTorch: (t) => tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [outF, c, h, w]), [0, 2, 3, 1]), [outF, h * w * c])),
          toTorch: (t) => tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, [outF, h, w, c]), [0, 3, 1, 2]), [outF, c * h * w])),
          torchShape: [outF, c * h * w],
        });
      }
    }
  }
  return out;
}

/**
 * Loads a PyTorch `state_dict` (names unchanged, tensors in PyTorch's layout, e.g. from
 * `decodeSafetensors` of a file written by `safetensors.torch.save_file(model.state_dict())`) into a
 * @dl/cnn model: conv kernels are transposed to tfjs's layout and Linear layers after a flatten get their
 * columns permuted from (c, h, w) to (h, w, c). Input images must then be given NHWC:
 * `x_nhwc = tf.transpose(x_nchw, [0, 2, 3, 1])`. The dict's tensors are not disposed.
 *
 * @throws DLArgumentError naming the entry when a shape does not match the model (e.g. a different
 * class count), or with `strict` (default) when names are missing or unexpected.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { decodeSafetensors, saveCheckpoint } from '@dl/core';
 * import { resnet18, loadPytorchStateDict, toPytorchStateDict } from '@dl/cnn';
 * // In Python: save_file(torchvision.models.resnet18().state_dict(), 'resnet18.safetensors'); here a
 * // file in the same layout is written from JS so that the example runs on its own.
 * await saveCheckpoint(toPytorchStateDict(resnet18()), 'resnet18.safetensors');
 * const net = resnet18();
 * const { tensors } = decodeSafetensors(readFileSync('resnet18.safetensors'));
 * loadPytorchStateDict(net, tensors);
 * net.eval();
 * ```
 */
export function loadPytorchStateDict(model: Module, dict: StateDict | Record<string, tf.Tensor>, options: { strict?: boolean } = {}): LoadResult {
  checkKeys('loadPytorchStateDict', options, ['strict']);
  const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
  const conv = converters(model);
  const converted: StateDict = new Map();
  const made: tf.Tensor[] = [];
  try {
    for (const [name, t] of entries) {
      const c = conv.get(name);
      if (!c) {
        converted.set(name, t);
        continue;
      }
      if (t.shape.join(',') !== c.torchShape.join(',')) {
        throw new DLArgumentError(`${model.constructor.name}.loadPytorchStateDict`, `'${name}'`, `of PyTorch shape [${c.torchShape.join(',')}]`, t);
      }
      const ours = c.fromTorch(t);
      made.push(ours);
      converted.set(name, ours);
    }
    return model.loadStateDict(converted, options);
  } finally {
    tf.dispose(made);
  }
}

/**
 * The model's state dict in PyTorch's layout and names (conv kernels transposed back, flattened Linear
 * columns in (c, h, w) order), ready for `encodeSafetensors` and `torch`'s `load_state_dict`. The
 * tensors are new: the caller disposes them.
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from '@dl/core';
 * import { LeNet5, toPytorchStateDict } from '@dl/cnn';
 * const dict = toPytorchStateDict(new LeNet5());
 * const bytes = await encodeSafetensors(dict); // torch: model.load_state_dict(load_file(...))
 * ```
 */
export function toPytorchStateDict(model: Module): StateDict {
  const conv = converters(model);
  const out: StateDict = new Map();
  for (const [name, t] of model.stateDict()) out.set(name, conv.get(name)?.toTorch(t) ?? tf.clone(t));
  return out;
}

/**
 * Converts one tensor named like a state-dict entry of `model` (a parameter, or its gradient) from our
 * layout to PyTorch's (`direction: 'toTorch'`) or back. Names without a layout difference are cloned.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LeNet5, convertPytorchLayout } from '@dl/cnn';
 * const net = new LeNet5();
 * const w = convertPytorchLayout(net, 'conv1.weight', net.conv1.weight, 'toTorch'); // [6, 1, 5, 5]
 * ```
 */
export function convertPytorchLayout(model: Module, name: string, t: tf.Tensor, direction: 'toTorch' | 'fromTorch'): tf.Tensor {
  const c = converters(model).get(name);
  if (direction !== 'toTorch' && direction !== 'fromTorch') throw new DLArgumentError('convertPytorchLayout', 'direction', "'toTorch' or 'fromTorch'", direction);
  return c ? c[direction](t) : tf.clone(t);
}
