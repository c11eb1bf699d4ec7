#!/usr/bin/python3
"""Loads every .pt file in DIR (written by @dl's encodeTorchStateDict, see torch-pt-roundtrip.mjs) with
torch.load and checks it against DIR/expected.json: an OrderedDict with the same names in the same order,
dtypes float32/int32/bool, shapes and values (bit for bit). modules.pt also loads into torch's Linear,
LayerNorm and BatchNorm1d with load_state_dict(strict=True).

    /usr/bin/python3 packages/core/scripts/verify_torch_pt.py DIR
"""
import collections
import json
import os
import sys

import torch
import torch.nn as nn

DTYPES = {'float32': torch.float32, 'int32': torch.int32, 'bool': torch.bool}


def main(folder):
    with open(os.path.join(folder, 'expected.json')) as f:
        expected = json.load(f)
    tensors = 0
    for file, want in expected.items():
        got = torch.load(os.path.join(folder, file), weights_only=True)
        assert isinstance(got, collections.OrderedDict), f'{file}: {type(got)}'
        assert list(got) == list(want), f'{file}: names {list(got)} != {list(want)}'
        for name, w in want.items():
            t = got[name]
            ref = torch.tensor(w['data'], dtype=DTYPES[w['dtype']]).reshape(w['shape'])
            assert t.dtype == ref.dtype and t.shape == ref.shape, f'{file} {name}: {t.dtype} {list(t.shape)} != {ref.dtype} {w["shape"]}'
            assert torch.equal(t, ref), f'{file} {name}: values differ'
            tensors += 1
        if file == 'modules.pt':
            modules = nn.ModuleDict({'fc': nn.Linear(4, 3), 'ln': nn.LayerNorm(3), 'bn': nn.BatchNorm1d(3)})
            modules.load_state_dict(got, strict=True)
            assert modules['bn'].num_batches_tracked.dtype == torch.int64
    print(f'torch {torch.__version__} read {len(expected)} files, {tensors} tensors: names, order, dtypes, shapes and values all equal')


if __name__ == '__main__':
    main(sys.argv[1])
