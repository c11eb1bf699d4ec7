#!/usr/bin/python3
"""Writes PyTorch reference values for @dl/cnn's parity tests into packages/cnn/fixtures/.

Run with Debian's torch:  /usr/bin/python3 packages/cnn/scripts/generate_fixtures.py
Tests read the files and never need Python.

layers.json: every layer case stores its inputs, parameters, output, the fixed random `upstream` tensor
and the gradients of L = sum(output * upstream), all converted here to @dl's layout (NHWC images,
[N, L, C] sequences, conv kernels [kh, kw, in/groups, out], transposed-conv kernels [kh, kw, out/groups, in]).
models.json: ResNet blocks and LeNet in *PyTorch's* layout and names (the tests load them through
loadPytorchStateDict, which is what is being checked) with inputs in NHWC; parameter counts of the full
networks; a YOLOv1 loss case written with plain per-cell loops.
resnet18_w8.safetensors: an eval-mode ResNet-18 of base width 8 (hand-built here, torchvision's layout
and names; torchvision is not installed) with non-trivial batch-norm statistics; its input and logits are
in models.json.
sweep.json: a randomised sweep (fixed seed SWEEP_SEED) of a few hundred small Conv1d, Conv2d,
ConvTranspose2d, MaxPool2d and AvgPool2d configurations (odd sizes, non-square kernels, unequal strides and
dilations, symmetric, asymmetric, 'same' and 'valid' padding, groups, depthwise, bias on and off, ceil mode,
count_include_pad), forward and backward, as in layers.json. Each case stores our constructor's options;
inputs, weights and upstream gradients are multiples of 1/128, so they are exact in float32 and JSON.

Pass file names to write only some files (e.g. `generate_fixtures.py sweep`); torch's last-digit rounding
differs between machines, so regenerating a file that did not change its inputs is not byte-identical.
"""
import json
import math
import os
import random
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')


def t(x):
    x = x.detach().contiguous()
    return {'shape': list(x.shape), 'dtype': 'int32' if x.dtype in (torch.int64, torch.int32) else 'float32',
            'data': [round(float(v), 7) if x.is_floating_point() else int(v) for v in x.reshape(-1).tolist()]}


def nhwc(x):
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x.permute(0, 2, 1) if x.dim() == 3 else x


def ours(name, p, module):
    """A parameter (or its gradient) in our layout."""
    if name.endswith('weight') and isinstance(module, nn.ConvTranspose2d):
        return p.permute(2, 3, 1, 0)
    if name.endswith('weight') and isinstance(module, nn.Conv2d):
        return p.permute(2, 3, 1, 0)
    if name.endswith('weight') and isinstance(module, nn.Conv1d):
        return p.permute(2, 1, 0)
    return p


def layer_case(name, config, module, x, call=None):
    x = x.clone().requires_grad_(True)
    out = call(module, x) if call else module(x)
    up = torch.randn_like(out)
    (out * up).sum().backward()
    return {
        'name': name, 'config': config,
        'input': t(nhwc(x)), 'output': t(nhwc(out)), 'upstream': t(nhwc(up)), 'inputGrad': t(nhwc(x.grad)),
        'state': {k: t(ours(k, v, module)) for k, v in module.state_dict().items()},
        'paramGrads': {k: t(ours(k, p.grad, module)) for k, p in module.named_parameters()},
    }


def layers():
    cases = []
    r = torch.randn
    # Conv2d: odd sizes, stride > 1, dilation, stride and dilation together, groups, depthwise, 'same' with even kernels.
    conv_specs = [
        ('conv_basic', dict(in_channels=3, out_channels=4, kernel_size=3, padding=1), (2, 3, 7, 6)),
        ('conv_stride2_valid', dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=2), (2, 2, 9, 7)),
        ('conv_dilation', dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2, padding=2), (1, 2, 8, 9)),
        ('conv_stride_dilation', dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, dilation=2, padding=1), (2, 3, 9, 9)),
        ('conv_groups', dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=(1, 0), stride=(1, 2)), (2, 4, 5, 7)),
        ('conv_depthwise', dict(in_channels=3, out_channels=6, kernel_size=3, groups=3, stride=2, padding=1), (2, 3, 7, 7)),
        ('conv_same_even', dict(in_channels=2, out_channels=3, kernel_size=4, padding='same'), (1, 2, 6, 7)),
        ('conv_same_dilation', dict(in_channels=2, out_channels=2, kernel_size=3, dilation=2, padding='same', bias=False), (2, 2, 5, 6)),
        ('conv_1x1_nobias', dict(in_channels=5, out_channels=3, kernel_size=1, bias=False), (2, 5, 3, 4)),
    ]
    for name, kw, shape in conv_specs:
        cases.append(layer_case(name, {'kind': 'Conv2d', **kw}, nn.Conv2d(**kw), r(*shape)))
    # Explicit asymmetric padding [[top, bottom], [left, right]] = [[1, 2], [0, 1]].
    m = nn.Conv2d(2, 3, 3)
    cases.append(layer_case('conv_explicit_asym', {'kind': 'Conv2d', 'in_channels': 2, 'out_channels': 3, 'kernel_size': 3, 'padding': [[1, 2], [0, 1]]},
                            m, r(2, 2, 5, 6), call=lambda mod, x: mod(F.pad(x, (0, 1, 1, 2)))))
    # Conv1d.
    for name, kw, shape in [
        ('conv1d_basic', dict(in_channels=3, out_channels=4, kernel_size=3, padding=1), (2, 3, 9)),
        ('conv1d_stride_dil_groups', dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, dilation=2, padding=2, groups=2), (2, 4, 11)),
        ('conv1d_same', dict(in_channels=2, out_channels=3, kernel_size=4, padding='same'), (1, 2, 7)),
    ]:
        cases.append(layer_case(name, {'kind': 'Conv1d', **kw}, nn.Conv1d(**kw), r(*shape)))
    # ConvTranspose2d.
    for name, kw, shape in [
        ('convT_s2_p1_op1', dict(in_channels=3, out_channels=2, kernel_size=3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
        ('convT_k4_s2_p1', dict(in_channels=2, out_channels=3, kernel_size=4, stride=2, padding=1, bias=False), (1, 2, 3, 3)),
        ('convT_groups_dil', dict(in_channels=4, out_channels=2, kernel_size=3, stride=3, dilation=2, groups=2, output_padding=2), (2, 4, 3, 2)),
        ('convT_rect', dict(in_channels=2, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)), (1, 2, 4, 3)),
    ]:
        cases.append(layer_case(name, {'kind': 'ConvTranspose2d', **kw}, nn.ConvTranspose2d(**kw), r(*shape)))
    # Pooling.
    for name, cfg, mod, shape in [
        ('maxpool_k3s2p1', {'kind': 'MaxPool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1}, nn.MaxPool2d(3, 2, 1), (2, 3, 7, 8)),
        ('maxpool_ceil', {'kind': 'MaxPool2d', 'kernel_size': 2, 'ceil_mode': True}, nn.MaxPool2d(2, ceil_mode=True), (1, 2, 7, 7)),
        ('maxpool_rect', {'kind': 'MaxPool2d', 'kernel_size': [3, 2], 'stride': [2, 1]}, nn.MaxPool2d((3, 2), (2, 1)), (2, 2, 7, 5)),
        ('avgpool_pad_include', {'kind': 'AvgPool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1}, nn.AvgPool2d(3, 2, 1), (2, 3, 7, 6)),
        ('avgpool_pad_exclude', {'kind': 'AvgPool2d', 'kernel_size': 3, 'stride': 2, 'padding': 1, 'count_include_pad': False},
         nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 7, 6)),
        ('avgpool_k2', {'kind': 'AvgPool2d', 'kernel_size': 2}, nn.AvgPool2d(2), (1, 2, 6, 5)),
        ('adaptive_7x5_to_3x2', {'kind': 'AdaptiveAvgPool2d', 'output_size': [3, 2]}, nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
        ('adaptive_6_to_2x3', {'kind': 'AdaptiveAvgPool2d', 'output_size': [2, 3]}, nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 6, 6)),
        ('adaptive_global', {'kind': 'AdaptiveAvgPool2d', 'output_size': 1}, nn.AdaptiveAvgPool2d(1), (2, 3, 5, 4)),
        # Up-sampling.
        ('upsample_nearest_x2', {'kind': 'Upsample', 'scale_factor': 2, 'mode': 'nearest'}, nn.Upsample(scale_factor=2, mode='nearest'), (1, 2, 3, 4)),
        ('upsample_nearest_size', {'kind': 'Upsample', 'size': [7, 5], 'mode': 'nearest'}, nn.Upsample(size=(7, 5), mode='nearest'), (2, 2, 3, 4)),
        ('upsample_bilinear_x2', {'kind': 'Upsample', 'scale_factor': 2, 'mode': 'bilinear'}, nn.Upsample(scale_factor=2, mode='bilinear'), (1, 2, 3, 4)),
        ('upsample_bilinear_x1_5', {'kind': 'Upsample', 'scale_factor': 1.5, 'mode': 'bilinear'}, nn.Upsample(scale_factor=1.5, mode='bilinear'), (1, 1, 4, 5)),
        ('upsample_bilinear_align', {'kind': 'Upsample', 'size': [5, 7], 'mode': 'bilinear', 'align_corners': True},
         nn.Upsample(size=(5, 7), mode='bilinear', align_corners=True), (2, 2, 3, 4)),
    ]:
        cases.append(layer_case(name, cfg, mod, r(*shape)))
    # Stride 1 with padding > kernel − 1: the input gradient cannot be a padded forward convolution
    # (the padding would be negative), so @dl/cnn takes its other path. Own seed, and the global
    # generator is restored, so every case above and every model fixture keeps its values.
    with torch.random.fork_rng():
        torch.manual_seed(101)
        kw = dict(in_channels=2, out_channels=3, kernel_size=2, padding=2)
        cases.append(layer_case('conv_pad_over_kernel', {'kind': 'Conv2d', **kw}, nn.Conv2d(**kw), r(1, 2, 4, 5)))
    return cases


# torchvision's ResNet, written out (torchvision is not installed here).
def conv3x3(i, o, stride=1, groups=1):
    return nn.Conv2d(i, o, 3, stride, 1, groups=groups, bias=False)


def conv1x1(i, o, stride=1):
    return nn.Conv2d(i, o, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        width = planes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


def make_block(block, inplanes, planes, stride):
    ds = None
    if stride != 1 or inplanes != planes * block.expansion:
        ds = nn.Sequential(conv1x1(inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion))
    return block(inplanes, planes, stride, ds)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, widths=(64, 128, 256, 512), cifar=False):
        super().__init__()
        self.inplanes = widths[0]
        if cifar:
            self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
        for i, (n, w) in enumerate(zip(layers, widths)):
            blocks = []
            for b in range(n):
                blocks.append(make_block(block, self.inplanes, w, 2 if (b == 0 and i > 0) else 1))
                self.inplanes = w * block.expansion
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.n_stages = len(layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.n_stages):
            x = getattr(self, f'layer{i + 1}')(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # (c, h, w) order
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def randomize_bn(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.3, 0.3); m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


def model_case(name, config, module, x):
    """Train-mode forward/backward; state and gradients in PyTorch's layout (the test converts)."""
    module.train()
    initial = {k: t(v) for k, v in module.state_dict().items()}
    x = x.clone().requires_grad_(True)
    out = module(x)
    up = torch.randn_like(out)
    (out * up).sum().backward()
    return {'name': name, 'config': config, 'state': initial, 'input': t(nhwc(x)), 'output': t(nhwc(out)),
            'upstream': t(nhwc(up)), 'inputGrad': t(nhwc(x.grad)),
            'paramGrads': {k: t(p.grad) for k, p in module.named_parameters()},
            'stateAfter': {k: t(v) for k, v in module.state_dict().items() if 'running' in k}}


def yolo_loss_reference(pred, target, S, B, C, l_coord=5.0, l_noobj=0.5):
    """The YOLOv1 loss written cell by cell, as in the paper."""
    N = pred.shape[0]
    total = pred.new_zeros(())
    for n in range(N):
        for i in range(S):
            for j in range(S):
                p = pred[n, i, j]
                boxes = torch.sigmoid(p[:B * 5]).view(B, 5)
                probs = torch.softmax(p[B * 5:], 0)
                tt = target[n, i, j]
                if tt[4] > 0:
                    def corners(b):
                        cx, cy = (j + b[0]) / S, (i + b[1]) / S
                        w, h = b[2] ** 2, b[3] ** 2
                        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
                    g = corners(tt[:4])
                    ious = []
                    for k in range(B):
                        a = corners(boxes[k].detach())
                        iw = max(0.0, float(min(a[2], g[2]) - max(a[0], g[0])))
                        ih = max(0.0, float(min(a[3], g[3]) - max(a[1], g[1])))
                        inter = iw * ih
                        union = float((a[2] - a[0]) * (a[3] - a[1]) + (g[2] - g[0]) * (g[3] - g[1])) - inter
                        ious.append(inter / max(union, 1e-9))
                    r = max(range(B), key=lambda k: ious[k])
                    b = boxes[r]
                    total = total + l_coord * ((b[0] - tt[0]) ** 2 + (b[1] - tt[1]) ** 2)
                    total = total + l_coord * ((b[2] - tt[2]) ** 2 + (b[3] - tt[3]) ** 2)
                    total = total + (b[4] - ious[r]) ** 2
                    for k in range(B):
                        if k != r:
                            total = total + l_noobj * boxes[k][4] ** 2
                    total = total + ((probs - tt[5:]) ** 2).sum()
                else:
                    total = total + l_noobj * (boxes[:, 4] ** 2).sum()
    return total / N


def yolo_case():
    S, B, C = 3, 2, 3
    objects = [[{'box': [0.1, 0.15, 0.45, 0.6], 'classId': 2}, {'box': [0.6, 0.55, 0.95, 0.9], 'classId': 0}],
               [{'box': [0.3, 0.3, 0.5, 0.4], 'classId': 1}]]
    target = torch.zeros(len(objects), S, S, 5 + C)
    for n, objs in enumerate(objects):
        for o in objs:
            x1, y1, x2, y2 = o['box']
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            col, row = min(int(cx * S), S - 1), min(int(cy * S), S - 1)
            target[n, row, col, :5] = torch.tensor([cx * S - col, cy * S - row, math.sqrt(x2 - x1), math.sqrt(y2 - y1), 1.0])
            target[n, row, col, 5 + o['classId']] = 1
    pred = (torch.randn(len(objects), S, S, B * 5 + C) * 1.5).requires_grad_(True)
    loss = yolo_loss_reference(pred, target, S, B, C)
    loss.backward()
    return {'S': S, 'B': B, 'C': C, 'objects': objects, 'target': t(target), 'pred': t(pred), 'loss': float(loss), 'grad': t(pred.grad)}


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand (8-byte LE header length, JSON header, raw LE data)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, v in tensors.items():
        v = v.detach().contiguous()
        dt = {torch.float32: 'F32', torch.int64: 'I64'}[v.dtype]
        raw = v.numpy().tobytes()
        header[name] = {'dtype': dt, 'shape': list(v.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def count(m):
    return sum(p.numel() for p in m.parameters())


def models():
    out = {}
    cases = []
    cases.append(model_case('basic_block', {'kind': 'BasicBlock', 'inplanes': 4, 'planes': 4, 'stride': 1}, make_block(BasicBlock, 4, 4, 1), torch.randn(2, 4, 5, 6)))
    cases.append(model_case('basic_block_down', {'kind': 'BasicBlock', 'inplanes': 3, 'planes': 5, 'stride': 2}, make_block(BasicBlock, 3, 5, 2), torch.randn(2, 3, 7, 6)))
    cases.append(model_case('bottleneck_down', {'kind': 'Bottleneck', 'inplanes': 4, 'planes': 2, 'stride': 2}, make_block(Bottleneck, 4, 2, 2), torch.randn(2, 4, 5, 5)))
    cases.append(model_case('lenet', {'kind': 'LeNet5'}, LeNet(), torch.randn(3, 1, 28, 28)))
    out['cases'] = cases
    # Parameter counts of the full-width networks (torchvision: resnet18 11,689,512, resnet34 21,797,672, resnet50 25,557,032).
    counts = {
        'resnet18': count(ResNet(BasicBlock, [2, 2, 2, 2])),
        'resnet34': count(ResNet(BasicBlock, [3, 4, 6, 3])),
        'resnet50': count(ResNet(Bottleneck, [3, 4, 6, 3])),
        'resnet20_cifar': count(ResNet(BasicBlock, [3, 3, 3], 10, (16, 32, 64), cifar=True)),
        'resnet56_cifar': count(ResNet(BasicBlock, [9, 9, 9], 10, (16, 32, 64), cifar=True)),
        'lenet': count(LeNet()),
    }
    assert counts['resnet18'] == 11689512 and counts['resnet34'] == 21797672 and counts['resnet50'] == 25557032, counts
    out['paramCounts'] = counts
    # A small-width ResNet-18 with PyTorch's logits, for the state-dict import test.
    net = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10, widths=(8, 16, 32, 64))
    randomize_bn(net)
    net.eval()
    x = torch.rand(2, 3, 48, 40) * 2 - 1
    with torch.no_grad():
        logits = net(x)
    write_safetensors(os.path.join(OUT, 'resnet18_w8.safetensors'), net.state_dict(), {'format': 'pt', 'source': 'generate_fixtures.py'})
    out['resnet18_w8'] = {'params': count(net), 'input': t(nhwc(x)), 'logits': t(logits)}
    out['yolo'] = yolo_case()
    return out


SWEEP_SEED = 20261130


def exact(x, scale=128):
    """Rounds to a multiple of 1/scale: exact in float32 and in a short JSON decimal."""
    return torch.round(x * scale) / scale


def sweep_case(kind, args, options, module, x, pad=None):
    """One sweep case: our constructor's positional arguments and options; forward and backward of
    sum(out * upstream), everything in our layout.
    `pad` (F.pad's order: left, right, top, bottom) is applied before the module, for asymmetric padding."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(exact(p))
    x = exact(x).requires_grad_(True)
    out = module(F.pad(x, pad) if pad else x)
    up = exact(torch.randn(out.shape, generator=SWEEP_GEN), 32)
    (out * up).sum().backward()
    return {
        'kind': kind, 'args': args, 'options': options,
        'input': t(nhwc(x)), 'output': t(nhwc(out)), 'upstream': t(nhwc(up)), 'inputGrad': t(nhwc(x.grad)),
        'state': {k: t(ours(k, v, module)) for k, v in module.state_dict().items()},
        'paramGrads': {k: t(ours(k, p.grad, module)) for k, p in module.named_parameters()},
    }


def sweep_channels(rng):
    """(in, out, groups): plain, grouped or depthwise (groups = in, out a multiple of in)."""
    shape = rng.choice(['plain', 'plain', 'plain', 'groups', 'depthwise'])
    if shape == 'depthwise':
        cin = rng.randint(1, 3)
        return cin, cin * rng.randint(1, 2), cin
    if shape == 'groups':
        g = rng.choice([2, 3])
        return g * rng.randint(1, 2), g * rng.randint(1, 2), g
    return rng.randint(1, 3), rng.randint(1, 3), 1


def sweep_size(rng, eff, pads):
    """A spatial size that the (dilated) kernel fits after padding, 0 to 3 positions to spare."""
    return max(1, eff - pads + rng.randint(0, 3))


def sweep_conv2d(rng):
    cin, cout, groups = sweep_channels(rng)
    k = [rng.randint(1, 4) for _ in range(2)]
    if rng.random() < 0.3:
        k[1] = k[0]
    s = [rng.choice([1, 1, 2, 3]) for _ in range(2)]
    d = [rng.choice([1, 1, 1, 2, 3]) for _ in range(2)]
    mode = rng.choice(['int', 'pair', 'asym', 'asym', 'same', 'valid'])
    if mode == 'same':
        s = [1, 1]  # PyTorch allows 'same' only with stride 1
    eff = [d[a] * (k[a] - 1) + 1 for a in range(2)]
    if mode == 'int':
        p = rng.randint(0, 3)
        ours_pad, pads, torch_pad = p, [[p, p], [p, p]], p
    elif mode == 'pair':
        p = [rng.randint(0, 3), rng.randint(0, 3)]
        ours_pad, pads, torch_pad = p, [[p[0], p[0]], [p[1], p[1]]], tuple(p)
    elif mode == 'asym':
        pads = [[rng.randint(0, 3), rng.randint(0, 3)], [rng.randint(0, 3), rng.randint(0, 3)]]
        ours_pad, torch_pad = pads, 0
    elif mode == 'same':
        ours_pad, torch_pad = 'same', 'same'
        pads = [[(e - 1) // 2, e - 1 - (e - 1) // 2] for e in eff]
    else:
        ours_pad, pads, torch_pad = 'valid', [[0, 0], [0, 0]], 0
    h, w = (sweep_size(rng, eff[a], sum(pads[a])) for a in range(2))
    bias = rng.random() < 0.6
    m = nn.Conv2d(cin, cout, tuple(k), stride=tuple(s), padding=torch_pad, dilation=tuple(d), groups=groups, bias=bias)
    options = {'stride': s, 'padding': ours_pad, 'dilation': d, 'groups': groups, 'bias': bias}
    x = torch.randn(rng.randint(1, 2), cin, h, w, generator=SWEEP_GEN)
    pad = (pads[1][0], pads[1][1], pads[0][0], pads[0][1]) if mode == 'asym' else None
    return sweep_case('Conv2d', [cin, cout, k], options, m, x, pad)


def sweep_conv1d(rng):
    cin, cout, groups = sweep_channels(rng)
    k, s, d = rng.randint(1, 5), rng.choice([1, 1, 2, 3]), rng.choice([1, 1, 1, 2, 3])
    mode = rng.choice(['default', 'int', 'asym', 'same', 'valid'])
    if mode == 'same':
        s = 1
    eff = d * (k - 1) + 1
    pads, ours_pad, torch_pad = [0, 0], None, 0
    if mode == 'int':
        p = rng.randint(0, 3)
        pads, ours_pad, torch_pad = [p, p], p, p
    elif mode == 'asym':
        pads = [rng.randint(0, 3), rng.randint(0, 3)]
        ours_pad = pads
    elif mode == 'same':
        pads, ours_pad, torch_pad = [(eff - 1) // 2, eff - 1 - (eff - 1) // 2], 'same', 'same'
    elif mode == 'valid':
        ours_pad = 'valid'
    length = sweep_size(rng, eff, sum(pads)) + rng.randint(0, 3)
    bias = rng.random() < 0.6
    m = nn.Conv1d(cin, cout, k, stride=s, padding=torch_pad, dilation=d, groups=groups, bias=bias)
    options = {'stride': s, 'dilation': d, 'groups': groups, 'bias': bias}
    if ours_pad is not None:
        options['padding'] = ours_pad
    x = torch.randn(rng.randint(1, 2), cin, length, generator=SWEEP_GEN)
    return sweep_case('Conv1d', [cin, cout, k], options, m, x, tuple(pads) if mode == 'asym' else None)


def sweep_conv_transpose(rng):
    while True:
        shape = rng.choice(['plain', 'plain', 'groups'])
        g = rng.choice([2, 3]) if shape == 'groups' else 1
        cin, cout = g * rng.randint(1, 2), g * rng.randint(1, 2)
        k = [rng.randint(1, 4) for _ in range(2)]
        s = [rng.choice([1, 2, 3]) for _ in range(2)]
        d = [rng.choice([1, 1, 2]) for _ in range(2)]
        p = [rng.randint(0, d[a] * (k[a] - 1)) for a in range(2)]
        op = [rng.randint(0, max(s[a], d[a]) - 1) for a in range(2)]
        hw = [rng.randint(1, 4) for _ in range(2)]
        if all((hw[a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1 >= 1 for a in range(2)):
            break
    bias = rng.random() < 0.6
    m = nn.ConvTranspose2d(cin, cout, tuple(k), stride=tuple(s), padding=tuple(p), output_padding=tuple(op), groups=g, bias=bias, dilation=tuple(d))
    options = {'stride': s, 'padding': p, 'outputPadding': op, 'dilation': d, 'groups': g, 'bias': bias}
    x = torch.randn(rng.randint(1, 2), cin, hw[0], hw[1], generator=SWEEP_GEN)
    return sweep_case('ConvTranspose2d', [cin, cout, k], options, m, x)


def sweep_pool(rng, kind):
    k = [rng.randint(1, 4) for _ in range(2)]
    if rng.random() < 0.3:
        k[1] = k[0]
    stride = None if rng.random() < 0.3 else [rng.randint(1, 3) for _ in range(2)]
    p = [rng.randint(0, k[a] // 2) for a in range(2)]
    ceil = rng.random() < 0.5
    h, w = (sweep_size(rng, k[a], 2 * p[a]) + rng.randint(0, 2) for a in range(2))
    shape = (rng.randint(1, 2), rng.randint(1, 3), h, w)
    # Distinct values (a shuffled ramp of multiples of 1/32): no ties, whose gradient is implementation-defined.
    n = math.prod(shape)
    x = ((torch.randperm(n, generator=SWEEP_GEN) - n / 2) / 32).reshape(shape)
    options = {'padding': p, 'ceilMode': ceil}
    if stride is not None:
        options['stride'] = stride
    torch_stride = tuple(stride) if stride else None
    if kind == 'MaxPool2d':
        m = nn.MaxPool2d(tuple(k), torch_stride, tuple(p), ceil_mode=ceil)
    else:
        include = rng.random() < 0.5
        options['countIncludePad'] = include
        m = nn.AvgPool2d(tuple(k), torch_stride, tuple(p), ceil_mode=ceil, count_include_pad=include)
    return sweep_case(kind, [k], options, m, x)


def sweep():
    """The randomised sweep (see the module docstring). Its own generators: the other files are unaffected."""
    global SWEEP_GEN
    SWEEP_GEN = torch.Generator().manual_seed(SWEEP_SEED)
    rng = random.Random(SWEEP_SEED)
    cases = []
    with torch.random.fork_rng():
        torch.manual_seed(SWEEP_SEED)  # the modules' own initialisation (then rounded by sweep_case)
        for _ in range(110):
            cases.append(sweep_conv2d(rng))
        for _ in range(60):
            cases.append(sweep_conv1d(rng))
        for _ in range(50):
            cases.append(sweep_conv_transpose(rng))
        for _ in range(45):
            cases.append(sweep_pool(rng, 'MaxPool2d'))
        for _ in range(45):
            cases.append(sweep_pool(rng, 'AvgPool2d'))
    for i, c in enumerate(cases):
        c['name'] = f"{c['kind']} #{i}"
    return {'torch': torch.__version__, 'seed': SWEEP_SEED, 'cases': cases}


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    wanted = set(sys.argv[1:]) or {'layers', 'models', 'sweep'}
    unknown = wanted - {'layers', 'models', 'sweep'}
    if unknown:
        raise SystemExit(f'unknown fixture file(s) {sorted(unknown)}: choose from layers, models, sweep')
    if 'layers' in wanted:
        with open(os.path.join(OUT, 'layers.json'), 'w') as f:
            json.dump({'torch': torch.__version__, 'cases': layers()}, f, separators=(',', ':'))
    if 'models' in wanted:
        with open(os.path.join(OUT, 'models.json'), 'w') as f:
            json.dump({'torch': torch.__version__, **models()}, f, separators=(',', ':'))
    if 'sweep' in wanted:
        with open(os.path.join(OUT, 'sweep.json'), 'w') as f:
            json.dump(sweep(), f, separators=(',', ':'))
    print('wrote', ', '.join(sorted(wanted)), 'to', OUT)
