#!/usr/bin/python3
"""The training step of bench.mjs in PyTorch: nanoGPT's CPU model (4 layers, 4 heads, width 128, context
64, batch 12, AdamW betas (0.9, 0.99), weight decay 0.1, clip 1.0), median of N timed steps after two
warm-up steps. Prints one JSON line: {"ms", "torch", "threads", "blas"}. Run: /usr/bin/python3 torch_gpt_step.py 8
"""
import json
import math
import os
import sys
import time

# Spinning OpenMP/OpenBLAS worker threads starve each other on 2 shared cores (measured: 2 threads ran
# ~15x slower than 1): passive waiting and one BLAS thread, unless the environment says otherwise.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

V, T, L, H, E, B = 65, 64, 4, 4, 128, 12


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(E)
        self.c_attn = nn.Linear(E, 3 * E)
        self.c_proj = nn.Linear(E, E)
        self.ln_2 = nn.LayerNorm(E)
        self.c_fc = nn.Linear(E, 4 * E)
        self.mlp_proj = nn.Linear(4 * E, E)
        self.register_buffer('mask', torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(E, dim=2)
        q, k, v = (z.view(b, t, H, E // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(E // H)
        att = att.masked_fill(~self.mask[:t, :t], float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, E)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, E)
        self.wpe = nn.Embedding(T, E)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(E)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = GPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}], lr=1e-3, betas=(0.9, 0.99))
    times = []
    for i in range(steps + 2):
        x = torch.randint(0, V, (B, T + 1))
        t0 = time.perf_counter()
        loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    # Debian's torch links the system BLAS: report what is actually loaded (OpenBLAS when installed).
    with open('/proc/self/maps') as maps:
        blas = 'OpenBLAS' if 'openblas' in maps.read().lower() else 'reference BLAS'
    print(json.dumps({'ms': times[len(times) // 2], 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas}))


if __name__ == '__main__':
    main()
