import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, type StateDict } from '@dl/core';
import type { GPT } from './gpt.js';

// HF's GPT-2 keeps these as Conv1D weights `[in, out]`; nanoGPT (and this package) as nn.Linear `[out, in]`.
const CONV1D = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/**
 * The model's weights under HF GPT-2's names and layout: Conv1D weights (`c_attn`, `c_proj`, `c_fc`)
 * transposed to `[in, out]`, and `lm_head.weight` present even when tied (as `GPT2LMHeadModel.state_dict()`
 * lists it). PyTorch loads the result into a GPT-2 (or, with `layout: 'linear'`, into nanoGPT, whose
 * weights are `nn.Linear`'s `[out, in]`) in either of two formats from `@dl/core`: safetensors
 * (`encodeSafetensors`, or `saveCheckpoint` to a file) or `torch.save`'s own zip format
 * (`encodeTorchStateDict`, or `saveTorchCheckpoint` to a file), which `torch.load(path,
 * weights_only=True)` reads and `model.load_state_dict` accepts, so training can move to PyTorch and back.
 *
 * @returns new tensors (the caller disposes them).
 *
 * @example
 * ```ts
 * import { GPT, toGPT2StateDict } from '@dl/transformer';
 * import { encodeSafetensors, encodeTorchStateDict } from '@dl/core';
 * const gpt = new GPT({ vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 4, nEmbd: 32 });
 * const dict = toGPT2StateDict(gpt);
 * const safetensors = await encodeSafetensors(dict); // loadable by HF's GPT2LMHeadModel.from_pretrained
 * const pt = await encodeTorchStateDict(dict); // the bytes of torch.save(state_dict): torch.load reads them
 * for (const t of dict.values()) t.dispose();
 * ```
 */
export function toGPT2StateDict(model: GPT, options: { layout?: 'conv1d' | 'linear' } = {}): StateDict {
  const layout = options.layout ?? 'conv1d';
  if (layout !== 'conv1d' && layout !== 'linear') throw new DLArgumentError('toGPT2StateDict', 'layout', "'conv1d' or 'linear'", layout);
  const out: StateDict = new Map();
  for (const [name, t] of model.stateDict()) out.set(name, layout === 'conv1d' && CONV1D.test(name) ? tf.transpose(t) : tf.clone(t));
  if (!out.has('lm_head.weight')) out.set('lm_head.weight', tf.clone(model.wte.weight));
  return out;
}

/**
 * Loads HF GPT-2 (`layout: 'conv1d'`, the default) or nanoGPT (`'linear'`) weights into `model`: the
 * inverse of {@link toGPT2StateDict}. A tied model takes `lm_head.weight` from `transformer.wte.weight`
 * and checks that a given `lm_head.weight` has the same shape. Every name and shape is checked before
 * anything is copied, so a failed load leaves the model unchanged. `attn.bias` / `attn.masked_bias`
 * buffers of HF checkpoints (the causal mask) are ignored.
 *
 * The dict can come from a safetensors file (`decodeSafetensors(bytes).tensors` or `loadCheckpoint`) or
 * from a file PyTorch wrote with `torch.save(model.state_dict())`: `@dl/core`'s
 * `decodeTorchStateDict(bytes)` (or `loadTorchCheckpoint(path)`) reads it without running pickled code.
 *
 * @example
 * ```ts
 * import { GPT, toGPT2StateDict, fromGPT2StateDict } from '@dl/transformer';
 * import { decodeTorchStateDict, encodeTorchStateDict } from '@dl/core';
 * const a = new GPT({ vocabSize: 50, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, seed: 1 });
 * const b = new GPT({ vocabSize: 50, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, seed: 2 });
 * const dict = toGPT2StateDict(a);
 * fromGPT2StateDict(b, dict); // b now computes what a computes
 * // The same through torch.save's format (e.g. readFileSync('gpt2.pt') of a file PyTorch saved):
 * const pt = decodeTorchStateDict(await encodeTorchStateDict(dict));
 * fromGPT2StateDict(b, pt);
 * for (const t of [...dict.values(), ...pt.values()]) t.dispose();
 * ```
 */
export function fromGPT2StateDict(model: GPT, dict: StateDict | Record<string, tf.Tensor>, options: { layout?: 'conv1d' | 'linear' } = {}): void {
  const layout = options.layout ?? 'conv1d';
  if (layout !== 'conv1d' && layout !== 'linear') throw new DLArgumentError('fromGPT2StateDict', 'layout', "'conv1d' or 'linear'", layout);
  const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
  const own = model.stateDict();
  const converted: StateDict = new Map();
  try {
    for (const [name, t] of entries) {
      if (/\.attn\.(bias|masked_bias)$/.test(name)) continue;
      if (name === 'lm_head.weight' && !own.has(name)) {
        if (t.shape.join(',') !== model.wte.weight.shape.join(',')) throw new DLArgumentError('fromGPT2StateDict', "'lm_head.weight'", `of shape [${model.wte.weight.shape.join(',')}]`, t);
        continue;
      }
      converted.set(name, layout === 'conv1d' && CONV1D.test(name) && t.rank === 2 ? tf.transpose(t) : t);
    }
    model.loadStateDict(converted);
  } finally {
    for (const [name, t] of converted) if (t !== entries.get(name)) t.dispose();
  }
}
