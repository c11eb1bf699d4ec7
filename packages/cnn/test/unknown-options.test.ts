// Unknown option keys are rejected everywhere, naming the key and the valid ones (a misspelt option such as
// tfjs-layers' `strides` used to run silently with the default).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import {
  AvgPool2d, BasicBlock, Bottleneck, Conv1d, Conv2d, ConvTranspose2d, FCN, LeNet5, MaxPool2d, MlpConv, NiN, ResNet, Upsample, VGGBackbone,
  YoloV1, YoloV1Head, cifarResNet, conv1x1, convOutputSize, decodeYolo, loadPytorchStateDict, makeShapes, meanAveragePrecision,
  nonMaxSuppression, receptiveField, resnet18, resnet34, resnet50, yoloLoss, yoloLossTerms,
} from '../src/index.js';

const zeros = (shape: number[]) => tf.zeros(shape);
const known = (names: string) => new RegExp(`one of the known options \\(${names}\\), got "`);

// [call, where and key in the message, the valid keys it lists]
const table: [string, () => unknown, RegExp, RegExp][] = [
  ['Conv2d strides', () => new Conv2d(3, 8, 3, { strides: 2 } as never), /^Conv2d: options\.strides must be/, known('stride, padding, dilation, groups, bias, activation, weightInit, biasInit, rng')],
  ['Conv2d kernel_size', () => new Conv2d(3, 8, 3, { kernel_size: 5 } as never), /^Conv2d: options\.kernel_size must be/, /known options \(stride, /],
  ['Conv1d useBias', () => new Conv1d(3, 8, 3, { useBias: false } as never), /^Conv1d: options\.useBias must be/, known('stride, padding, dilation, groups, bias, activation, weightInit, biasInit, rng')],
  ['conv1x1 padding', () => conv1x1(3, 8, { padding: 1 } as never), /^conv1x1: options\.padding must be/, known('stride, groups, bias, activation, weightInit, biasInit, rng')],
  ['ConvTranspose2d output_padding', () => new ConvTranspose2d(3, 8, 3, { output_padding: 1 } as never), /^ConvTranspose2d: options\.output_padding must be/, known('stride, padding, outputPadding, dilation, groups, bias, weightInit, biasInit, rng')],
  ['MaxPool2d ceil_mode', () => new MaxPool2d(2, { ceil_mode: true } as never), /^MaxPool2d: options\.ceil_mode must be/, known('stride, padding, ceilMode')],
  ['MaxPool2d dilation (not supported)', () => new MaxPool2d(2, { dilation: 2 } as never), /^MaxPool2d: options\.dilation must be/, known('stride, padding, ceilMode')],
  ['AvgPool2d count_include_pad', () => new AvgPool2d(2, { count_include_pad: false } as never), /^AvgPool2d: options\.count_include_pad must be/, known('stride, padding, ceilMode, countIncludePad')],
  ['Upsample scale_factor', () => new Upsample({ size: 4, scale_factor: 2 } as never), /^Upsample: options\.scale_factor must be/, known('size, scaleFactor, mode, alignCorners')],
  ['BasicBlock strides', () => new BasicBlock(4, 4, { strides: 2 } as never), /^BasicBlock: options\.strides must be/, known('stride, downsample, groups, baseWidth, zeroInitResidual')],
  ['Bottleneck width', () => new Bottleneck(4, 2, { width: 8 } as never), /^Bottleneck: options\.width must be/, known('stride, downsample, groups, baseWidth, zeroInitResidual')],
  ['LeNet5 classes', () => new LeNet5({ classes: 3 } as never), /^LeNet5: options\.classes must be/, known('inputSize, inChannels, numClasses, activation, pool, rng')],
  ['NiN num_classes', () => new NiN({ num_classes: 3 } as never), /^NiN: options\.num_classes must be/, known('inChannels, numClasses, blocks, dropout, rng')],
  ['NiN block spec', () => new NiN({ numClasses: 2, blocks: [{ channels: [4, 2], kernel: 3, strides: 2 }] } as never), /^NiN: blocks\[0\]\.strides must be/, known('channels, kernel, stride, padding, pool')],
  ['MlpConv spec', () => new MlpConv(3, { channels: [4], kernel: 3, kernel_size: 3 } as never), /^MlpConv: spec\.kernel_size must be/, known('channels, kernel, stride, padding, pool')],
  ['ResNet num_classes', () => new ResNet({ block: 'basic', layers: [1], widths: [4], num_classes: 3 } as never), /^ResNet: options\.num_classes must be/, known('block, layers, widths, stem, numClasses, inChannels, zeroInitResidual, rng')],
  ['resnet18 block (fixed by the factory)', () => resnet18({ block: 'bottleneck' } as never), /^resnet18: options\.block must be/, known('widths, numClasses, inChannels, zeroInitResidual, rng')],
  ['resnet34', () => resnet34({ pretrained: true } as never), /^resnet34: options\.pretrained must be/, /known options/],
  ['resnet50', () => resnet50({ pretrained: true } as never), /^resnet50: options\.pretrained must be/, /known options/],
  ['cifarResNet', () => cifarResNet(20, { layers: [1, 1, 1] } as never), /^cifarResNet: options\.layers must be/, /known options/],
  ['VGGBackbone batch_norm', () => new VGGBackbone({ batch_norm: false } as never), /^VGGBackbone: options\.batch_norm must be/, known('inChannels, widths, depths, batchNorm, rng')],
  ['FCN num_classes', () => new FCN({ numClasses: 2, num_classes: 2 } as never), /^FCN: options\.num_classes must be/, known('numClasses, variant, backbone, headChannels, rng')],
  ['YoloV1Head grid', () => new YoloV1Head([2, 2, 4], { grid: 7 } as never), /^YoloV1Head: options\.grid must be/, known('S, B, C, hidden, dropout, rng')],
  ['YoloV1 input_size', () => new YoloV1({ input_size: 448 } as never), /^YoloV1: options\.input_size must be/, known('S, B, C, hidden, dropout, rng, inputSize, inChannels, widths')],
  ['yoloLoss lambda_coord', () => yoloLoss(zeros([1, 2, 2, 13]), zeros([1, 2, 2, 8]), { B: 2, C: 3, lambda_coord: 1 } as never), /^yoloLoss: options\.lambda_coord must be/, known('B, C, lambdaCoord, lambdaNoobj, confTarget')],
  ['yoloLossTerms', () => yoloLossTerms(zeros([1, 2, 2, 13]), zeros([1, 2, 2, 8]), { B: 2, C: 3, S: 2 } as never), /^yoloLoss: options\.S must be/, /known options/],
  ['nonMaxSuppression iou_threshold', () => nonMaxSuppression([], { iou_threshold: 0.3 } as never), /^nonMaxSuppression: options\.iou_threshold must be/, known('iouThreshold, perClass, maxDetections')],
  ['convOutputSize strides', () => convOutputSize(8, 3, { strides: 2 } as never), /^convOutputSize: options\.strides must be/, known('padding, stride, dilation, ceil')],
  ['receptiveField layer', () => receptiveField([{ kernel: 3, strides: 2 }] as never), /^receptiveField: layers\[0\]\.strides must be/, known('kernel, stride, dilation, padding, name')],
  ['makeShapes count', () => makeShapes(2, { count: 3 } as never), /^makeShapes: options\.count must be/, known('size, seed, noise, maxObjects')],
  ['meanAveragePrecision iou', () => meanAveragePrecision([], [], { numClasses: 2, iou: 0.5 } as never), /^meanAveragePrecision: options\.iou must be/, known('numClasses, iouThreshold')],
  ['loadPytorchStateDict strictness', () => loadPytorchStateDict(new MaxPool2d(2), new Map(), { strictness: false } as never), /^loadPytorchStateDict: options\.strictness must be/, known('strict')],
];

describe('unknown option keys are rejected, naming the valid ones', () => {
  for (const [name, fn, where, valid] of table) {
    it(name, async () => {
      await assertNoLeaks(() => {
        let message = '';
        try {
          tf.tidy(() => void fn());
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).toMatch(where);
        expect(message).toMatch(valid);
      }, name);
    });
  }

  it('decodeYolo (async) rejects an unknown key before reading anything', async () => {
    await assertNoLeaks(async () => {
      const p = zeros([1, 2, 2, 13]);
      await expect(decodeYolo(p, { B: 2, C: 3, score_threshold: 0.5 } as never)).rejects.toThrow(/^decodeYolo: options\.score_threshold must be one of the known options \(B, C, scoreThreshold, iouThreshold, maxDetections\)/);
      p.dispose();
    });
  });

  it('options must be an object', async () => {
    await assertNoLeaks(() => {
      expect(() => new Conv2d(3, 8, 3, 2 as never)).toThrow(/^Conv2d: options must be an object, got 2/);
      expect(() => new MaxPool2d(2, [2] as never)).toThrow(/^MaxPool2d: options must be an object/);
    });
  });

  it('the models still build from their own option objects (YoloV1 hands the head only its options)', async () => {
    await assertNoLeaks(() => {
      const yolo = new YoloV1({ S: 2, B: 1, C: 2, inputSize: 4, inChannels: 1, widths: [2, 2], hidden: 4, dropout: 0 });
      expect(yolo.head.layout).toEqual({ S: 2, B: 1, C: 2 });
      yolo.dispose();
    });
  });
});
