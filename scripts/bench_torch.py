#!/usr/bin/python3
r"""PyTorch's column of `pnpm bench:torch` (scripts/bench-torch.mjs), one process for the whole run.

Protocol, one JSON object per line: the first line on stdin holds the settings ({"warmup", "threads"});
this answers with the versions, threads and BLAS in use. Then {"op": "prepare", "workload": {"id", "kind",
shape fields}} builds a workload and runs its warm-up calls (answer {"ready": id}), and {"op": "run"} times
one call (answer {"ms"}). bench-torch.mjs alternates one PyTorch call with one @dl call, so load from other
processes hits both columns alike, and takes the medians. PyTorch keeps its default thread count unless
`threads` is given (--torch-threads, which also sets OPENBLAS_NUM_THREADS).

By hand: printf '%s\n' '{"warmup": 1}' '{"op": "prepare", "workload": {"id": "mm", "kind": "matmul", "n": 256}}' '{"op": "run"}' | /usr/bin/python3 scripts/bench_torch.py
"""
import ctypes
import importlib.util
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def run_once(fn):
    """Wall time of one fn() call in ms (PyTorch on the CPU is synchronous)."""
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def train_step(model, opt, loss_fn):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def mlp(w):
    sizes = w['sizes']
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    x = torch.rand(w['batch'], sizes[0])
    y = torch.arange(w['batch']) % sizes[-1]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return train_step(model, opt, lambda: F.cross_entropy(model(x), y))


class LeNet5(nn.Module):
    """@dl/cnn's LeNet5 defaults: 28×28 input padded by 2, ReLU, max pooling, 120-84-10."""

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
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def lenet(w):
    model = LeNet5()
    x = torch.rand(w['batch'], 1, 28, 28)
    y = torch.arange(w['batch']) % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return train_step(model, opt, lambda: F.cross_entropy(model(x), y))


def attend(q, k, v):
    # torch 1.13 has no F.scaled_dot_product_attention: the plain matmul → softmax → matmul.
    return torch.softmax((q * (1 / math.sqrt(q.shape[-1]))) @ k.transpose(-2, -1), dim=-1) @ v


def attention(w):
    shape = (w['batch'], w['heads'], w['n'], w['dim'])
    q, k, v = (torch.randn(shape) for _ in range(3))
    if not w.get('backward'):
        def fwd():
            with torch.no_grad():
                attend(q, k, v)
        return fwd
    for t in (q, k, v):
        t.requires_grad_(True)
    dy = torch.randn(shape)

    def fwd_bwd():
        for t in (q, k, v):
            t.grad = None
        attend(q, k, v).backward(dy)
    return fwd_bwd


def mha(w):
    m = nn.MultiheadAttention(w['embed'], w['heads'], batch_first=True)
    x = torch.randn(w['batch'], w['n'], w['embed'])
    dy = torch.randn(w['batch'], w['n'], w['embed'])

    def fwd_bwd():
        m.zero_grad(set_to_none=True)
        out, _ = m(x, x, x, need_weights=False)
        out.backward(dy)
    return fwd_bwd


def conv(w):
    # One convolution layer, forward and backward with the input's gradient (as inside a network).
    L = w['layer']
    if L['transposed']:
        m = nn.ConvTranspose2d(L['cin'], L['cout'], L['k'], stride=L['stride'], padding=L['padding'], groups=L['groups'])
    else:
        m = nn.Conv2d(L['cin'], L['cout'], L['k'], stride=L['stride'], padding=L['padding'], groups=L['groups'])
    n, h, wd = w['input']
    x = torch.randn(n, L['cin'], h, wd, requires_grad=True)
    dy = torch.randn(m(x).shape)

    def fwd_bwd():
        m.zero_grad(set_to_none=True)
        x.grad = None
        m(x).backward(dy)
    return fwd_bwd


def gpt(w):
    # The nanoGPT model of packages/transformer/bench (imported after torch, so its thread settings in
    # os.environ have no effect here: this process keeps PyTorch's defaults or --torch-threads).
    spec = importlib.util.spec_from_file_location('torch_gpt_step', os.path.join(HERE, '..', 'packages', 'transformer', 'bench', 'torch_gpt_step.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    c = w['config']
    mod.V, mod.T, mod.L, mod.H, mod.E = c['vocabSize'], c['blockSize'], c['nLayer'], c['nHead'], c['nEmbd']
    model = mod.GPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99))
    B, T, V = w['batch'], c['blockSize'], c['vocabSize']

    def step():
        x = torch.randint(0, V, (B, T + 1))
        loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()
    return step


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """torchvision's resnet18 (He et al. 2016), written out: torchvision is not installed here."""

    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet18(w):
    model = ResNet18().eval()
    x = torch.rand(w['batch'], 3, w['size'], w['size'])

    def fwd():
        with torch.no_grad():
            model(x)
    return fwd


def matmul(w):
    a = torch.randn(w['n'], w['n'])
    b = torch.randn(w['n'], w['n'])
    return lambda: a @ b


KINDS = {'matmul': matmul, 'mlp': mlp, 'lenet': lenet, 'attention': attention, 'mha': mha, 'conv': conv, 'gpt': gpt, 'resnet18': resnet18}


def blas_info():
    """The BLAS library actually loaded (Debian's torch links the system libblas.so.3) and its threads."""
    paths = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'blas' in line.lower() and '.so' in line})
    openblas = [p for p in paths if 'openblas' in p.lower()]
    if openblas:
        try:
            threads = ctypes.CDLL(openblas[0]).openblas_get_num_threads()
        except (OSError, AttributeError):
            threads = None
        return {'blas': 'OpenBLAS', 'blasPath': openblas[0], 'blasThreads': threads}
    if any('mkl' in p.lower() for p in paths):
        return {'blas': 'MKL', 'blasPath': paths[0], 'blasThreads': None}
    return {'blas': 'reference BLAS' if paths else 'unknown', 'blasPath': paths[0] if paths else None, 'blasThreads': None}


def info(env):
    config = torch.__config__.show()
    blas_line = next((part.split(':')[-1].strip() for line in config.splitlines() for part in line.split(',') if 'BLAS_INFO=' in part), '')
    torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS library, so /proc/self/maps shows it
    return {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'blasInfo': blas_line,
        **blas_info(),
        'env': env,
    }


def main():
    # Read before any workload runs: loading torch_gpt_step.py sets thread variables in os.environ.
    env = {k: os.environ[k] for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'OMP_WAIT_POLICY', 'MKL_NUM_THREADS') if k in os.environ}
    settings = json.loads(sys.stdin.readline())
    if settings.get('threads'):
        torch.set_num_threads(int(settings['threads']))
    torch.manual_seed(0)
    warmup = int(settings.get('warmup', 2))
    print(json.dumps(info(env)), flush=True)
    fn = None
    for line in sys.stdin:
        if not line.strip():
            continue
        m = json.loads(line)
        if m['op'] == 'prepare':  # build the workload and run its warm-up calls
            fn = KINDS[m['workload']['kind']](m['workload'])
            for _ in range(warmup):
                fn()
            print(json.dumps({'ready': m['workload']['id']}), flush=True)
        elif m['op'] == 'run':  # one timed call
            print(json.dumps({'ms': run_once(fn)}), flush=True)
        else:
            raise ValueError(f"unknown op {m['op']!r}")


if __name__ == '__main__':
    main()
