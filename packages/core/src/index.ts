/**
 * `@dl/core`: the shared foundation of the `@dl` packages on TensorFlow.js. Training works with only
 * `@tensorflow/tfjs-core` and a backend installed: tfjs-core's gradients are registered on first use
 * (`useBackend`, any `Module`, the losses) or by {@link ensureGradients}; importing registers nothing.
 * @module
 */
export { ensureGradients, hasGradient } from './gradients.js';
export { useBackend, backendGeneration, installNodeWebGPU, type WebGPUAvailability, type BackendName, type BackendAttempt, type BackendReport, type UseBackendOptions } from './backend.js';
export { installCpuFallbacks } from './kernel-fallbacks.js';
export { isTensor, isVariable, TfjsCopyError } from './tensor-check.js';
export { DLArgumentError, AsIs, asIs, describe, checkInt, checkNumber, checkShape, checkKeys } from './errors.js';
export { Rng, manualSeed, getRng, randUniform, randNormal } from './random.js';
export {
  calculateGain,
  fans,
  kaimingUniform,
  kaimingNormal,
  xavierUniform,
  xavierNormal,
  normal,
  uniform,
  constant,
  zeros,
  ones,
  type Initializer,
  type Fans,
  type Nonlinearity,
  type KaimingOptions,
} from './init.js';
export { Module, ModuleList, type StateDict, type LoadResult } from './module.js';
export { matMul, linear } from './matmul.js';
export { useWasmKernelThreads, useWasmKernels, wasmKernelsActive, wasmKernelThreads } from './wasm-kernels.js';
export { indexSelect } from './index-select.js';
export { split } from './split.js';
export { im2col, col2im, type PatchOptions } from './patches.js';
export { maxPool2d, type MaxPoolOptions } from './max-pool.js';
export { depthwiseConv2d, type DepthwiseConv2dOptions } from './depthwise-conv.js';
export { dilateKernel } from './dilate-kernel.js';
export { reluBackward } from './relu-backward.js';
export { adamStep, type AdamStepOptions, type AdamStepResult } from './adam-step.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { LayerNorm, type LayerNormOptions } from './layers/layer-norm.js';
export { RMSNorm, type RMSNormOptions } from './layers/rms-norm.js';
export { BatchNormBase, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/batch-norm.js';
export { Dropout, type DropoutOptions } from './layers/dropout.js';
export { gelu, silu, softmax, logSoftmax, ReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax } from './layers/activations.js';
export { Sequential, type UnaryModule } from './layers/sequential.js';
export { RNNBase, RNN, LSTM, GRU, type RNNBaseOptions, type RNNOptions, type RNNForwardOptions, type RNNResult, type LSTMResult } from './layers/rnn.js';
export { RNNCellBase, RNNCell, LSTMCell, GRUCell, type RNNCellBaseOptions, type RNNCellOptions, type LSTMState, type LSTMCellResult, type RecurrentMode } from './layers/rnn-cell.js';
export {
  crossEntropy,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  mseLoss,
  type Reduction,
  type LossOutput,
  type CrossEntropyOptions,
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
  type MSELossOptions,
} from './losses.js';
export {
  encodeSafetensors,
  decodeSafetensors,
  saveCheckpoint,
  loadCheckpoint,
  loadIntoModule,
  CheckpointError,
  type Checkpoint,
  type SafetensorsDtype,
} from './checkpoint.js';
export {
  decodeTorchStateDict,
  encodeTorchStateDict,
  loadTorchCheckpoint,
  saveTorchCheckpoint,
  type DecodeTorchOptions,
  type EncodeTorchOptions,
} from './torch/state-dict.js';
export { encodePng } from './png.js';
