#!/usr/bin/python3
"""Writes PyTorch reference values for @dl/transformer's parity tests into packages/transformer/fixtures/.

Run with Debian's torch:  /usr/bin/python3 packages/transformer/scripts/generate_fixtures.py
Tests read the files and never need Python. Every section reseeds, so reruns are byte-identical.

Files written (all tensors {shape, dtype, data}: float32 rounded to 7 decimals, bool as 0/1, int32 as ints;
every JSON has a top-level "torch" version field):

  torch-layers.json   randomised sweep over torch's own nn.TransformerEncoderLayer, nn.TransformerDecoderLayer
                      and nn.Transformer (batch_first=True, dropout=0, train() mode so no fast path): inputs,
                      masks, state_dict, output, upstream, input and parameter gradients.
  gpt2.json           a small GPT-2 (HF names, Conv1D layout) written here by hand: logits, loss and gradients.
  gpt2.safetensors    that model's weights, written by hand in the safetensors format (lm_head.weight a copy of wte).
  positions.json      sinusoidal tables, RoPE (rotate_half), ALiBi slopes and biases, T5 relative buckets and biases.
  blocks.json         randomised sweep over OUR generic layer stack (GQA attention, RoPE/ALiBi/T5 positions,
                      LayerNorm/RMSNorm, relu/gelu/gelu_tanh/silu/swiglu/geglu), written here in torch by hand.

Gradients are those of L = sum(output * upstream) with a fixed random `upstream` (GPT-2: of the loss itself).
The script asserts cross-checks as it goes (our stack vs nn.TransformerEncoder, GQA vs expanded MHA, GPT-2 vs our
stack and its causality, RoPE vs explicit pair rotation, ALiBi slopes, T5 buckets, safetensors round trip).
"""
import json
import math
import os
import random
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
NEG_INF = float('-inf')


# ----------------------------------------------------------------------------------------------------------------
# helpers (house style)

def t(x):
    x = x.detach()
    if x.dtype == torch.bool:
        return {'shape': list(x.shape), 'dtype': 'bool', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    if x.dtype in (torch.int64, torch.int32):
        return {'shape': list(x.shape), 'dtype': 'int32', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    return {'shape': list(x.shape), 'dtype': 'float32', 'data': [round(float(v), 7) for v in x.float().reshape(-1).tolist()]}


def finish(case, out, inputs, params=None):
    up = torch.randn_like(out)
    (out * up).sum().backward()
    case['upstream'] = t(up)
    case['inputGrads'] = {k: t(v.grad) for k, v in inputs.items()}
    if params is not None:
        case['paramGrads'] = {k: t(p.grad) for k, p in params if p.grad is not None}
    return case


def close(a, b, tol=1e-5, what=''):
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert err <= tol, f'{what}: max abs diff {err} > {tol}'


def write_json(name, obj):
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump({'torch': torch.__version__, **obj}, f, separators=(',', ':'), allow_nan=False)
    print(f'{name}: {os.path.getsize(os.path.join(OUT, name)) / 1e6:.2f} MB')


def pad_mask(lengths, L):
    """Key padding mask from lengths, torch convention: True = padding (masked)."""
    m = torch.zeros(len(lengths), L, dtype=torch.bool)
    for b, n in enumerate(lengths):
        m[b, n:] = True
    return m


def causal_bool(L):
    """True = NOT allowed (key j > query i)."""
    return torch.ones(L, L, dtype=torch.bool).triu(1)


# ----------------------------------------------------------------------------------------------------------------
# positions (functions shared by positions.json, blocks.json)

def sinusoidal_table(length, dim, offset):
    pos = torch.arange(offset, offset + length, dtype=torch.float64)[:, None]
    pe = torch.zeros(length, dim, dtype=torch.float64)
    for c in range(dim):
        i2 = c - (c % 2)  # 2i
        ang = pos[:, 0] / (10000.0 ** (i2 / dim))
        pe[:, c] = torch.sin(ang) if c % 2 == 0 else torch.cos(ang)
    return pe


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rope(x, offset=0, base=10000.0):
    """HF LLaMA convention on x [..., L, d]; positions offset + arange(L)."""
    L, d = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=x.dtype) / d))
    pos = torch.arange(offset, offset + L, dtype=x.dtype)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def alibi_slopes(n):
    def pow2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    closest = 2 ** math.floor(math.log2(n))
    return pow2(closest) + alibi_slopes(2 * closest)[0::2][:n - closest]


def alibi_bias(n_heads, lq, lk, offset, causal, dtype=torch.float64):
    slopes = torch.tensor(alibi_slopes(n_heads), dtype=dtype)
    qpos = torch.arange(offset, offset + lq, dtype=dtype)
    kpos = torch.arange(lk, dtype=dtype)
    rel = qpos[:, None] - kpos[None, :]
    if not causal:
        rel = rel.abs()
    return -slopes[:, None, None] * rel[None]


def t5_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """HF T5Attention._relative_position_bucket."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def t5_bias(weight, lq, lk, offset, bidirectional, max_distance):
    """weight [num_buckets, H] -> bias [1, H, lq, lk]; relative_position = kpos - qpos."""
    qpos = torch.arange(offset, offset + lq, dtype=torch.long)[:, None]
    kpos = torch.arange(lk, dtype=torch.long)[None, :]
    buckets = t5_bucket(kpos - qpos, bidirectional, weight.shape[0], max_distance)
    return weight[buckets].permute(2, 0, 1).unsqueeze(0)


# ----------------------------------------------------------------------------------------------------------------
# 1. torch-layers.json

def perturb_torch_module(m):
    """torch's default init leaves biases 0 and norms 1/0: randomise them so a loader bug shows."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            owner = name.split('.')[-2] if '.' in name else ''
            if owner.startswith('norm'):
                if name.endswith('weight'):
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                else:
                    p.copy_(0.2 * torch.randn_like(p))
            elif name.endswith('bias'):
                p.uniform_(-0.5, 0.5)


def random_src_mask(S, min_len, rng):
    """Arbitrary bool [S, S] (True = NOT allowed); every row keeps >= 1 allowed key among the first min_len."""
    m = torch.rand(S, S) < 0.35
    for i in range(S):
        if m[i, :min_len].all():
            m[i, rng.randrange(min_len)] = False
    return m


def torch_layer_case(kind, rng):
    nhead = rng.randint(1, 4)
    head_dim = rng.randint(1, 6)
    d_model = nhead * head_dim
    cfg = {
        'dModel': d_model, 'nhead': nhead, 'dimFeedforward': rng.randint(1, 24),
        'activation': rng.choice(['relu', 'gelu']), 'normFirst': rng.random() < 0.5,
        'layerNormEps': rng.choice([1e-5, 1e-6]), 'dropout': 0.0, 'batchFirst': True,
    }
    kw = dict(d_model=d_model, nhead=nhead, dim_feedforward=cfg['dimFeedforward'], dropout=0.0,
              activation=cfg['activation'], layer_norm_eps=cfg['layerNormEps'], batch_first=True,
              norm_first=cfg['normFirst'])
    if kind == 'encoder_layer':
        m = nn.TransformerEncoderLayer(**kw)
    elif kind == 'decoder_layer':
        m = nn.TransformerDecoderLayer(**kw)
    else:
        cfg['numEncoderLayers'] = rng.randint(1, 2)
        cfg['numDecoderLayers'] = rng.randint(1, 2)
        m = nn.Transformer(num_encoder_layers=cfg['numEncoderLayers'], num_decoder_layers=cfg['numDecoderLayers'], **kw)
    perturb_torch_module(m)
    m.train()

    B, S, T = rng.randint(1, 3), rng.randint(1, 7), rng.randint(1, 7)
    has_src = kind in ('encoder_layer', 'transformer')
    has_tgt = kind in ('decoder_layer', 'transformer')
    masks = {'srcMask': None, 'tgtMask': None, 'srcKeyPaddingMask': None, 'tgtKeyPaddingMask': None,
             'memoryKeyPaddingMask': None}
    kwargs = {}
    src_lengths = tgt_lengths = None
    tgt_causal = False
    use_src_pad = has_src and rng.random() < 0.5
    use_mem_pad = has_tgt and rng.random() < 0.5
    if use_src_pad or use_mem_pad:
        src_lengths = [rng.randint(1, S) for _ in range(B)]
    if use_src_pad:
        masks['srcKeyPaddingMask'] = pad_mask(src_lengths, S)
        kwargs['src_key_padding_mask'] = masks['srcKeyPaddingMask']
    if use_mem_pad:
        masks['memoryKeyPaddingMask'] = pad_mask(src_lengths, S)
        kwargs['memory_key_padding_mask'] = masks['memoryKeyPaddingMask']
    if has_src and rng.random() < 0.35:
        masks['srcMask'] = random_src_mask(S, min(src_lengths) if use_src_pad else S, rng)
        kwargs['src_mask'] = masks['srcMask']
    if has_tgt:
        tgt_causal = rng.random() < 0.75
        if tgt_causal:
            kwargs['tgt_mask'] = nn.Transformer.generate_square_subsequent_mask(T)  # float, -inf above diagonal
            masks['tgtMask'] = causal_bool(T)
            assert torch.equal(kwargs['tgt_mask'] == NEG_INF, masks['tgtMask'])
        if rng.random() < 0.5:
            tgt_lengths = [rng.randint(1, T) for _ in range(B)]
            masks['tgtKeyPaddingMask'] = pad_mask(tgt_lengths, T)
            kwargs['tgt_key_padding_mask'] = masks['tgtKeyPaddingMask']

    if kind == 'encoder_layer':
        inputs = {'src': torch.randn(B, S, d_model, requires_grad=True)}
        out = m(inputs['src'], **kwargs)
    elif kind == 'decoder_layer':
        inputs = {'tgt': torch.randn(B, T, d_model, requires_grad=True),
                  'memory': torch.randn(B, S, d_model, requires_grad=True)}
        out = m(inputs['tgt'], inputs['memory'], **kwargs)
    else:
        inputs = {'src': torch.randn(B, S, d_model, requires_grad=True),
                  'tgt': torch.randn(B, T, d_model, requires_grad=True)}
        out = m(inputs['src'], inputs['tgt'], **kwargs)
    assert torch.isfinite(out).all(), 'NaN/inf in torch output'
    case = {'kind': kind, 'config': cfg, 'inputs': {k: t(v) for k, v in inputs.items()},
            'masks': {k: (None if v is None else t(v)) for k, v in masks.items()},
            'srcLengths': src_lengths, 'tgtLengths': tgt_lengths, 'tgtCausal': tgt_causal,
            'state': {n: t(p) for n, p in m.state_dict().items()}, 'output': t(out)}
    finish(case, out, inputs, list(m.named_parameters()))
    assert set(case['paramGrads']) == set(case['state']), 'every parameter should get a gradient'
    return case


def torch_layers():
    torch.manual_seed(1)
    rng = random.Random(1)
    cases = []
    for kind in ['encoder_layer', 'decoder_layer', 'transformer']:
        for _ in range(15):
            cases.append(torch_layer_case(kind, rng))
    write_json('torch-layers.json', {'cases': cases})
    return cases


# ----------------------------------------------------------------------------------------------------------------
# 4. blocks.json: our generic stack, by hand

def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


ACTS = {'relu': F.relu, 'gelu': F.gelu, 'gelu_tanh': gelu_tanh, 'silu': F.silu}
GATED = {'swiglu': F.silu, 'geglu': F.gelu}
T5_BUCKETS, T5_MAX_DISTANCE, ROPE_BASE = 8, 20, 10000.0


def norm_apply(cfg, p, prefix, x):
    w = p[prefix + '.weight']
    if cfg['norm'] == 'rmsnorm':
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg['normEps']) * w
    return F.layer_norm(x, (x.shape[-1],), w, p.get(prefix + '.bias'), cfg['normEps'])


def block_attention(cfg, p, pre, x, pos_bias, allowed):
    B, L, E = x.shape
    H, KV = cfg['nHeads'], cfg['nKVHeads']
    hd = E // H
    y = F.linear(x, p[pre + 'self_attn.in_proj_weight'], p.get(pre + 'self_attn.in_proj_bias'))
    q = y[..., :H * hd].reshape(B, L, H, hd).transpose(1, 2)
    k = y[..., H * hd:(H + KV) * hd].reshape(B, L, KV, hd).transpose(1, 2)
    v = y[..., (H + KV) * hd:].reshape(B, L, KV, hd).transpose(1, 2)
    if cfg['position'] == 'rope':
        q, k = rope(q, 0, ROPE_BASE), rope(k, 0, ROPE_BASE)
    k = k.repeat_interleave(H // KV, dim=1)  # query head h uses kv head h // (H / KV)
    v = v.repeat_interleave(H // KV, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if pos_bias is not None:
        s = s + pos_bias
    s = s.masked_fill(~allowed, NEG_INF)
    o = torch.softmax(s, -1) @ v
    o = o.transpose(1, 2).reshape(B, L, E)
    return F.linear(o, p[pre + 'self_attn.out_proj.weight'], p.get(pre + 'self_attn.out_proj.bias'))


def block_ff(cfg, p, pre, x):
    h = F.linear(x, p[pre + 'linear1.weight'], p.get(pre + 'linear1.bias'))
    act = cfg['activation']
    if act in GATED:
        Fd = cfg['dimFeedforward']
        h = h[..., :Fd] * GATED[act](h[..., Fd:])
    else:
        h = ACTS[act](h)
    return F.linear(h, p[pre + 'linear2.weight'], p.get(pre + 'linear2.bias'))


def block_allowed(cfg, B, L):
    """[B, 1, L, L] bool, True = may attend."""
    allowed = torch.ones(B, 1, L, L, dtype=torch.bool)
    if cfg['causal']:
        allowed = allowed & ~causal_bool(L)
    if cfg['lengths'] is not None:
        allowed = allowed & ~pad_mask(cfg['lengths'], L)[:, None, None, :]
    assert allowed.any(-1).all(), 'fully masked query row'
    return allowed


def block_stack(cfg, p, x):
    B, L, E = x.shape
    allowed = block_allowed(cfg, B, L)
    pos_bias = None
    if cfg['position'] == 'alibi':
        pos_bias = alibi_bias(cfg['nHeads'], L, L, 0, cfg['causal'], dtype=torch.float32)
    elif cfg['position'] == 't5':
        pos_bias = t5_bias(p['relative_attention_bias.weight'], L, L, 0, not cfg['causal'], T5_MAX_DISTANCE)
    for i in range(cfg['numLayers']):
        pre = f'layers.{i}.'
        if cfg['normFirst']:
            x = x + block_attention(cfg, p, pre, norm_apply(cfg, p, pre + 'norm1', x), pos_bias, allowed)
            x = x + block_ff(cfg, p, pre, norm_apply(cfg, p, pre + 'norm2', x))
        else:
            x = norm_apply(cfg, p, pre + 'norm1', x + block_attention(cfg, p, pre, x, pos_bias, allowed))
            x = norm_apply(cfg, p, pre + 'norm2', x + block_ff(cfg, p, pre, x))
    if cfg['finalNorm']:
        x = norm_apply(cfg, p, 'norm', x)
    return x


def block_params(cfg):
    """Ordered {name: tensor (leaf, requires_grad)}; std ~0.3 weights, norm weights ~1, biases ~0.3."""
    E, H, KV, Fd = cfg['dModel'], cfg['nHeads'], cfg['nKVHeads'], cfg['dimFeedforward']
    hd = E // H
    bias = cfg['bias']
    ff_out = 2 * Fd if cfg['activation'] in GATED else Fd
    p = {}

    def norm(prefix):
        p[prefix + '.weight'] = 1 + 0.2 * torch.randn(E)
        if cfg['norm'] == 'layernorm' and bias:
            p[prefix + '.bias'] = 0.2 * torch.randn(E)

    for i in range(cfg['numLayers']):
        pre = f'layers.{i}.'
        p[pre + 'self_attn.in_proj_weight'] = 0.3 * torch.randn((H + 2 * KV) * hd, E)
        if bias:
            p[pre + 'self_attn.in_proj_bias'] = 0.3 * torch.randn((H + 2 * KV) * hd)
        p[pre + 'self_attn.out_proj.weight'] = 0.3 * torch.randn(E, E)
        if bias:
            p[pre + 'self_attn.out_proj.bias'] = 0.3 * torch.randn(E)
        p[pre + 'linear1.weight'] = 0.3 * torch.randn(ff_out, E)
        if bias:
            p[pre + 'linear1.bias'] = 0.3 * torch.randn(ff_out)
        p[pre + 'linear2.weight'] = 0.3 * torch.randn(E, Fd)
        if bias:
            p[pre + 'linear2.bias'] = 0.3 * torch.randn(E)
        norm(pre + 'norm1')
        norm(pre + 'norm2')
    if cfg['finalNorm']:
        norm('norm')
    if cfg['position'] == 't5':
        p['relative_attention_bias.weight'] = 0.5 * torch.randn(T5_BUCKETS, H)
    return {k: v.requires_grad_() for k, v in p.items()}


def block_config(rng, kv_mode, position, act, norm):
    if kv_mode == 'mha':
        H = rng.randint(1, 4)
        KV = H
    elif kv_mode == 'mqa':
        H = rng.randint(2, 4)
        KV = 1
    else:
        H, KV = 4, 2
    hd = rng.choice([2, 4, 6])
    L = rng.randint(1, 7)
    B = rng.randint(1, 3)
    cfg = {'dModel': H * hd, 'nHeads': H, 'nKVHeads': KV, 'dimFeedforward': rng.randint(1, 16),
           'numLayers': rng.randint(1, 3), 'norm': norm, 'normEps': rng.choice([1e-5, 1e-6]),
           'normFirst': rng.random() < 0.5, 'activation': act, 'bias': rng.random() < 0.6,
           'finalNorm': rng.random() < 0.5, 'position': position, 'causal': rng.random() < 0.5,
           'lengths': [rng.randint(1, L) for _ in range(B)] if rng.random() < 0.5 else None}
    if position == 'rope':
        cfg['ropeBase'] = ROPE_BASE
    if position == 't5':
        cfg['numBuckets'] = T5_BUCKETS
        cfg['maxDistance'] = T5_MAX_DISTANCE
    return cfg, B, L


def check_stack_vs_torch(cfg, p, x):
    """position none + layernorm + relu/gelu + KV == H + bias: our stack == nn.TransformerEncoder."""
    layer = nn.TransformerEncoderLayer(cfg['dModel'], cfg['nHeads'], cfg['dimFeedforward'], dropout=0.0,
                                       activation=cfg['activation'], layer_norm_eps=cfg['normEps'],
                                       batch_first=True, norm_first=cfg['normFirst'])
    enc = nn.TransformerEncoder(layer, cfg['numLayers'],
                                nn.LayerNorm(cfg['dModel'], eps=cfg['normEps']) if cfg['finalNorm'] else None)
    enc.train()
    assert set(enc.state_dict()) == set(p), (sorted(enc.state_dict()), sorted(p))
    enc.load_state_dict({k: v.detach() for k, v in p.items()})
    kw = {}
    if cfg['causal']:
        kw['mask'] = causal_bool(x.shape[1])
    if cfg['lengths'] is not None:
        kw['src_key_padding_mask'] = pad_mask(cfg['lengths'], x.shape[1])
    x1 = x.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    ours = block_stack(cfg, p, x1)
    ref = enc(x2, **kw)
    close(ours, ref, 1e-5, 'stack vs nn.TransformerEncoder')
    up = torch.randn_like(ref)
    for v in p.values():
        v.grad = None
    (ours * up).sum().backward()
    ours_grads = {k: v.grad.clone() for k, v in p.items()}
    (ref * up).sum().backward()
    close(x1.grad, x2.grad, 1e-4, 'stack grad x')
    for k, v in enc.named_parameters():
        close(ours_grads[k], v.grad, 1e-4, f'stack grad {k}')
    for v in p.values():
        v.grad = None


def check_gqa_vs_expanded(cfg, p, x):
    """KV < H == MHA whose k/v rows are repeated per query head."""
    H, KV = cfg['nHeads'], cfg['nKVHeads']
    hd = cfg['dModel'] // H
    rep = H // KV
    q2 = {}
    for k, v in p.items():
        v = v.detach()
        if k.endswith('in_proj_weight') or k.endswith('in_proj_bias'):
            qp, kp, vp = v[:H * hd], v[H * hd:(H + KV) * hd], v[(H + KV) * hd:]
            expand = lambda a: a.reshape(KV, hd, *a.shape[1:]).repeat_interleave(rep, 0).reshape(H * hd, *a.shape[1:])
            v = torch.cat([qp, expand(kp), expand(vp)], 0)
        q2[k] = v
    c2 = dict(cfg, nKVHeads=H)
    with torch.no_grad():
        close(block_stack(cfg, p, x), block_stack(c2, q2, x), 1e-5, 'GQA vs expanded MHA')


def blocks():
    torch.manual_seed(4)
    rng = random.Random(4)
    # standalone cross-checks against torch's encoder (not stored)
    for i in range(12):
        H = rng.randint(1, 4)
        cfg = {'dModel': H * rng.randint(1, 5), 'nHeads': H, 'nKVHeads': H, 'dimFeedforward': rng.randint(1, 16),
               'numLayers': rng.randint(1, 3), 'norm': 'layernorm', 'normEps': rng.choice([1e-5, 1e-6]),
               'normFirst': i % 2 == 0, 'activation': ['relu', 'gelu'][(i // 2) % 2], 'bias': True,
               'finalNorm': (i // 4) % 2 == 0, 'position': 'none', 'causal': rng.random() < 0.5, 'lengths': None}
        B, L = rng.randint(1, 3), rng.randint(1, 7)
        if rng.random() < 0.6:
            cfg['lengths'] = [rng.randint(1, L) for _ in range(B)]
        check_stack_vs_torch(cfg, block_params(cfg), torch.randn(B, L, cfg['dModel']))

    N = 36
    kv_modes = ['mha', 'mqa', 'gqa'] * (N // 3)
    positions = ['none', 'rope', 'alibi', 't5'] * (N // 4)
    acts = ['relu', 'gelu', 'gelu_tanh', 'silu', 'swiglu', 'geglu'] * (N // 6)
    norms = ['layernorm', 'rmsnorm'] * (N // 2)
    for lst in (kv_modes, positions, acts, norms):
        rng.shuffle(lst)
    cases = []
    n_torch_checked = n_gqa_checked = 0
    for i in range(N):
        cfg, B, L = block_config(rng, kv_modes[i], positions[i], acts[i], norms[i])
        p = block_params(cfg)
        x = torch.randn(B, L, cfg['dModel'], requires_grad=True)
        if (cfg['position'] == 'none' and cfg['norm'] == 'layernorm' and cfg['activation'] in ('relu', 'gelu')
                and cfg['nKVHeads'] == cfg['nHeads'] and cfg['bias']):
            check_stack_vs_torch(cfg, p, x)
            n_torch_checked += 1
        if cfg['nKVHeads'] < cfg['nHeads']:
            check_gqa_vs_expanded(cfg, p, x)
            n_gqa_checked += 1
        out = block_stack(cfg, p, x)
        assert torch.isfinite(out).all()
        case = {'config': cfg, 'x': t(x), 'state': {k: t(v) for k, v in p.items()}, 'output': t(out)}
        finish(case, out, {'x': x}, list(p.items()))
        assert set(case['paramGrads']) == set(case['state'])
        cases.append(case)
    print(f'blocks: {n_torch_checked} sweep cases checked against nn.TransformerEncoder, {n_gqa_checked} GQA/MQA '
          f'cases against expanded MHA')
    write_json('blocks.json', {'cases': cases})
    return cases


# ----------------------------------------------------------------------------------------------------------------
# 2. gpt2.json + gpt2.safetensors

GPT2 = {'vocabSize': 50, 'nPositions': 16, 'nEmbd': 32, 'nHead': 4, 'nLayer': 2, 'layerNormEps': 1e-5}


def gpt2_params():
    V, P, E, NL = GPT2['vocabSize'], GPT2['nPositions'], GPT2['nEmbd'], GPT2['nLayer']
    std, proj_std = 0.02, 0.02 / math.sqrt(2 * NL)
    p = {'transformer.wte.weight': std * torch.randn(V, E), 'transformer.wpe.weight': std * torch.randn(P, E)}

    def ln(name):  # perturbed so a loader bug in them shows
        p[name + '.weight'] = 1 + 0.1 * torch.randn(E)
        p[name + '.bias'] = 0.05 * torch.randn(E)

    def bias(n):  # zero init, then perturbed
        return torch.zeros(n) + 0.02 * torch.randn(n)

    for i in range(NL):
        h = f'transformer.h.{i}.'
        ln(h + 'ln_1')
        p[h + 'attn.c_attn.weight'] = std * torch.randn(E, 3 * E)
        p[h + 'attn.c_attn.bias'] = bias(3 * E)
        p[h + 'attn.c_proj.weight'] = proj_std * torch.randn(E, E)
        p[h + 'attn.c_proj.bias'] = bias(E)
        ln(h + 'ln_2')
        p[h + 'mlp.c_fc.weight'] = std * torch.randn(E, 4 * E)
        p[h + 'mlp.c_fc.bias'] = bias(4 * E)
        p[h + 'mlp.c_proj.weight'] = proj_std * torch.randn(4 * E, E)
        p[h + 'mlp.c_proj.bias'] = bias(E)
    ln('transformer.ln_f')
    p = {k: v.requires_grad_() for k, v in p.items()}
    p['lm_head.weight'] = p['transformer.wte.weight']  # tied
    return p


def gpt2_hidden_in(p, tokens):
    T = tokens.shape[1]
    return p['transformer.wte.weight'][tokens] + p['transformer.wpe.weight'][torch.arange(T)][None]


def gpt2_forward(p, tokens, return_final_hidden=False):
    E, H, eps = GPT2['nEmbd'], GPT2['nHead'], GPT2['layerNormEps']
    B, T = tokens.shape
    hd = E // H
    x = gpt2_hidden_in(p, tokens)
    future = causal_bool(T)
    for i in range(GPT2['nLayer']):
        h = f'transformer.h.{i}.'
        a = F.layer_norm(x, (E,), p[h + 'ln_1.weight'], p[h + 'ln_1.bias'], eps)
        qkv = a @ p[h + 'attn.c_attn.weight'] + p[h + 'attn.c_attn.bias']  # Conv1D
        q, k, v = qkv.split(E, dim=-1)
        q, k, v = (z.reshape(B, T, H, hd).transpose(1, 2) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(future, NEG_INF)
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, E)
        x = x + (o @ p[h + 'attn.c_proj.weight'] + p[h + 'attn.c_proj.bias'])
        m = F.layer_norm(x, (E,), p[h + 'ln_2.weight'], p[h + 'ln_2.bias'], eps)
        m = gelu_tanh(m @ p[h + 'mlp.c_fc.weight'] + p[h + 'mlp.c_fc.bias'])
        x = x + (m @ p[h + 'mlp.c_proj.weight'] + p[h + 'mlp.c_proj.bias'])
    x = F.layer_norm(x, (E,), p['transformer.ln_f.weight'], p['transformer.ln_f.bias'], eps)
    logits = x @ p['lm_head.weight'].t()
    return (logits, x) if return_final_hidden else logits


def gpt2_loss(logits, tokens):
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))


def write_safetensors(path, tensors):
    names = sorted(tensors)
    header = {'__metadata__': {'format': 'pt'}}
    blobs, off = [], 0
    for n in names:
        a = tensors[n].detach().contiguous().to(torch.float32).numpy().astype('<f4')
        b = a.tobytes()
        header[n] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hb = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hb += b' ' * ((-len(hb)) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    import numpy as np
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    assert n % 8 == 0
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        b, e = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype='<f4').copy()).reshape(v['shape'])
    assert max(v['data_offsets'][1] for k, v in header.items() if k != '__metadata__') == len(data)
    return out


def gpt2():
    torch.manual_seed(2)
    p = gpt2_params()
    V, E = GPT2['vocabSize'], GPT2['nEmbd']

    # gelu_new == torch's tanh-approximate gelu
    z = torch.linspace(-6, 6, 101)
    close(gelu_tanh(z), F.gelu(z, approximate='tanh'), 1e-6, 'gelu_new')

    tokens = torch.randint(0, V, (2, 12))
    logits = gpt2_forward(p, tokens)
    loss = gpt2_loss(logits, tokens)
    loss.backward()
    grad_names = ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight',
                  'transformer.h.1.mlp.c_fc.bias', 'transformer.ln_f.weight']
    grads = {n: p[n].grad.clone() for n in grad_names}

    with torch.no_grad():
        # causality: logits at positions <= t do not depend on tokens after t
        for tpos in [0, 3, 7, 10]:
            t2 = tokens.clone()
            t2[:, tpos + 1:] = torch.randint(0, V, t2[:, tpos + 1:].shape)
            assert not torch.equal(t2, tokens) or tpos == 11
            close(gpt2_forward(p, t2)[:, :tpos + 1], logits[:, :tpos + 1], 1e-6, f'GPT-2 causality t={tpos}')
        t3 = tokens.clone()
        t3[:, 5] = (t3[:, 5] + 1) % V
        assert (gpt2_forward(p, t3)[:, 5:] - logits[:, 5:]).abs().max() > 1e-4, 'later positions must change'
        # GPT-2 == our generic stack (pre-norm, layernorm, gelu_tanh, KV = H, bias, final norm, causal)
        cfg = {'dModel': E, 'nHeads': GPT2['nHead'], 'nKVHeads': GPT2['nHead'], 'dimFeedforward': 4 * E,
               'numLayers': GPT2['nLayer'], 'norm': 'layernorm', 'normEps': GPT2['layerNormEps'], 'normFirst': True,
               'activation': 'gelu_tanh', 'bias': True, 'finalNorm': True, 'position': 'none', 'causal': True,
               'lengths': None}
        sp = {}
        for i in range(GPT2['nLayer']):
            h, pre = f'transformer.h.{i}.', f'layers.{i}.'
            sp[pre + 'self_attn.in_proj_weight'] = p[h + 'attn.c_attn.weight'].t()
            sp[pre + 'self_attn.in_proj_bias'] = p[h + 'attn.c_attn.bias']
            sp[pre + 'self_attn.out_proj.weight'] = p[h + 'attn.c_proj.weight'].t()
            sp[pre + 'self_attn.out_proj.bias'] = p[h + 'attn.c_proj.bias']
            sp[pre + 'linear1.weight'] = p[h + 'mlp.c_fc.weight'].t()
            sp[pre + 'linear1.bias'] = p[h + 'mlp.c_fc.bias']
            sp[pre + 'linear2.weight'] = p[h + 'mlp.c_proj.weight'].t()
            sp[pre + 'linear2.bias'] = p[h + 'mlp.c_proj.bias']
            for a, b in [('ln_1', 'norm1'), ('ln_2', 'norm2')]:
                sp[pre + b + '.weight'] = p[h + a + '.weight']
                sp[pre + b + '.bias'] = p[h + a + '.bias']
        sp['norm.weight'] = p['transformer.ln_f.weight']
        sp['norm.bias'] = p['transformer.ln_f.bias']
        _, hidden = gpt2_forward(p, tokens, return_final_hidden=True)
        close(block_stack(cfg, sp, gpt2_hidden_in(p, tokens)), hidden, 1e-5, 'GPT-2 vs generic stack')

        tokens_full = torch.randint(0, V, (1, GPT2['nPositions']))
        logits_full = gpt2_forward(p, tokens_full)
        loss_full = gpt2_loss(logits_full, tokens_full)

    state = {k: v.detach().clone() for k, v in p.items()}  # lm_head.weight its own copy of wte
    path = os.path.join(OUT, 'gpt2.safetensors')
    write_safetensors(path, state)
    back = read_safetensors(path)
    assert set(back) == set(state)
    for k in state:
        assert torch.equal(back[k], state[k]), k
    print(f'gpt2.safetensors: {os.path.getsize(path) / 1e6:.2f} MB, {len(state)} tensors')
    for n, g in grads.items():
        print(f'  grad {n}: max |g| = {g.abs().max().item():.3g}')

    write_json('gpt2.json', {
        'config': GPT2, 'weights': 'gpt2.safetensors',
        'tokens': t(tokens.to(torch.int32)), 'logits': t(logits), 'loss': round(loss.item(), 7),
        'grads': {n: t(g) for n, g in grads.items()},
        'full': {'tokens': t(tokens_full.to(torch.int32)), 'logits': t(logits_full), 'loss': round(loss_full.item(), 7)},
    })


# ----------------------------------------------------------------------------------------------------------------
# 3. positions.json

def positions():
    torch.manual_seed(3)
    rng = random.Random(3)

    # sinusoidal
    sin_cases = []
    for length, dim, offset in [(8, 16, 0), (5, 7, 0), (4, 6, 3), (3, 1, 2), (6, 9, 11), (10, 33, 7), (1, 4, 100)]:
        table = sinusoidal_table(length, dim, offset)
        if dim % 2 == 0:  # the classic PyTorch-tutorial formulation
            pos = torch.arange(offset, offset + length, dtype=torch.float64)[:, None]
            div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
            ref = torch.zeros(length, dim, dtype=torch.float64)
            ref[:, 0::2] = torch.sin(pos * div)
            ref[:, 1::2] = torch.cos(pos * div)
            close(table, ref, 1e-9, 'sinusoidal')
        sin_cases.append({'length': length, 'dim': dim, 'offset': offset, 'table': t(table)})

    # rope (computed in float64 from float32 inputs)
    rope_cases = []
    for d, offset, base in [(2, 0, 10000.0), (2, 5, 10000.0), (4, 0, 10000.0), (4, 5, 10000.0), (8, 0, 10000.0),
                            (8, 5, 10000.0), (8, 5, 500.0)]:
        B, H, L = rng.randint(1, 2), rng.randint(1, 3), rng.randint(2, 6)
        x = torch.randn(B, H, L, d).double().requires_grad_()
        out = rope(x, offset, base)
        # independent check: rotate each pair (i, i + d/2) by angle pos * base^(-2i/d)
        ref = torch.empty_like(out)
        for i in range(d // 2):
            ang = torch.arange(offset, offset + L, dtype=torch.float64) * base ** (-2 * i / d)
            a, b = x[..., i].detach(), x[..., i + d // 2].detach()
            ref[..., i] = a * ang.cos() - b * ang.sin()
            ref[..., i + d // 2] = b * ang.cos() + a * ang.sin()
        close(out.detach(), ref, 1e-12, 'rope')
        case = {'base': base, 'offset': offset, 'x': t(x), 'out': t(out)}
        rope_cases.append(finish(case, out, {'x': x}))

    # alibi
    expected8 = [2.0 ** -(i + 1) for i in range(8)]
    assert all(abs(a - b) < 1e-15 for a, b in zip(alibi_slopes(8), expected8))
    expected12 = expected8 + [2.0 ** -(i + 0.5) for i in range(4)]
    assert all(abs(a - b) < 1e-15 for a, b in zip(alibi_slopes(12), expected12))
    slopes = [{'nHeads': n, 'slopes': alibi_slopes(n)} for n in list(range(1, 13)) + [16]]
    alibi_cases = []
    for n_heads, lq, lk, offset in [(1, 3, 3, 0), (4, 5, 5, 0), (3, 2, 6, 4), (6, 1, 7, 6), (8, 4, 4, 0), (12, 3, 5, 2)]:
        alibi_cases.append({'nHeads': n_heads, 'lq': lq, 'lk': lk, 'offset': offset,
                            'causal': t(alibi_bias(n_heads, lq, lk, offset, True)),
                            'bidirectional': t(alibi_bias(n_heads, lq, lk, offset, False))})

    # t5
    rel = torch.arange(-140, 141, dtype=torch.long)
    bucket_cases = []
    for bidirectional, nb, md in [(True, 32, 128), (False, 32, 128), (True, 8, 20), (False, 8, 20)]:
        b = t5_bucket(rel, bidirectional, nb, md)
        assert int(b.min()) >= 0 and int(b.max()) < nb
        bucket_cases.append({'bidirectional': bidirectional, 'numBuckets': nb, 'maxDistance': md,
                             'relativePositions': rel.tolist(), 'buckets': b.tolist()})
    b = dict(zip(rel.tolist(), t5_bucket(rel, True, 32, 128).tolist()))
    assert (b[0], b[-1], b[1], b[-7], b[-8], b[7], b[-128], b[-140], b[140]) == (0, 1, 17, 7, 8, 23, 15, 15, 31), b
    b = dict(zip(rel.tolist(), t5_bucket(rel, False, 32, 128).tolist()))
    assert (b[0], b[5], b[-1], b[-15], b[-16], b[-140]) == (0, 0, 1, 15, 16, 31), b
    bias_cases = []
    for bidirectional, nb, md, H, lq, lk, offset in [(True, 32, 128, 2, 4, 5, 0), (False, 32, 128, 3, 6, 6, 0),
                                                     (True, 8, 20, 2, 3, 30, 0), (False, 8, 20, 4, 1, 40, 39),
                                                     (False, 8, 20, 1, 3, 25, 22), (True, 32, 128, 1, 2, 150, 70)]:
        w = torch.randn(nb, H)
        bias = t5_bias(w, lq, lk, offset, bidirectional, md)
        assert list(bias.shape) == [1, H, lq, lk]
        bias_cases.append({'bidirectional': bidirectional, 'numBuckets': nb, 'maxDistance': md, 'nHeads': H,
                           'lq': lq, 'lk': lk, 'offset': offset, 'weight': t(w), 'bias': t(bias)})

    write_json('positions.json', {
        'sinusoidal': sin_cases, 'rope': rope_cases,
        'alibi': {'slopes': slopes, 'cases': alibi_cases},
        't5': {'buckets': bucket_cases, 'bias': bias_cases},
    })


def main():
    os.makedirs(OUT, exist_ok=True)
    positions()
    gpt2()
    blocks()
    torch_layers()


if __name__ == '__main__':
    main()
