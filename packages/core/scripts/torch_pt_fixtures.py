#!/usr/bin/python3
"""Writes torch.save files and the values they hold into packages/core/fixtures/torch/, for the tests of
decodeTorchStateDict (test/torch-checkpoint.test.ts). Tests read the files and never need Python.

Run with Debian's torch:  /usr/bin/python3 packages/core/scripts/torch_pt_fixtures.py
Seeded, so reruns give the same bytes, except legacy.pt (the old format keys storages by object id) and
torchscript.pt (TorchScript's debug records differ per run); only their rejection is tested.
torch 1.13 names each archive's top folder after the file (plain.pt → plain/data.pkl).

  plain.pt      float32 tensors: a matrix, a scalar, an empty [0, 4], a vector
  dtypes.pt     float64, float16 (inf, subnormal), bfloat16, int64 (at the int32 limits), int32, int16,
                int8, uint8, bool
  views.pt      strided views saved as views: a transpose, a slice with a storage offset and a step,
                two tensors sharing one storage, a stride-0 expand
  modules.pt    an nn.Module's state_dict: Embedding, Linear, LayerNorm, BatchNorm1d after a training step
                (running stats, num_batches_tracked int64), with the _metadata attribute torch adds
  parameters.pt nn.Parameter objects (named_parameters), pickled through torch._utils._rebuild_parameter
  nested.pt     a training checkpoint {'model': state_dict, 'epoch': 3, 'optimizer': SGD state_dict}
  int64-range.pt an int64 value 2**31, which int32 cannot hold
  legacy.pt     _use_new_zipfile_serialization=False (the pre-1.6 format, rejected with a clear message)
  deflated.pt   plain.pt re-zipped with deflate (rejected: torch.save stores its records)
  torchscript.pt torch.jit.save of a scripted nn.Linear (rejected: a TorchScript archive, not a state_dict)
  whole-model.pt torch.save(model) instead of its state_dict (rejected: the pickle names the module's class)
  expected.json every readable file's tensors as {shape, dtype, data} in @dl's dtypes (float32 values
                exact, as the float32 they become)
"""
import collections
import json
import os
import zipfile

# Debian's torch picks an OpenBLAS kernel per CPU; pin one so that reruns give the same bytes anywhere.
os.environ.setdefault('OPENBLAS_CORETYPE', 'Sandybridge')

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'torch')


def expect(x):
    """A tensor as @dl decodes it: floats → float32, integers → int32, bool → bool."""
    x = x.detach()
    if x.dtype == torch.bool:
        return {'shape': list(x.shape), 'dtype': 'bool', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    if not x.is_floating_point():
        return {'shape': list(x.shape), 'dtype': 'int32', 'data': [int(v) for v in x.reshape(-1).tolist()]}
    return {'shape': list(x.shape), 'dtype': 'float32', 'data': [float(v) for v in x.float().reshape(-1).tolist()]}


def finite(data):
    # JSON has no inf/nan: store them as strings the test turns back into numbers.
    return [v if v == v and abs(v) != float('inf') else str(v) for v in data]


def save(name, obj, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    back = torch.load(path)
    assert type(back) is type(obj)
    print(f'{name}: {os.path.getsize(path)} bytes')
    return path


def flat(obj, prefix=''):
    out = collections.OrderedDict()
    for k, v in obj.items():
        name = f'{prefix}.{k}' if prefix else str(k)
        if isinstance(v, torch.Tensor):
            out[name] = v
        elif isinstance(v, dict):
            out.update(flat(v, name))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}

    plain = collections.OrderedDict([
        ('matrix', torch.randn(2, 3)),
        ('scalar', torch.tensor(3.25)),
        ('empty', torch.zeros(0, 4)),
        ('vector', torch.randn(5)),
    ])
    save('plain.pt', plain)
    expected['plain.pt'] = {k: expect(v) for k, v in plain.items()}

    dtypes = collections.OrderedDict([
        ('f64', torch.tensor([1.0 / 3, -2.5e-8, 1e30], dtype=torch.float64)),
        ('f16', torch.tensor([1.5, -0.0999, 65504, float('inf'), 5.96e-8, 0], dtype=torch.float16)),
        ('bf16', torch.tensor([[1.0, -3.140625], [1e-20, 3e38]], dtype=torch.bfloat16)),
        ('i64', torch.tensor([0, -1, 2**31 - 1, -2**31, 12345], dtype=torch.int64)),
        ('i32', torch.tensor([[7, -8], [2**31 - 1, -2**31]], dtype=torch.int32)),
        ('i16', torch.tensor([-32768, 32767, 5], dtype=torch.int16)),
        ('i8', torch.tensor([-128, 127, -1], dtype=torch.int8)),
        ('u8', torch.tensor([0, 255, 128], dtype=torch.uint8)),
        ('bool', torch.tensor([[True, False, True]], dtype=torch.bool)),
    ])
    save('dtypes.pt', dtypes)
    expected['dtypes.pt'] = {k: expect(v) for k, v in dtypes.items()}
    expected['dtypes.pt']['f16']['data'] = finite(expected['dtypes.pt']['f16']['data'])

    base = torch.randn(4, 6)
    row = torch.arange(3, dtype=torch.float32)
    views = collections.OrderedDict([
        ('transposed', base.t()),                 # stride (1, 6)
        ('sliced', base[1:, ::2]),                # offset 6, stride (6, 2)
        ('base', base),                           # shares its storage with both views above
        ('column', base[:, 5]),                   # offset 5, stride (6,)
        ('expanded', row.expand(2, 3)),           # stride (0, 1)
        ('cube', torch.randn(2, 3, 4).permute(2, 0, 1)),
    ])
    assert not views['transposed'].is_contiguous() and views['sliced'].storage_offset() == 6
    save('views.pt', views)
    expected['views.pt'] = {k: expect(v) for k, v in views.items()}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.fc = nn.Linear(4, 3)
            self.ln = nn.LayerNorm(3)
            self.bn = nn.BatchNorm1d(3)

        def forward(self, ids):
            return self.bn(self.ln(self.fc(self.emb(ids))))

    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.train()
    loss = net(torch.randint(0, 10, (8,))).pow(2).sum()
    loss.backward()
    opt.step()
    state = net.state_dict()
    assert hasattr(state, '_metadata') and state['bn.num_batches_tracked'].dtype == torch.int64
    save('modules.pt', state)
    expected['modules.pt'] = {k: expect(v) for k, v in state.items()}

    params = collections.OrderedDict(net.named_parameters())
    assert all(isinstance(p, nn.Parameter) for p in params.values())
    save('parameters.pt', params)
    expected['parameters.pt'] = {k: expect(v) for k, v in params.items()}

    nested = {'model': state, 'epoch': 3, 'optimizer': opt.state_dict()}
    save('nested.pt', nested)
    expected['nested.pt'] = {k: expect(v) for k, v in flat(nested).items()}

    save('int64-range.pt', collections.OrderedDict([('big', torch.tensor([1, 2**31], dtype=torch.int64))]))

    legacy = os.path.join(OUT, 'legacy.pt')
    torch.save(plain, legacy, _use_new_zipfile_serialization=False)
    print(f'legacy.pt: {os.path.getsize(legacy)} bytes')

    deflated = os.path.join(OUT, 'deflated.pt')
    with zipfile.ZipFile(os.path.join(OUT, 'plain.pt')) as src, zipfile.ZipFile(deflated, 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(entry, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    print(f'deflated.pt: {os.path.getsize(deflated)} bytes')

    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), os.path.join(OUT, 'torchscript.pt'))
    print(f'torchscript.pt: {os.path.getsize(os.path.join(OUT, "torchscript.pt"))} bytes')
    save('whole-model.pt', nn.Linear(2, 2))

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'files': expected}, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
    print(f'expected.json: {os.path.getsize(os.path.join(OUT, "expected.json"))} bytes')


if __name__ == '__main__':
    main()
