// Output shapes of every convolution against PyTorch's rule ⌊(n + p₀ + p₁ − d·(k − 1) − 1) / s⌋ + 1, per axis.
// A numeric padding handed to tfjs makes it size both axes from the kernel's height and stride; these
// configurations (non-square kernels, unequal strides and dilations, Conv1d's default padding) caught that.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { Conv1d, Conv2d, convOutputSize, type Conv1dOptions, type Conv2dOptions } from '../src/index.js';

const out = (n: number, k: number, s = 1, d = 1, p: [number, number] = [0, 0]) => convOutputSize(n, k, { stride: s, dilation: d, padding: p });

describe('convolution output shapes follow PyTorch', () => {
  const conv1d: [string, number, Conv1dOptions, number, number][] = [
    // name, kernel, options, input length, expected output length
    ['default padding, kernel 3 (length 10 → 8)', 3, {}, 10, 8],
    ['default padding, kernel 5, stride 2', 5, { stride: 2 }, 11, out(11, 5, 2)],
    ['padding 1, dilation 2', 3, { padding: 1, dilation: 2 }, 9, out(9, 3, 1, 2, [1, 1])],
    ['asymmetric [2, 0], stride 3', 4, { padding: [2, 0], stride: 3 }, 10, out(10, 4, 3, 1, [2, 0])],
    ['groups 2, kernel 2', 2, { groups: 2 }, 7, 6],
    ['depthwise, kernel 3, padding 2', 3, { groups: 4, padding: 2 }, 5, out(5, 3, 1, 1, [2, 2])],
  ];
  for (const [name, k, options, length, expected] of conv1d) {
    it(`Conv1d ${name}`, async () => {
      await assertNoLeaks(() => {
        const conv = new Conv1d(4, 4, k, options);
        const y = tf.tidy(() => conv.forward(tf.ones([2, length, 4])));
        expect(y.shape).toEqual([2, expected, 4]);
        tf.dispose(y);
        conv.dispose();
      }, name);
    });
  }

  const conv2d: [string, number | [number, number], Conv2dOptions, [number, number], [number, number]][] = [
    // name, kernel, options, input [H, W], expected [H', W']
    ['non-square kernel, padding 1', [3, 1], { padding: 1 }, [7, 7], [7, 9]],
    ['non-square kernel [1, 5], padding 2', [1, 5], { padding: 2 }, [6, 8], [out(6, 1, 1, 1, [2, 2]), out(8, 5, 1, 1, [2, 2])]],
    ['unequal strides, padding 1', 3, { padding: 1, stride: [1, 2] }, [7, 7], [7, 4]],
    ['unequal strides [3, 1], padding 2', 3, { padding: 2, stride: [3, 1] }, [8, 6], [out(8, 3, 3, 1, [2, 2]), out(6, 3, 1, 1, [2, 2])]],
    ['unequal dilations, padding 1', 3, { padding: 1, dilation: [1, 2] }, [7, 7], [7, 5]],
    ['no padding, non-square kernel', [2, 4], {}, [5, 9], [4, 6]],
    ['[ph, pw] equal, kernel [5, 3], strides [2, 1]', [5, 3], { padding: [1, 1], stride: [2, 1] }, [9, 6], [out(9, 5, 2, 1, [1, 1]), out(6, 3, 1, 1, [1, 1])]],
    ['groups, non-square kernel, padding 1', [1, 3], { padding: 1, groups: 2 }, [4, 5], [6, 5]],
    ['depthwise, unequal strides, padding 1', 3, { padding: 1, groups: 4, stride: [2, 1] }, [6, 6], [3, 6]],
  ];
  for (const [name, k, options, [h, w], expected] of conv2d) {
    it(`Conv2d ${name}`, async () => {
      await assertNoLeaks(() => {
        const conv = new Conv2d(4, 4, k, options);
        const y = tf.tidy(() => conv.forward(tf.ones([1, h, w, 4])));
        expect(y.shape).toEqual([1, ...expected, 4]);
        tf.dispose(y);
        conv.dispose();
      }, name);
    });
  }
});
