// Bad input: every error names the layer (or function), the argument, the expected and the given shape.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import {
  Conv1d, Conv2d, ConvTranspose2d, FCN, LeNet5, MaxPool2d, ResNet, Upsample, VGGBackbone, YoloV1, convOutputSize, encodeYoloTargets,
  loadPytorchStateDict, nonMaxSuppression, resnet18, yoloLoss, type Detection,
} from '../src/index.js';
import { fixtureBytes } from './helpers.js';

const zeros = (shape: number[]) => tf.zeros(shape);
const det = (): Detection => ({ box: [0, 0, 0.5, 0.5], score: 0.9, classId: 0 });
const resnet = new ResNet({ block: 'basic', layers: [1, 1], widths: [4, 8], stem: 'cifar', numClasses: 3 });

const table: [string, () => unknown, RegExp][] = [
  ['wrong channel count (Conv2d)', () => new Conv2d(3, 8, 3).forward(zeros([1, 8, 8, 4])), /Conv2d 3→8, 3×3\): input must be of shape \[N, H, W, 3\] \(NHWC\) \(3 input channels\), got Tensor float32 \[1,8,8,4\]/],
  ['wrong channel count names the layer in a model', () => resnet.forward(zeros([1, 8, 8, 1])), /ResNet\.conv1 \(Conv2d 3→4, 3×3\): input must be of shape \[N, H, W, 3\].*got Tensor float32 \[1,8,8,1\]/],
  ['NCHW given by mistake', () => new Conv2d(3, 8, 3).forward(zeros([1, 3, 8, 8])), /input must be of shape \[N, H, W, 3\].*got Tensor float32 \[1,3,8,8\]/],
  ['wrong rank', () => new Conv2d(3, 8, 3).forward(zeros([8, 8, 3])), /Conv2d 3→8, 3×3\): input must be of rank 4, \[N, H, W, C\] \(NHWC\) with 3 channels last, got Tensor float32 \[8,8,3\]/],
  ['input smaller than the kernel', () => new Conv2d(1, 2, 5).forward(zeros([1, 3, 3, 1])), /Conv2d 1→2, 5×5\): input must be at least 5×5 after padding .* got Tensor float32 \[1,3,3,1\]/],
  ['input smaller than the dilated kernel (Conv1d)', () => new Conv1d(2, 2, 3, { dilation: 3 }).forward(zeros([1, 6, 2])), /Conv1d 2→2, 3, dilation 3\): input must be at least 7 after padding/],
  ['input smaller than the pooling window', () => new MaxPool2d(3).forward(zeros([1, 2, 2, 1])), /MaxPool2d 3×3, stride 3×3\): input must be at least 3×3 \(the window\)/],
  ['stride of 0', () => new Conv2d(3, 8, 3, { stride: 0 }), /Conv2d: stride must be a positive integer, got 0/],
  ['stride of 0 (pool)', () => new MaxPool2d(2, { stride: 0 }), /MaxPool2d: stride must be a positive integer, got 0/],
  ['negative padding', () => new Conv2d(3, 8, 3, { padding: -1 }), /Conv2d: padding must be 'same', 'valid', a number ≥ 0/],
  ['groups not dividing the channels', () => new Conv2d(3, 8, 3, { groups: 2 }), /Conv2d: groups must be a divisor of inChannels \(3\) and outChannels \(8\), got 2/],
  ['output padding ≥ stride', () => new ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 }), /ConvTranspose2d: outputPadding must be smaller than stride or dilation/],
  ['upsample needs one of size or scaleFactor', () => new Upsample({}), /Upsample: options must be exactly one of size or scaleFactor/],
  ['LeNet input of the wrong size', () => new LeNet5().forward(zeros([2, 32, 32, 1])), /LeNet5: input must be of shape \[N, 28, 28, 1\] \(NHWC\), got Tensor float32 \[2,32,32,1\]/],
  ['FCN input not a multiple of 32', () => new FCN({ numClasses: 2, backbone: new VGGBackbone({ widths: [2, 2, 2, 2, 2], depths: [1, 1, 1, 1, 1] }) }).forward(zeros([1, 40, 40, 3])), /FCN-8s: input must be of shape \[N, H, W, 3\] \(NHWC\) with H and W positive multiples of 32, got Tensor float32 \[1,40,40,3\]/],
  ['YOLO input size not S·2^k', () => new YoloV1({ S: 7, inputSize: 400 }), /YoloV1: inputSize must be S · 2\^6 = 448/],
  ['class count of the targets disagrees with the head', () => yoloLoss(zeros([1, 7, 7, 30]), zeros([1, 7, 7, 8]), { B: 2, C: 20 }), /yoloLoss: targets must be of shape \[1, 7, 7, 5 \+ C = 25\] \(the targets encode 3 classes, the head C = 20\), got Tensor float32 \[1,7,7,8\]/],
  ['head output disagrees with B and C', () => yoloLoss(zeros([1, 7, 7, 13]), zeros([1, 7, 7, 25]), { B: 2, C: 20 }), /yoloLoss: predictions must be of shape \[N, S, S, B·5 \+ C = 30\] \(B = 2, C = 20\), got Tensor float32 \[1,7,7,13\]/],
  ['class id beyond the head', () => encodeYoloTargets([[{ box: [0, 0, 0.5, 0.5], classId: 3 }]], { S: 7, C: 3 }), /encodeYoloTargets: objects\[0\]\[0\]\.classId must be a class index in \[0, 3\) \(the head has C = 3 classes\), got 3/],
  ['malformed box', () => encodeYoloTargets([[{ box: [0.5, 0, 0.2, 0.5], classId: 0 }]], { S: 7, C: 3 }), /objects\[0\]\[0\]\.box must be \[x1, y1, x2, y2\]/],
  ['output-size formula with a too-small input', () => convOutputSize(3, 5), /convOutputSize: n must be at least the kernel's extent 5/],
  ['NMS: NaN score', () => nonMaxSuppression([det(), { ...det(), score: NaN }]), /^nonMaxSuppression: detections\[1\]\.score must be a finite number, got NaN/],
  ['NMS: infinite score', () => nonMaxSuppression([{ ...det(), score: Infinity }]), /^nonMaxSuppression: detections\[0\]\.score must be a finite number, got Infinity/],
  ['NMS: inverted box (x2 < x1)', () => nonMaxSuppression([det(), { ...det(), box: [0.5, 0, 0.2, 0.5] }]), /^nonMaxSuppression: detections\[1\]\.box must be \[x1, y1, x2, y2\] with x1 ≤ x2 and y1 ≤ y2 \(finite corners\), got \[0\.5,0,0\.2,0\.5\]/],
  ['NMS: inverted box (y2 < y1)', () => nonMaxSuppression([{ ...det(), box: [0, 0.6, 0.2, 0.5] }]), /^nonMaxSuppression: detections\[0\]\.box must be \[x1, y1, x2, y2\] with x1 ≤ x2 and y1 ≤ y2/],
  ['NMS: 3-number box', () => nonMaxSuppression([{ ...det(), box: [0, 0, 1] as never }]), /^nonMaxSuppression: detections\[0\]\.box must be \[x1, y1, x2, y2\].*got \[0,0,1\]/],
  ['NMS: NaN corner', () => nonMaxSuppression([{ ...det(), box: [0, NaN, 1, 1] }]), /^nonMaxSuppression: detections\[0\]\.box must be \[x1, y1, x2, y2\].*got \[0,NaN,1,1\]/],
  ['NMS: missing classId', () => nonMaxSuppression([{ box: [0, 0, 1, 1], score: 0.5 } as never]), /^nonMaxSuppression: detections\[0\]\.classId must be an integer ≥ 0, got undefined/],
  ['NMS: not a detection', () => nonMaxSuppression([null as never]), /^nonMaxSuppression: detections\[0\] must be a \{ box, score, classId \} object, got null/],
  ['NMS: negative limit', () => nonMaxSuppression([det()], { maxDetections: -1 }), /^nonMaxSuppression: maxDetections must be an integer ≥ 0 or Infinity, got -1/],
  ['NMS: fractional limit', () => nonMaxSuppression([det()], { maxDetections: 1.5 }), /^nonMaxSuppression: maxDetections must be an integer ≥ 0 or Infinity, got 1\.5/],
  ['NMS: perClass not a boolean', () => nonMaxSuppression([det()], { perClass: 'no' as never }), /^nonMaxSuppression: perClass must be a boolean, got "no"/],
  ['NMS: NaN IoU threshold', () => nonMaxSuppression([det()], { iouThreshold: NaN }), /^nonMaxSuppression: iouThreshold must be a number in \[0, 1\], got NaN/],
];

describe('bad input gives clear errors', () => {
  for (const [name, fn, message] of table) {
    it(name, async () => {
      await assertNoLeaks(() => {
        // tidy frees the inputs even when the call throws; the layers built inline keep their parameters.
        expect(() => tf.tidy(() => void fn())).toThrow(message);
      }, name, 100);
    });
  }

  it('a state dict with a different class count names the entry and both shapes', async () => {
    const { tensors } = decodeSafetensors(fixtureBytes('resnet18_w8.safetensors'));
    const net = resnet18({ widths: [8, 16, 32, 64], numClasses: 5 });
    expect(() => loadPytorchStateDict(net, tensors)).toThrow(/ResNet\.loadStateDict: 'fc\.weight' must be of shape \[5,64\], got Tensor float32 \[10,64\]/);
    net.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  it('NMS still accepts zero-area boxes, a limit of 0 and Infinity, and keeps the best of overlapping boxes', () => assertNoLeaks(() => {
    const point: Detection = { box: [0.3, 0.3, 0.3, 0.3], score: 0.5, classId: 1 };
    const boxes: Detection[] = [det(), { ...det(), box: [0.05, 0, 0.5, 0.5], score: 0.8 }, point];
    expect(nonMaxSuppression(boxes, { maxDetections: 0 })).toEqual([]);
    expect(nonMaxSuppression(boxes, { maxDetections: Infinity })).toEqual([det(), point]);
    expect(nonMaxSuppression(boxes, { maxDetections: 1 })).toEqual([det()]);
  }));
});
