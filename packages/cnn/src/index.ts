/**
 * @dl/cnn: convolutional networks on TensorFlow.js with PyTorch parity: Conv1d/Conv2d (stride, padding,
 * dilation, groups), ConvTranspose2d, pooling, Flatten, Upsample, residual blocks; LeNet-5,
 * Network-in-Network, ResNet-18/34/50 and CIFAR ResNets, FCN-32s/16s/8s and YOLOv1 (loss, decoding,
 * NMS, mAP); the output-size and receptive-field formulas; PyTorch state-dict import. Layout is NHWC.
 * @module
 */
export { Conv2d, Conv1d, conv1x1, conv2dNHWC, checkConvInput, convFans, convKaimingNormal, type Conv2dOptions, type Conv1dOptions, type LayerGeometry } from './conv.js';
export { ConvTranspose2d, bilinearKernel, type ConvTranspose2dOptions } from './conv-transpose.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, adaptiveAvgPool2d, type Pool2dOptions, type AvgPool2dOptions } from './pool.js';
export { Flatten } from './flatten.js';
export { Upsample, interpolate, type UpsampleOptions } from './upsample.js';
export { BasicBlock, Bottleneck, type ResidualBlockOptions } from './residual.js';
export { LeNet5, type LeNet5Options } from './lenet.js';
export { NiN, MlpConv, type NiNOptions, type MlpConvSpec } from './nin.js';
export { ResNet, resnet18, resnet34, resnet50, cifarResNet, type ResNetOptions, type ResNetFactoryOptions } from './resnet.js';
export { FCN, VGGBackbone, ResNetBackbone, type FCNOptions, type FCNBackbone, type VGGBackboneOptions } from './fcn.js';
export { YoloV1, YoloV1Head, yoloActivate, checkLayout, type YoloLayout, type YoloV1Options, type YoloV1HeadOptions } from './yolo/head.js';
export { yoloLoss, yoloLossTerms, encodeYoloTargets, boxIouTensor, type YoloLossOptions, type YoloLossTerms, type GroundTruthBox } from './yolo/loss.js';
export { decodeYolo, type DecodeYoloOptions } from './yolo/decode.js';
export { nonMaxSuppression, boxIou, type Detection, type NmsOptions } from './yolo/nms.js';
export { convOutputSize, receptiveField, type OutputSizeOptions, type RFLayer, type RFStep } from './sizes.js';
export { confusionMatrix, meanIoU, meanAveragePrecision, type IoUResult, type MapResult } from './metrics.js';
export { loadPytorchStateDict, toPytorchStateDict, convertPytorchLayout } from './pytorch.js';
export { makeShapes, SHAPE_NAMES, type ShapesOptions, type ShapesSet } from './shapes.js';
export { labelLayers, type Labelled, type Pair, type Padding2d } from './util.js';
