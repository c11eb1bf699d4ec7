#!/usr/bin/python3
"""Writes PyTorch reference values for @dl/transformer's RNNEncoderDecoder into
packages/transformer/fixtures/rnn-seq2seq.json.

Run with Debian's torch:  /usr/bin/python3 packages/transformer/scripts/rnn_seq2seq_fixtures.py
Tests read the file and never need Python. Seeded, so reruns are byte-identical.

The model is written here in torch from nn.LSTM / nn.GRU, nn.Linear and nn.Embedding, under the parameter names
RNNEncoderDecoder documents: a bidirectional encoder over packed (padded) sources, the bridge
s0 = tanh(W_s [h_fwd_last; h_bwd_first] + b), a decoder fed [emb(y_{t-1}); ctx_{t-1}] (input feeding, Luong et al.
2015), Bahdanau et al. 2015's additive score w^T tanh(W s_t + U h_j + b) softmaxed over real positions, and
logits = generator(tanh(combine([s_t; ctx_t]))). Cases: an LSTM with one layer each side, a GRU with two. Each
case stores inputs, the state_dict, teacher-forced logits and attention, the label-smoothed loss (padding
ignored) and the gradient of that loss for every parameter.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.set_default_dtype(torch.float32)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
PAD = 0


def t(x):
    x = x.detach()
    if x.dtype in (torch.int64, torch.int32):
        return {'shape': list(x.shape), 'dtype': 'int32', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    return {'shape': list(x.shape), 'dtype': 'float32', 'data': [round(float(v), 7) for v in x.float().reshape(-1).tolist()]}


class Attention(nn.Module):
    def __init__(self, qdim, kdim, hidden):
        super().__init__()
        self.q_proj = nn.Linear(qdim, hidden, bias=False)
        self.k_proj = nn.Linear(kdim, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)


class Seq2seq(nn.Module):
    def __init__(self, cell, vs, vt, e, he, hd, a, le, ld):
        super().__init__()
        rnn = nn.LSTM if cell == 'lstm' else nn.GRU
        self.cell, self.ld, self.hd, self.he = cell, ld, hd, he
        self.src_tok_emb = nn.Embedding(vs, e, padding_idx=PAD)
        self.tgt_tok_emb = nn.Embedding(vt, e, padding_idx=PAD)
        self.encoder = rnn(e, he, num_layers=le, bidirectional=True, batch_first=True)
        self.bridge = nn.Linear(2 * he, ld * hd)
        self.decoder = rnn(e + 2 * he, hd, num_layers=ld, batch_first=True)
        self.attention = Attention(hd, 2 * he, a)
        self.combine = nn.Linear(hd + 2 * he, hd)
        self.generator = nn.Linear(hd, vt)

    def forward(self, src, lengths, tgt_in):
        B, Ls = src.shape
        packed = pack_padded_sequence(self.src_tok_emb(src), lengths, batch_first=True, enforce_sorted=False)
        out, state = self.encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=Ls)  # [B, Ls, 2He]
        h_enc = state[0] if self.cell == 'lstm' else state
        both = torch.cat([h_enc[-2], h_enc[-1]], dim=1)  # [B, 2He]
        h = torch.tanh(self.bridge(both)).reshape(B, self.ld, self.hd).transpose(0, 1).contiguous()
        c = torch.zeros_like(h)
        ctx = torch.zeros(B, 2 * self.he)
        keys = self.attention.k_proj(memory)  # [B, Ls, A]
        mask = torch.arange(Ls)[None, :] < lengths[:, None]  # [B, Ls]
        emb = self.tgt_tok_emb(tgt_in)
        logits, weights = [], []
        for i in range(tgt_in.shape[1]):
            x = torch.cat([emb[:, i], ctx], dim=1)[:, None]  # [B, 1, E + 2He]
            if self.cell == 'lstm':
                o, (h, c) = self.decoder(x, (h, c))
            else:
                o, h = self.decoder(x, h)
            s = o[:, 0]  # [B, Hd]
            e = self.attention.score(torch.tanh(keys + self.attention.q_proj(s)[:, None])).squeeze(2)  # [B, Ls]
            alpha = torch.softmax(e.masked_fill(~mask, float('-inf')), dim=1)
            ctx = torch.bmm(alpha[:, None], memory)[:, 0]  # [B, 2He]
            logits.append(self.generator(torch.tanh(self.combine(torch.cat([s, ctx], dim=1)))))
            weights.append(alpha)
        return torch.stack(logits, 1), torch.stack(weights, 1)


def case(cell, le, ld, seed):
    torch.manual_seed(seed)
    vs, vt, e, he, hd, a = 9, 8, 5, 4, 6, 5
    model = Seq2seq(cell, vs, vt, e, he, hd, a, le, ld)
    lengths = torch.tensor([5, 3, 1])
    src = torch.randint(3, vs, (3, 5))
    for b, n in enumerate(lengths.tolist()):
        src[b, n:] = PAD
    tgt_len = [4, 2, 3]
    tgt = torch.randint(3, vt, (3, 4))
    tgt_in = torch.full((3, 4), PAD)
    tgt_out = torch.full((3, 4), PAD)
    for b, n in enumerate(tgt_len):
        tgt_in[b, 0] = 1
        tgt_in[b, 1:n] = tgt[b, : n - 1]
        tgt_out[b, : n - 1] = tgt[b, : n - 1]
        tgt_out[b, n - 1] = 2
    logits, attention = model(src, lengths, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, vt), tgt_out.reshape(-1), ignore_index=PAD, label_smoothing=0.1)
    loss.backward()
    return {
        'config': {'srcVocabSize': vs, 'tgtVocabSize': vt, 'embeddingDim': e, 'hiddenSize': he, 'decoderHiddenSize': hd,
                   'attentionSize': a, 'numEncoderLayers': le, 'numDecoderLayers': ld, 'cell': cell, 'padId': PAD},
        'src': t(src), 'lengths': lengths.tolist(), 'tgtIn': t(tgt_in), 'tgtOut': t(tgt_out),
        'state': {k: t(v) for k, v in model.state_dict().items()},
        'logits': t(logits), 'attention': t(attention), 'loss': round(float(loss), 7),
        'grads': {k: t(p.grad) for k, p in model.named_parameters()},
    }


def main():
    out = {'torch': torch.__version__, 'cases': [case('lstm', 1, 1, 0), case('gru', 2, 2, 1)]}
    with open(os.path.join(OUT, 'rnn-seq2seq.json'), 'w') as f:
        json.dump(out, f)
        f.write('\n')


if __name__ == '__main__':
    main()
