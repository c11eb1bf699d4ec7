// The output-size and receptive-field formulas, box utilities, metrics, the PNG encoder and the generated data sets.
import * as tf from '@tensorflow/tfjs-core';
import { encodePng } from '@dl/core';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import {
  Conv2d, Flatten, LeNet5, MaxPool2d, boxIou, confusionMatrix, convOutputSize, decodeYolo, encodeYoloTargets, makeShapes,
  meanAveragePrecision, meanIoU, nonMaxSuppression, receptiveField, type Detection,
} from '../src/index.js';

describe('output size and receptive field', () => {
  it('(n − f + 2p)/s + 1, with dilation and ceil', () => {
    expect(convOutputSize(32, 5)).toBe(28);
    expect(convOutputSize(28, 5, { padding: 2 })).toBe(28);
    expect(convOutputSize(224, 7, { stride: 2, padding: 3 })).toBe(112);
    expect(convOutputSize(112, 3, { stride: 2, padding: 1 })).toBe(56);
    expect(convOutputSize(9, 3, { dilation: 2 })).toBe(5);
    expect(convOutputSize(7, 2, { stride: 2, ceil: true })).toBe(4);
  });

  it('matches the shapes the layers produce', async () => {
    await assertNoLeaks(() => {
      const conv = new Conv2d(1, 1, 3, { stride: 2, padding: 1, dilation: 2 });
      const y = tf.tidy(() => conv.forward(tf.zeros([1, 11, 10, 1])));
      expect(y.shape).toEqual([1, convOutputSize(11, 3, { stride: 2, padding: 1, dilation: 2 }), convOutputSize(10, 3, { stride: 2, padding: 1, dilation: 2 }), 1]);
      tf.dispose(y);
      conv.dispose();
    });
  });

  it('receptive field of LeNet and of a dilated stack', () => {
    const lenet = new LeNet5();
    const layers = [lenet.conv1, lenet.pool1, lenet.conv2, lenet.pool2].map((m, i) => ({ kernel: m.geometry().kernel[0], stride: m.geometry().stride[0], name: String(i) }));
    const steps = receptiveField(layers);
    expect(steps.map((s) => s.size)).toEqual([5, 6, 14, 16]);
    expect(steps.map((s) => s.jump)).toEqual([1, 2, 2, 4]);
    expect(steps[3]).toEqual({ name: '3', size: 16, jump: 4, start: 8 });
    lenet.dispose();
    // Three 3×3 convs with dilation 1, 2, 4 see 15 pixels (WaveNet / DeepLab style growth).
    expect(receptiveField([{ kernel: 3 }, { kernel: 3, dilation: 2 }, { kernel: 3, dilation: 4 }]).map((s) => s.size)).toEqual([3, 7, 15]);
  });

  it('Flatten keeps the batch axis', async () => {
    await assertNoLeaks(() => {
      const y = tf.tidy(() => new Flatten().forward(tf.zeros([2, 5, 5, 16])));
      expect(y.shape).toEqual([2, 400]);
      y.dispose();
    });
  });

  it('MaxPool2d with ceil mode keeps the last partial window', async () => {
    await assertNoLeaks(async () => {
      const y = tf.tidy(() => new MaxPool2d(2, { ceilMode: true }).forward(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1])));
      expect(Array.from(await y.data())).toEqual([5, 6, 8, 9]);
      y.dispose();
    });
  });
});

describe('boxes, NMS and metrics', () => {
  it('IoU and greedy per-class NMS', () => {
    expect(boxIou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 10);
    expect(boxIou([0, 0, 1, 1], [2, 2, 3, 3])).toBe(0);
    const dets: Detection[] = [
      { box: [0, 0, 1, 1], score: 0.9, classId: 0 },
      { box: [0.05, 0, 1, 1], score: 0.8, classId: 0 },
      { box: [0.05, 0, 1, 1], score: 0.7, classId: 1 },
      { box: [2, 2, 3, 3], score: 0.6, classId: 0 },
    ];
    expect(nonMaxSuppression(dets).map((d) => d.score)).toEqual([0.9, 0.7, 0.6]);
    expect(nonMaxSuppression(dets, { perClass: false }).map((d) => d.score)).toEqual([0.9, 0.6]);
  });

  it('mAP@0.5: perfect, a false positive ranked first, a miss', () => {
    const truth = [[{ box: [0, 0, 0.5, 0.5] as [number, number, number, number], classId: 0 }], [{ box: [0.5, 0.5, 1, 1] as [number, number, number, number], classId: 0 }]];
    const good: Detection[][] = [[{ box: [0, 0, 0.5, 0.5], score: 0.9, classId: 0 }], [{ box: [0.5, 0.5, 1, 1], score: 0.8, classId: 0 }]];
    expect(meanAveragePrecision(good, truth, { numClasses: 2 }).mAP).toBe(1);
    const fpFirst: Detection[][] = [[{ box: [0.6, 0, 1, 0.4], score: 0.95, classId: 0 }, ...good[0]], good[1]];
    // Precision 0, 1/2, 2/3 at recalls 0, 1/2, 1: envelope 2/3 everywhere → AP 2/3.
    expect(meanAveragePrecision(fpFirst, truth, { numClasses: 1 }).mAP).toBeCloseTo(2 / 3, 10);
    expect(meanAveragePrecision([good[0], []], truth, { numClasses: 1 }).mAP).toBeCloseTo(0.5, 10);
  });

  it('confusion matrix and mean IoU', () => {
    expect(confusionMatrix([0, 1, 1], [0, 1, 0], 2)).toEqual([[1, 1], [0, 1]]);
    const r = meanIoU([0, 0, 1, 1], [0, 1, 1, 1], 2);
    expect(r.perClass[0]).toBeCloseTo(0.5, 10);
    expect(r.perClass[1]).toBeCloseTo(2 / 3, 10);
    expect(r.meanIoU).toBeCloseTo(7 / 12, 10);
    expect(r.pixelAccuracy).toBe(0.75);
  });

  it('decodeYolo inverts encodeYoloTargets', async () => {
    await assertNoLeaks(async () => {
      const objects = [[{ box: [0.1, 0.2, 0.5, 0.7] as [number, number, number, number], classId: 2 }]];
      const t = encodeYoloTargets(objects, { S: 4, C: 3 }); // [1, 4, 4, 8]
      // Raw logits that activate to the target: x, y, √w, √h through the inverse sigmoid, confidence high.
      const raw = tf.tidy(() => {
        const logit = (v: tf.Tensor) => tf.log(tf.div(tf.clipByValue(v, 1e-6, 1 - 1e-6), tf.sub(1, tf.clipByValue(v, 1e-6, 1 - 1e-6))));
        const box = logit(tf.slice(t, [0, 0, 0, 0], [1, 4, 4, 4]));
        const conf = tf.sub(tf.mul(tf.slice(t, [0, 0, 0, 4], [1, 4, 4, 1]), 20), 10);
        const cls = tf.mul(tf.slice(t, [0, 0, 0, 5], [1, 4, 4, 3]), 20);
        return tf.concat([box, conf, tf.fill([1, 4, 4, 5], -10), cls], 3); // B = 2: the second box has low confidence
      });
      const [dets] = await decodeYolo(raw, { B: 2, C: 3, scoreThreshold: 0.5 });
      expect(dets).toHaveLength(1);
      expect(dets[0].classId).toBe(2);
      dets[0].box.forEach((v, i) => expect(v).toBeCloseTo(objects[0][0].box[i], 4));
      tf.dispose([t, raw]);
    });
  });
});

describe('PNG encoder and shape data sets', () => {
  it('writes a PNG zlib can read back', () => {
    const px = new Uint8Array(70 * 300 * 3).map((_, i) => (i * 7) % 251); // > 65535 bytes: several stored blocks
    const png = encodePng(px, 300, 70, 3);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset);
    expect([view.getUint32(16), view.getUint32(20), png[24], png[25]]).toEqual([300, 70, 8, 2]);
    const idatLen = view.getUint32(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLen)); // throws on a bad Adler-32
    expect(raw.length).toBe(70 * (300 * 3 + 1));
    expect(Array.from(raw.subarray(1, 301 * 3 - 2))).toEqual(Array.from(px.subarray(0, 300 * 3)));
  });

  it('generates the same shapes for the same seed, with masks matching boxes', () => {
    const a = makeShapes(3, { size: 32, seed: 7 });
    const b = makeShapes(3, { size: 32, seed: 7 });
    expect(a.images).toEqual(b.images);
    expect(a.objects).toEqual(b.objects);
    for (let i = 0; i < 3; i++) {
      expect(a.objects[i].length).toBeGreaterThan(0);
      for (const o of a.objects[i]) {
        // The object's class appears inside its box.
        const [x1, y1, x2, y2] = o.box.map((v) => Math.round(v * 32));
        let hits = 0;
        for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) hits += a.masks[(i * 32 + y) * 32 + x] === o.classId + 1 ? 1 : 0;
        expect(hits).toBeGreaterThan(0);
      }
    }
  });
});
