#!/usr/bin/python3
"""The GPT-2 of generate_fixtures.py as an nn.Module with HF's names and layout, saved with torch.save.

Write the fixture (tests read it and never need Python):
    /usr/bin/python3 packages/transformer/scripts/gpt2_torch_pt.py
      -> packages/transformer/fixtures/gpt2.pt: torch.save(model.state_dict()) of a GPT2LMHeadModel-shaped
         module (Conv1D weights [in, out], lm_head tied to wte so both names share one storage, the causal
         mask buffers attn.bias as HF keeps them). Its weights are gpt2.safetensors' (same seed, checked), so
         gpt2.json's logits are its logits (checked here against the module's own forward).

Check that PyTorch reads what @dl writes:
    node packages/transformer/scripts/export-gpt2-pt.mjs /tmp/ours.pt
    /usr/bin/python3 packages/transformer/scripts/gpt2_torch_pt.py --verify /tmp/ours.pt
      -> torch.load + load_state_dict(strict=True) into the module, then its logits vs gpt2.json's.
"""
import collections
import json
import math
import os
import sys

os.environ.setdefault('OPENBLAS_CORETYPE', 'Sandybridge')

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_fixtures as gen  # noqa: E402  (defines the functional GPT-2 and its weights)

def is_mask(name):
    return name.endswith('.attn.bias')  # the causal-mask buffer, not c_attn.bias


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
C = gen.GPT2


class Conv1D(nn.Module):
    """HF's Conv1D: y = x @ weight + bias, weight [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        E, P = C['nEmbd'], C['nPositions']
        self.register_buffer('bias', torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P))
        self.c_attn = Conv1D(E, 3 * E)
        self.c_proj = Conv1D(E, E)

    def forward(self, x):
        B, T, E = x.shape
        H = C['nHead']
        q, k, v = self.c_attn(x).split(E, dim=-1)
        q, k, v = (z.reshape(B, T, H, E // H).transpose(1, 2) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(E // H)
        s = s.masked_fill(~self.bias[:, :, :T, :T], float('-inf'))
        return self.c_proj((torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, E))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        E = C['nEmbd']
        self.c_fc = Conv1D(E, 4 * E)
        self.c_proj = Conv1D(4 * E, E)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate='tanh'))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        E, eps = C['nEmbd'], C['layerNormEps']
        self.ln_1 = nn.LayerNorm(E, eps=eps)
        self.attn = Attention()
        self.ln_2 = nn.LayerNorm(E, eps=eps)
        self.mlp = MLP()

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self):
        super().__init__()
        V, P, E = C['vocabSize'], C['nPositions'], C['nEmbd']
        self.transformer = nn.ModuleDict({
            'wte': nn.Embedding(V, E), 'wpe': nn.Embedding(P, E),
            'h': nn.ModuleList([Block() for _ in range(C['nLayer'])]), 'ln_f': nn.LayerNorm(E, eps=C['layerNormEps']),
        })
        self.lm_head = nn.Linear(E, V, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as GPT2LMHeadModel

    def forward(self, tokens):
        t = self.transformer
        x = t.wte(tokens) + t.wpe(torch.arange(tokens.shape[1]))[None]
        for block in t.h:
            x = block(x)
        return self.lm_head(t.ln_f(x))


def reference():
    with open(os.path.join(FIXTURES, 'gpt2.json')) as f:
        ref = json.load(f)
    tensor = lambda d, dtype: torch.tensor(d['data'], dtype=dtype).reshape(d['shape'])  # noqa: E731
    return [(tensor(c['tokens'], torch.long), tensor(c['logits'], torch.float32)) for c in (ref, ref['full'])]


def max_diff(model):
    with torch.no_grad():
        return max((model(tokens) - logits).abs().max().item() for tokens, logits in reference())


def write():
    torch.manual_seed(2)  # as gen.gpt2(): the same weights as gpt2.safetensors
    p = gen.gpt2_params()
    model = GPT2()
    with torch.no_grad():
        for name, param in model.state_dict(keep_vars=True).items():
            if is_mask(name):
                continue
            param.copy_(p[name])
    weights = gen.read_safetensors(os.path.join(FIXTURES, 'gpt2.safetensors'))
    state = model.state_dict()
    assert state['lm_head.weight'].data_ptr() == state['transformer.wte.weight'].data_ptr(), 'tied: one storage'
    for name, w in weights.items():
        assert torch.equal(state[name], w), f'{name} differs from gpt2.safetensors'
    with torch.no_grad():
        for tokens, _ in reference():
            gen.close(model(tokens), gen.gpt2_forward(p, tokens), 1e-6, 'module vs functional GPT-2')
    diff = max_diff(model)
    assert diff < 1e-5, f'logits differ from gpt2.json by {diff}'
    path = os.path.join(FIXTURES, 'gpt2.pt')
    torch.save(state, path)
    back = torch.load(path)
    assert list(back) == list(state) and all(torch.equal(back[k], state[k]) for k in state)
    print(f'gpt2.pt: {os.path.getsize(path)} bytes, {len(state)} tensors; logits vs gpt2.json: max |diff| {diff:.3g}')


def verify(path):
    try:
        loaded = torch.load(path, weights_only=True)  # torch's own restricted unpickler (1.13+)
    except TypeError:
        loaded = torch.load(path)
    assert isinstance(loaded, collections.OrderedDict), type(loaded)
    loaded = collections.OrderedDict((k, v) for k, v in loaded.items() if not is_mask(k))  # torch's own file has them
    model = GPT2()
    want = [k for k in model.state_dict() if not is_mask(k)]
    assert sorted(loaded) == sorted(want), f'names differ: {sorted(set(loaded) ^ set(want))}'
    for k, v in loaded.items():
        assert v.dtype == torch.float32 and v.shape == model.state_dict()[k].shape, (k, v.dtype, v.shape)
    result = model.load_state_dict(loaded, strict=False)
    assert all(is_mask(k) for k in result.missing_keys) and not result.unexpected_keys, result
    diff = max_diff(model)
    print(f'{path}: {len(loaded)} tensors loaded into the PyTorch GPT-2; logits vs gpt2.json: max |diff| {diff:.3g}')
    assert diff < 1e-5


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--verify':
        verify(sys.argv[2])
    elif len(sys.argv) == 1:
        write()
    else:
        sys.exit('usage: gpt2_torch_pt.py [--verify FILE.pt]')
