#!/usr/bin/python3
"""Writes PyTorch reference values for @dl/attention's parity tests into packages/attention/fixtures/.

Run with Debian's torch:  /usr/bin/python3 packages/attention/scripts/generate_fixtures.py
Tests read the JSON and never need Python. Layouts are ours: q, k, v are [batch, heads, length, dim];
MultiheadAttention runs with batch_first=True. torch 1.13 has no F.scaled_dot_product_attention, so the
reference attention is written out by hand (softmax(q·kᵀ·scale + mask) · v).

Each case stores inputs, state (PyTorch names), output, weights, a fixed random `upstream`, and the
gradients of L = sum(output * upstream) with respect to inputs and parameters.
"""
import json
import math
import os
import random

# Debian's torch multiplies through OpenBLAS, whose kernel is picked per CPU; different kernels change
# float32 results in the last bit. The committed fixtures were written with the Sandybridge kernel, so
# pin it (before torch loads OpenBLAS) to regenerate them byte for byte on any x86-64 machine with AVX.
os.environ.setdefault('OPENBLAS_CORETYPE', 'Sandybridge')

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')


def t(x):
    x = x.detach()
    if x.dtype == torch.bool:
        return {'shape': list(x.shape), 'dtype': 'bool', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    return {'shape': list(x.shape), 'dtype': 'float32', 'data': [round(float(v), 7) for v in x.reshape(-1).tolist()]}


def finish(case, out, inputs, params=None):
    up = torch.randn_like(out)
    (out * up).sum().backward()
    case['upstream'] = t(up)
    case['inputGrads'] = {k: t(v.grad) for k, v in inputs.items()}
    if params is not None:
        case['paramGrads'] = {k: t(p.grad) for k, p in params if p.grad is not None}
    return case


def sdpa(q, k, v, allowed=None, scale=None):
    """Reference full attention; allowed: bool, True = may attend (broadcast); fully masked rows -> 0."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-1, -2) * scale
    if allowed is not None:
        s = s.masked_fill(~allowed, float('-inf'))
    w = torch.softmax(s, -1)
    w = torch.nan_to_num(w, nan=0.0)
    return w @ v, w


def full_cases():
    cases = []
    specs = [
        ('plain', dict(B=2, H=2, Lq=4, Lk=5, d=3, dv=2)),
        ('mask', dict(B=1, H=2, Lq=5, Lk=5, d=4, dv=3, mask=True)),
        ('causal_padding', dict(B=2, H=1, Lq=5, Lk=5, d=3, dv=3, causal=True, padding=True)),
        ('scale', dict(B=1, H=1, Lq=3, Lk=4, d=2, dv=2, scale=0.7)),
    ]
    for name, s in specs:
        q = torch.randn(s['B'], s['H'], s['Lq'], s['d'], requires_grad=True)
        k = torch.randn(s['B'], s['H'], s['Lk'], s['d'], requires_grad=True)
        v = torch.randn(s['B'], s['H'], s['Lk'], s['dv'], requires_grad=True)
        allowed = torch.ones(s['B'], s['H'], s['Lq'], s['Lk'], dtype=torch.bool)
        case = {'name': name, 'q': t(q), 'k': t(k), 'v': t(v)}
        if s.get('mask'):
            m = torch.rand(1, s['H'], s['Lq'], s['Lk']) > 0.4
            m[..., 0] = True  # no fully masked row (torch would give NaN)
            allowed = allowed & m
            case['mask'] = t(m)
        if s.get('causal'):
            allowed = allowed & torch.ones(s['Lq'], s['Lk'], dtype=torch.bool).tril(s['Lk'] - s['Lq'])
            case['causal'] = True
        if s.get('padding'):
            pad = torch.zeros(s['B'], s['Lk'], dtype=torch.bool)
            pad[0, -2:] = True
            allowed = allowed & ~pad[:, None, None, :]
            case['keyPaddingMask'] = t(pad)
        if 'scale' in s:
            case['scale'] = s['scale']
        out, w = sdpa(q, k, v, allowed, s.get('scale'))
        case['output'] = t(out)
        case['weights'] = t(w)
        cases.append(finish(case, out, {'q': q, 'k': k, 'v': v}))
    return cases


def mha_cases():
    cases = []
    specs = [
        ('basic', dict(E=8, H=2, B=2, Lq=4, Lk=4, kw={}, self_attn=True)),
        ('kdim_vdim_nobias_boolmask_padding', dict(E=6, H=3, B=2, Lq=3, Lk=5, kw=dict(kdim=4, vdim=7, bias=False), boolmask=True, padding=True, average=False)),
        ('bias_kv_floatmask', dict(E=4, H=2, B=1, Lq=3, Lk=4, kw=dict(add_bias_kv=True), floatmask=True)),
        ('causal_3d_boolmask', dict(E=4, H=2, B=2, Lq=4, Lk=4, kw={}, causal=True, self_attn=True)),
    ]
    for name, s in specs:
        m = nn.MultiheadAttention(s['E'], s['H'], batch_first=True, **s['kw'])
        with torch.no_grad():
            for n, p in m.named_parameters():
                if n.endswith('bias') or n.startswith('bias_'):
                    p.uniform_(-0.5, 0.5)
        m.eval()
        kdim = s['kw'].get('kdim', s['E'])
        vdim = s['kw'].get('vdim', s['E'])
        q = torch.randn(s['B'], s['Lq'], s['E'], requires_grad=True)
        if s.get('self_attn'):
            k = q
            v = q
        else:
            k = torch.randn(s['B'], s['Lk'], kdim, requires_grad=True)
            v = torch.randn(s['B'], s['Lk'], vdim, requires_grad=True)
        kwargs = {}
        case = {'name': name, 'E': s['E'], 'H': s['H'], 'options': s['kw'], 'selfAttention': bool(s.get('self_attn')),
                'query': t(q), 'key': t(k), 'value': t(v), 'state': {n: t(p) for n, p in m.state_dict().items()},
                'average': s.get('average', True)}
        if s.get('boolmask'):
            am = torch.rand(s['Lq'], s['Lk']) > 0.6  # True = NOT allowed (torch)
            am[:, 0] = False
            kwargs['attn_mask'] = am
            case['attnMask'] = t(am)
        if s.get('floatmask'):
            am = torch.randn(s['Lq'], s['Lk'])
            kwargs['attn_mask'] = am
            case['attnMask'] = t(am)
        if s.get('causal'):
            am = torch.ones(s['Lq'], s['Lk'], dtype=torch.bool).triu(1).repeat(s['B'] * s['H'], 1, 1)
            kwargs['attn_mask'] = am
            case['attnMask'] = t(am)
        if s.get('padding'):
            pad = torch.zeros(s['B'], s['Lk'], dtype=torch.bool)
            pad[1, -2:] = True
            kwargs['key_padding_mask'] = pad
            case['keyPaddingMask'] = t(pad)
        out, w = m(q, k, v, need_weights=True, average_attn_weights=case['average'], **kwargs)
        case['output'] = t(out)
        case['weights'] = t(w)
        inputs = {'query': q} if s.get('self_attn') else {'query': q, 'key': k, 'value': v}
        cases.append(finish(case, out, inputs, m.named_parameters()))
    return cases


def additive_cases():
    B, H, Lq, Lk, d, hid, dv = 1, 2, 3, 4, 3, 5, 2
    qp = nn.Linear(d, hid, bias=False)
    kp = nn.Linear(d, hid)
    sc = nn.Linear(hid, 1, bias=False)
    q = torch.randn(B, H, Lq, d, requires_grad=True)
    k = torch.randn(B, H, Lk, d, requires_grad=True)
    v = torch.randn(B, H, Lk, dv, requires_grad=True)
    pad = torch.tensor([[False, False, False, True]])
    s = sc(torch.tanh(qp(q).unsqueeze(3) + kp(k).unsqueeze(2))).squeeze(-1)
    s = s.masked_fill(pad[:, None, None, :], float('-inf'))
    w = torch.softmax(s, -1)
    out = w @ v
    state = {'q_proj.weight': qp.weight, 'k_proj.weight': kp.weight, 'k_proj.bias': kp.bias, 'score.weight': sc.weight}
    case = {'name': 'additive', 'dim': d, 'hidden': hid, 'q': t(q), 'k': t(k), 'v': t(v), 'keyPaddingMask': t(pad),
            'state': {n: t(p) for n, p in state.items()}, 'output': t(out), 'weights': t(w)}
    return [finish(case, out, {'q': q, 'k': k, 'v': v}, list(state.items()))]


def linear_cases():
    cases = []
    for fmap, causal in [('elu', False), ('elu', True), ('relu', True)]:
        B, H, L, d, dv = 1, 2, 6, 3, 2
        q = torch.randn(B, H, L, d, requires_grad=True)
        k = torch.randn(B, H, L, d, requires_grad=True)
        v = torch.randn(B, H, L, dv, requires_grad=True)
        phi = (lambda x: F.elu(x) + 1) if fmap == 'elu' else F.relu
        A = phi(q) @ phi(k).transpose(-1, -2)
        if causal:
            A = A * torch.ones(L, L).tril()
        out = (A @ v) / (A.sum(-1, keepdim=True) + 1e-6)
        case = {'name': f'linear_{fmap}_{"causal" if causal else "full"}', 'featureMap': fmap, 'causal': causal,
                'q': t(q), 'k': t(k), 'v': t(v), 'output': t(out)}
        cases.append(finish(case, out, {'q': q, 'k': k, 'v': v}))
    return cases


def linformer_cases():
    B, H, L, d, kp = 1, 2, 6, 3, 4
    q = torch.randn(B, H, L, d, requires_grad=True)
    k = torch.randn(B, H, L, d, requires_grad=True)
    v = torch.randn(B, H, L, d, requires_grad=True)
    E = (torch.randn(kp, L) * 0.4).requires_grad_()
    Fm = (torch.randn(kp, L) * 0.4).requires_grad_()
    out, w = sdpa(q, E @ k, Fm @ v)
    case = {'name': 'linformer', 'q': t(q), 'k': t(k), 'v': t(v), 'state': {'E': t(E), 'F': t(Fm)}, 'output': t(out), 'weights': t(w)}
    return [finish(case, out, {'q': q, 'k': k, 'v': v}, [('E', E), ('F', Fm)])]


def mask_sweep_cases():
    """A randomised sweep of attention masks (fixtures/mask-sweep.json) for scaledDotProductAttention.

    Each case draws, from its own seed, sizes (batch, heads, Lq != Lk often, head dims), an optional
    scale, and any combination of: causal (query i sees keys j <= i + Lk - Lq), a key padding mask
    [B, Lk] (True = padded, whole rows sometimes), and an arbitrary boolean mask (True = may attend) of
    shape [Lq, Lk] or [B|1, H|1, Lq, Lk], sometimes with fully masked rows. The reference is softmax over
    the allowed keys, with a fully masked row giving zero weights and output (written so that torch's
    gradients stay finite there). Stores output, weights and the gradients of sum(output * upstream)
    with respect to q, k and v.
    """
    cases = []
    for i in range(240):
        seed = 5000 + i
        torch.manual_seed(seed)
        r = random.Random(seed)
        B, H = r.randint(1, 3), r.randint(1, 3)
        Lq = r.randint(1, 6)
        Lk = Lq if r.random() < 0.3 else r.randint(1, 6)
        d, dv = r.randint(1, 5), r.randint(1, 4)
        q = torch.randn(B, H, Lq, d, requires_grad=True)
        k = torch.randn(B, H, Lk, d, requires_grad=True)
        v = torch.randn(B, H, Lk, dv, requires_grad=True)
        allowed = torch.ones(B, H, Lq, Lk, dtype=torch.bool)
        case = {'name': f'mask_{i}', 'q': t(q), 'k': t(k), 'v': t(v)}
        kinds = [name for name in ('causal', 'padding', 'mask') if r.random() < 0.5] or [r.choice(['causal', 'padding', 'mask'])]
        if 'causal' in kinds:
            allowed = allowed & torch.ones(Lq, Lk, dtype=torch.bool).tril(Lk - Lq)
            case['causal'] = True
        if 'padding' in kinds:
            lengths = [r.randint(0 if r.random() < 0.2 else 1, Lk) for _ in range(B)]
            pad = torch.zeros(B, Lk, dtype=torch.bool)
            for b, n in enumerate(lengths):
                pad[b, n:] = True
            allowed = allowed & ~pad[:, None, None, :]
            case['keyPaddingMask'] = t(pad)
        if 'mask' in kinds:
            shape = r.choice([(Lq, Lk), (1, 1, Lq, Lk), (B, 1, Lq, Lk), (1, H, Lq, Lk), (B, H, Lq, Lk)])
            m = torch.rand(*shape) < r.choice([0.5, 0.7, 0.9])
            if r.random() < 0.3:
                m[..., r.randrange(Lq), :] = False  # a fully masked query row
            allowed = allowed & (m if m.dim() == 4 else m[None, None])
            case['mask'] = t(m)
        if r.random() < 0.25:
            case['scale'] = r.choice([0.5, 1.0, 2.0, 0.1])
        scale = case.get('scale', 1 / math.sqrt(d))
        s = (q @ k.transpose(-1, -2)) * scale
        any_allowed = allowed.any(-1, keepdim=True)
        w = torch.softmax(s.masked_fill(~allowed, float('-inf')).masked_fill(~any_allowed, 0.0), -1)
        w = torch.where(any_allowed, w, torch.zeros_like(w))
        out = w @ v
        case['fullyMaskedRows'] = int((~any_allowed).sum())
        case['output'] = t(out)
        case['weights'] = t(w)
        cases.append(finish(case, out, {'q': q, 'k': k, 'v': v}))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    data = {'full': full_cases(), 'mha': mha_cases(), 'additive': additive_cases(), 'linear': linear_cases(), 'linformer': linformer_cases(),
            'mask-sweep': mask_sweep_cases()}
    for name, cases in data.items():
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
        print(name, len(cases))


if __name__ == '__main__':
    main()
