#!/usr/bin/python3
"""Writes PyTorch reference values for @dl/core's parity tests into packages/core/fixtures/.

Run with Debian's torch:  /usr/bin/python3 packages/core/scripts/generate_fixtures.py
Tests read the JSON and never need Python. Every tensor is stored in @dl's layout (channels last):
PyTorch's [N, C, ...] tensors are permuted to [N, ..., C] here, so tests compare element by element.

Each case: inputs, the module's state_dict (PyTorch names), the output, and the gradients of
L = sum(output * upstream) with respect to inputs and parameters, where `upstream` is a fixed random
tensor stored in the case (so the gradient is not just ones).
"""
import json
import math
import os
import struct

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
    return {'shape': list(x.shape), 'dtype': 'int32' if x.dtype in (torch.int64, torch.int32) else 'float32',
            'data': [float(v) if x.is_floating_point() else int(v) for v in x.reshape(-1).tolist()]}


def last(x):
    """[N, C, ...] -> [N, ..., C]"""
    return x.permute(0, *range(2, x.dim()), 1) if x.dim() > 2 else x


def module_case(name, module, inputs, to_ours=lambda x: x, call=None, extra=None):
    """Forward and backward of `module` on `inputs` (torch layout); stored in our layout via `to_ours`."""
    inputs = [i.clone().requires_grad_(i.is_floating_point()) for i in inputs]
    out = call(module, *inputs) if call else module(*inputs)
    up = torch.randn_like(out)
    (out * up).sum().backward()
    case = {
        'name': name,
        'inputs': [t(to_ours(i)) for i in inputs],
        'state': {k: t(v) for k, v in module.state_dict().items()},
        'output': t(to_ours(out)),
        'upstream': t(to_ours(up)),
        'inputGrads': [t(to_ours(i.grad)) if i.grad is not None else None for i in inputs],
        'paramGrads': {k: t(p.grad) for k, p in module.named_parameters() if p.grad is not None},
    }
    if extra:
        case.update(extra(module))
    return case


def layers():
    cases = []
    # Linear: awkward sizes, extra leading dims, no bias.
    cases.append(module_case('linear_3d', nn.Linear(7, 5), [torch.randn(2, 3, 7)]))
    cases.append(module_case('linear_nobias', nn.Linear(1, 9, bias=False), [torch.randn(4, 1)]))
    cases.append(module_case('linear_1d', nn.Linear(3, 2), [torch.randn(3)]))
    # Embedding with and without padding.
    ids = torch.tensor([[1, 0, 4], [4, 4, 2]])
    cases.append(module_case('embedding', nn.Embedding(6, 5), [ids]))
    cases.append(module_case('embedding_pad', nn.Embedding(6, 5, padding_idx=4), [ids]))
    # LayerNorm over one and two trailing dims, without affine, non-default eps.
    ln = nn.LayerNorm(6)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5); ln.bias.uniform_(-0.5, 0.5)
    cases.append(module_case('layernorm', ln, [torch.randn(3, 4, 6) * 3 + 1]))
    cases.append(module_case('layernorm_2d', nn.LayerNorm([3, 5], eps=1e-3), [torch.randn(2, 3, 5)]))
    cases.append(module_case('layernorm_noaffine', nn.LayerNorm(4, elementwise_affine=False), [torch.randn(5, 4)]))

    def bn_case(name, bn, x, steps=3, momentum_note=None):
        """Training steps update running stats; the last forward is checked, then eval mode is checked too."""
        with torch.no_grad():
            if bn.affine:
                bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-0.5, 0.5)
        initial = {k: t(v) for k, v in bn.state_dict().items()}
        warm = [torch.randn_like(x) * 2 + 0.5 for _ in range(steps - 1)]
        bn.train()
        with torch.no_grad():
            for w in warm:
                bn(w)
        case = module_case(name, bn, [x], to_ours=last)
        case['initialState'] = initial
        case['warmup'] = [t(last(w)) for w in warm]
        bn.eval()
        with torch.no_grad():
            case['evalOutput'] = t(last(bn(x)))
        case['state'] = {k: t(v) for k, v in bn.state_dict().items()}  # after all training forwards
        return case
    cases.append(bn_case('batchnorm1d', nn.BatchNorm1d(3), torch.randn(5, 3) * 2 + 1))
    cases.append(bn_case('batchnorm1d_seq', nn.BatchNorm1d(4, momentum=0.3), torch.randn(3, 4, 6)))
    cases.append(bn_case('batchnorm1d_cumulative', nn.BatchNorm1d(2, momentum=None), torch.randn(6, 2)))
    cases.append(bn_case('batchnorm2d', nn.BatchNorm2d(3), torch.randn(2, 3, 5, 4)))
    cases.append(bn_case('batchnorm2d_noaffine', nn.BatchNorm2d(2, affine=False, eps=1e-3), torch.randn(3, 2, 3, 3)))
    return cases


def activations():
    x = torch.randn(3, 7) * 3
    x[0, 0] = 0.0
    out = []
    for name, f in [('relu', F.relu), ('gelu', F.gelu), ('gelu_tanh', lambda v: F.gelu(v, approximate='tanh')),
                    ('silu', F.silu), ('tanh', torch.tanh), ('sigmoid', torch.sigmoid),
                    ('softmax_last', lambda v: F.softmax(v, dim=-1)), ('softmax_0', lambda v: F.softmax(v, dim=0)),
                    ('log_softmax_last', lambda v: F.log_softmax(v, dim=-1)), ('log_softmax_0', lambda v: F.log_softmax(v, dim=0))]:
        xi = x.clone().requires_grad_(True)
        y = f(xi)
        up = torch.randn_like(y)
        (y * up).sum().backward()
        out.append({'name': name, 'input': t(x), 'output': t(y), 'upstream': t(up), 'inputGrad': t(xi.grad)})
    return out


def losses():
    cases = []

    def case(name, fn, logits, target, options, logits_to_ours=lambda v: v, target_to_ours=lambda v: v):
        lg = logits.clone().requires_grad_(True)
        loss = fn(lg, target)
        up = torch.randn_like(loss)
        (loss * up).sum().backward()
        cases.append({'name': name, 'options': options, 'input': t(logits_to_ours(logits)), 'target': t(target_to_ours(target)),
                      'output': t(loss), 'upstream': t(up), 'inputGrad': t(logits_to_ours(lg.grad))})

    N, C = 6, 5
    logits = torch.randn(N, C) * 2
    idx = torch.tensor([0, 4, 2, 2, 1, 3])
    idx_ign = torch.tensor([0, -100, 2, 7, 1, 7])
    w = torch.rand(C) + 0.5
    for red in ['mean', 'sum', 'none']:
        case(f'ce_{red}', lambda a, b: F.cross_entropy(a, b, reduction=red), logits, idx, {'reduction': red})
        case(f'ce_weight_{red}', lambda a, b: F.cross_entropy(a, b, weight=w, reduction=red), logits, idx, {'reduction': red, 'weight': t(w)})
        case(f'ce_smooth_{red}', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2, reduction=red), logits, idx, {'reduction': red, 'labelSmoothing': 0.2})
        case(f'ce_all_{red}', lambda a, b: F.cross_entropy(a, b, weight=w, ignore_index=7, label_smoothing=0.1, reduction=red),
             logits, idx_ign.clamp(min=0).where(idx_ign != -100, torch.tensor(7)), {'reduction': red, 'weight': t(w), 'ignoreIndex': 7, 'labelSmoothing': 0.1})
    case('ce_ignore_default', lambda a, b: F.cross_entropy(a, b), logits, idx_ign.where(idx_ign != 7, torch.tensor(3)), {})
    # Classes on axis 1 in PyTorch, last in ours: [N, C, L] <-> [N, L, C].
    lg3 = torch.randn(2, C, 4)
    tg3 = torch.randint(0, C, (2, 4))
    case('ce_3d_smooth', lambda a, b: F.cross_entropy(a, b, label_smoothing=0.3), lg3, tg3, {'labelSmoothing': 0.3}, logits_to_ours=last)
    probs = torch.softmax(torch.randn(N, C), -1)
    case('ce_probs', lambda a, b: F.cross_entropy(a, b), logits, probs, {})
    case('ce_probs_weight_smooth_sum', lambda a, b: F.cross_entropy(a, b, weight=w, label_smoothing=0.25, reduction='sum'), logits, probs,
         {'weight': t(w), 'labelSmoothing': 0.25, 'reduction': 'sum'})
    # Binary cross-entropy on probabilities (including 0 and 1) and on logits.
    p = torch.sigmoid(torch.randn(3, 4) * 2)
    p[0, 0] = 0.0; p[0, 1] = 1.0
    y = (torch.rand(3, 4) > 0.5).float()
    y[0, 0] = 1.0; y[0, 1] = 0.0
    bw = torch.rand(3, 4)
    case('bce_mean', lambda a, b: F.binary_cross_entropy(a, b), p, y, {})
    case('bce_weight_sum', lambda a, b: F.binary_cross_entropy(a, b, weight=bw, reduction='sum'), p, y, {'weight': t(bw), 'reduction': 'sum'})
    z = torch.randn(3, 4) * 5
    z[0, 0] = 80.0; z[1, 1] = -80.0
    pw = torch.rand(4) * 3
    case('bcel_mean', lambda a, b: F.binary_cross_entropy_with_logits(a, b), z, y, {})
    case('bcel_posweight_none', lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw, weight=bw, reduction='none'), z, y,
         {'posWeight': t(pw), 'weight': t(bw), 'reduction': 'none'})
    a = torch.randn(2, 3, 4)
    b = torch.randn(2, 3, 4)
    for red in ['mean', 'sum', 'none']:
        case(f'mse_{red}', lambda u, v: F.mse_loss(u, v, reduction=red), a, b, {'reduction': red})
    return cases


def rnn():
    """Recurrent layers (nn.RNN/LSTM/GRU and their cells) over a randomised sweep of configurations.

    Each sequence case stores the options, input, optional initial state and lengths, the state_dict,
    the output and final states, and the gradients of
    L = sum(output * up_output) + sum(h_n * up_h) (+ sum(c_n * up_c) for LSTM)
    with respect to the input, the initial states and every parameter. With `lengths`, the batch goes
    through pack_padded_sequence (enforce_sorted=False) and pad_packed_sequence(total_length=L), so padded
    steps neither update the state nor produce output. Cases with dropout run in eval mode (no dropout).
    Cell cases step a cell over a sequence and store every step's state.
    """
    import random
    torch.manual_seed(20)
    rng = random.Random(7)
    classes = {'LSTM': nn.LSTM, 'GRU': nn.GRU, 'RNN_TANH': nn.RNN, 'RNN_RELU': nn.RNN}

    def seq_case(name, kind, I, H, layers, bidir, bf, bias, L, B, lengths=None, h0=False, dropout=0.0, unbatched=False):
        extra = {'nonlinearity': 'relu' if kind == 'RNN_RELU' else 'tanh'} if kind.startswith('RNN') else {}
        m = classes[kind](I, H, num_layers=layers, bias=bias, batch_first=bf, dropout=dropout, bidirectional=bidir, **extra)
        if dropout > 0:
            m.eval()
        D = 2 if bidir else 1
        x = (torch.randn(L, I) if unbatched else torch.randn(B, L, I) if bf else torch.randn(L, B, I)).requires_grad_(True)
        state_shape = (layers * D, H) if unbatched else (layers * D, B, H)
        hx = torch.randn(state_shape).requires_grad_(True) if h0 else None
        cx = torch.randn(state_shape).requires_grad_(True) if h0 and kind == 'LSTM' else None
        init = None if hx is None else ((hx, cx) if kind == 'LSTM' else hx)
        if lengths is not None:
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=bf, enforce_sorted=False)
            out, st = m(packed, init)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=bf, total_length=L)
        else:
            out, st = m(x, init)
        hn, cn = st if kind == 'LSTM' else (st, None)
        up = {'output': torch.randn_like(out), 'h': torch.randn_like(hn)}
        loss = (out * up['output']).sum() + (hn * up['h']).sum()
        if cn is not None:
            up['c'] = torch.randn_like(cn)
            loss = loss + (cn * up['c']).sum()
        loss.backward()
        options = {'inputSize': I, 'hiddenSize': H, 'numLayers': layers, 'bias': bias, 'batchFirst': bf,
                   'bidirectional': bidir, 'dropout': dropout, **extra}
        case = {'name': name, 'kind': 'RNN' if kind.startswith('RNN') else kind, 'options': options, 'input': t(x),
                'state': {k: t(v) for k, v in m.state_dict().items()},
                'output': t(out), 'h': t(hn), 'upstream': {k: t(v) for k, v in up.items()},
                'grads': {'input': t(x.grad), 'params': {k: t(p.grad) for k, p in m.named_parameters()}}}
        if cn is not None:
            case['c'] = t(cn)
        if lengths is not None:
            case['lengths'] = list(lengths)
        if hx is not None:
            case['h0'] = t(hx)
            case['grads']['h0'] = t(hx.grad)
        if cx is not None:
            case['c0'] = t(cx)
            case['grads']['c0'] = t(cx.grad)
        return case

    cases = []
    # Hand-picked edges: one step, one unit, one example, lengths of 1, unbatched input, eval-mode dropout.
    cases.append(seq_case('lstm_edge_one_step', 'LSTM', 3, 1, 1, False, False, True, 1, 1))
    cases.append(seq_case('gru_edge_one_step_bidir', 'GRU', 1, 2, 1, True, True, True, 1, 2, h0=True))
    cases.append(seq_case('lstm_edge_len1_padded', 'LSTM', 2, 3, 2, True, False, True, 4, 3, lengths=[1, 4, 2], h0=True))
    cases.append(seq_case('gru_edge_len1_padded_bf', 'GRU', 2, 3, 2, True, True, False, 3, 3, lengths=[3, 1, 1]))
    cases.append(seq_case('rnn_tanh_edge_short_batch', 'RNN_TANH', 3, 2, 1, True, False, True, 5, 2, lengths=[3, 2], h0=True))
    cases.append(seq_case('lstm_edge_unbatched', 'LSTM', 3, 2, 2, True, False, True, 4, 1, h0=True, unbatched=True))
    cases.append(seq_case('gru_edge_unbatched_bf', 'GRU', 2, 3, 1, False, True, False, 3, 1, unbatched=True))
    cases.append(seq_case('lstm_edge_dropout_eval', 'LSTM', 2, 3, 3, False, True, True, 3, 2, dropout=0.5, h0=True))
    # The sweep: sizes, layers, directions, layouts, bias, initial states and padded batches at random.
    kinds = ['LSTM', 'GRU', 'RNN_TANH', 'RNN_RELU']
    for i in range(32):
        kind = kinds[i % 4] if i < 28 else rng.choice(['LSTM', 'GRU'])
        I, H = rng.randint(1, 4), rng.randint(1, 4)
        layers = rng.choice([1, 1, 2, 2, 3])
        bidir, bf, bias, h0 = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.75, rng.random() < 0.5
        L, B = rng.randint(1, 5), rng.randint(1, 3)
        lengths = [rng.randint(1, L) for _ in range(B)] if L > 1 and rng.random() < 0.6 else None
        name = f'{kind.lower()}_{i}_l{layers}{"_bi" if bidir else ""}{"_bf" if bf else ""}{"" if bias else "_nobias"}{"_h0" if h0 else ""}{"_packed" if lengths else ""}'
        cases.append(seq_case(name, kind, I, H, layers, bidir, bf, bias, L, B, lengths=lengths, h0=h0))

    def cell_case(name, kind, I, H, bias, T, B, h0, unbatched=False, nonlinearity='tanh'):
        cls = {'LSTMCell': nn.LSTMCell, 'GRUCell': nn.GRUCell, 'RNNCell': nn.RNNCell}[kind]
        m = cls(I, H, bias=bias, **({'nonlinearity': nonlinearity} if kind == 'RNNCell' else {}))
        xs = (torch.randn(T, I) if unbatched else torch.randn(T, B, I)).requires_grad_(True)
        shape = (H,) if unbatched else (B, H)
        hx = torch.randn(shape).requires_grad_(True) if h0 else None
        cx = torch.randn(shape).requires_grad_(True) if h0 and kind == 'LSTMCell' else None
        h, c, hs, cs = hx, cx, [], []
        for step in range(T):
            if kind == 'LSTMCell':
                h, c = m(xs[step], None if h is None else (h, c))
                cs.append(c)
            else:
                h = m(xs[step], h)
            hs.append(h)
        hs = torch.stack(hs)
        up = {'h': torch.randn_like(hs)}
        loss = (hs * up['h']).sum()
        if cs:
            cs = torch.stack(cs)
            up['c'] = torch.randn_like(cs)
            loss = loss + (cs * up['c']).sum()
        loss.backward()
        options = {'inputSize': I, 'hiddenSize': H, 'bias': bias, **({'nonlinearity': nonlinearity} if kind == 'RNNCell' else {})}
        case = {'name': name, 'kind': kind, 'options': options, 'input': t(xs), 'state': {k: t(v) for k, v in m.state_dict().items()},
                'h': t(hs), 'upstream': {k: t(v) for k, v in up.items()},
                'grads': {'input': t(xs.grad), 'params': {k: t(p.grad) for k, p in m.named_parameters()}}}
        if len(cs):
            case['c'] = t(cs)
        if hx is not None:
            case['h0'] = t(hx)
            case['grads']['h0'] = t(hx.grad)
        if cx is not None:
            case['c0'] = t(cx)
            case['grads']['c0'] = t(cx.grad)
        return case

    cases.append(cell_case('lstmcell', 'LSTMCell', 3, 4, True, 3, 2, True))
    cases.append(cell_case('lstmcell_nobias_zero_state', 'LSTMCell', 2, 3, False, 2, 3, False))
    cases.append(cell_case('lstmcell_unbatched', 'LSTMCell', 4, 2, True, 2, 1, True, unbatched=True))
    cases.append(cell_case('grucell', 'GRUCell', 3, 4, True, 3, 2, True))
    cases.append(cell_case('grucell_nobias_zero_state', 'GRUCell', 4, 3, False, 2, 2, False))
    cases.append(cell_case('grucell_unbatched', 'GRUCell', 2, 2, True, 3, 1, False, unbatched=True))
    cases.append(cell_case('rnncell_tanh', 'RNNCell', 3, 2, True, 3, 2, True))
    cases.append(cell_case('rnncell_relu_nobias', 'RNNCell', 2, 3, False, 2, 3, True, nonlinearity='relu'))
    return cases


def write_safetensors(path, tensors, metadata=None):
    """The safetensors format by hand (8-byte LE header length, JSON header, raw LE data)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, v in tensors.items():
        v = v.detach().contiguous()
        dt = {torch.float32: 'F32', torch.int64: 'I64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int32: 'I32', torch.bool: 'BOOL', torch.uint8: 'U8'}[v.dtype]
        raw = v.view(torch.int16).numpy().tobytes() if v.dtype == torch.bfloat16 else v.numpy().tobytes()
        header[name] = {'dtype': dt, 'shape': list(v.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def checkpoints():
    """A torch MLP saved as safetensors: loading it into @dl's Sequential must reproduce these logits."""
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 3), nn.BatchNorm1d(3))
    mlp.train()
    with torch.no_grad():
        for _ in range(2):
            mlp(torch.randn(5, 6))  # gives the batch norm non-trivial running stats
    mlp.eval()
    x = torch.randn(4, 6)
    with torch.no_grad():
        y = mlp(x)
    write_safetensors(os.path.join(OUT, 'mlp.safetensors'), mlp.state_dict(), {'format': 'pt', 'source': 'generate_fixtures.py'})
    # Every dtype the reader converts.
    dt = {
        'f64': torch.tensor([1.5, -2.25], dtype=torch.float64),
        'f16': torch.tensor([0.5, -65504.0, 6.1e-5, 0.0], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -3.5, 1e30], dtype=torch.bfloat16),
        'i64': torch.tensor([[1, -2], [3, 2147483647]], dtype=torch.int64),
        'u8': torch.tensor([0, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'scalar': torch.tensor(3.0),
        'empty': torch.zeros(0, 3),
    }
    write_safetensors(os.path.join(OUT, 'dtypes.safetensors'), dt)
    return {
        'mlp': {'input': t(x), 'output': t(y), 'keys': list(mlp.state_dict().keys())},
        'dtypes': {k: {'shape': list(v.shape), 'data': [float(e) for e in v.float().reshape(-1).tolist()]} for k, v in dt.items()},
    }


def sweep():
    """A randomised sweep over the core layers, activations and cross-entropy (fixtures/sweep.json).

    Every case draws its configuration from its own seeded generator: Linear (sizes, bias, leading
    dims), LayerNorm (one or two normalised dims, eps, affine, bias; F.layer_norm since torch 1.13's
    nn.LayerNorm has no bias=False), RMSNorm against a hand-written reference (x / sqrt(mean(x^2) + eps)
    * weight: torch 1.13 has no nn.RMSNorm), Embedding with and without padding_idx (negative too),
    BatchNorm1d ([N, C] and [N, C, L]) and BatchNorm2d after warm-up steps in training (momentum incl.
    None, affine, track_running_stats) then in eval, every activation along a random dim, and
    cross-entropy with class weights, ignore_index, label smoothing, each reduction, class-index and
    class-probability targets and extra dims. Forward and backward: output, the gradients of
    sum(output * upstream) with respect to the input and every parameter, running statistics after
    training. Tensors are stored in @dl's layout (channels last) with 9 significant digits, which
    round-trip float32 exactly; NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity".
    """
    import random

    def tt(x):
        x = x.detach()
        if x.dtype in (torch.int64, torch.int32):
            return {'shape': list(x.shape), 'dtype': 'int32', 'data': [int(v) for v in x.reshape(-1).tolist()]}
        # Non-finite values (a mean over only ignored targets is NaN, as in torch) as strings: JSON has none.
        return {'shape': list(x.shape), 'dtype': 'float32', 'data': [float('%.9g' % v) if math.isfinite(v) else str(v).replace('nan', 'NaN').replace('inf', 'Infinity') for v in x.reshape(-1).tolist()]}

    def backward(out, inputs, params):
        up = torch.randn_like(out)
        (out * up).sum().backward()
        return up, {k: tt(v.grad) for k, v in inputs.items() if v.grad is not None}, {k: tt(p.grad) for k, p in params if p.grad is not None}

    cases = []

    def linear_case(i, r):
        I, O = r.randint(1, 7), r.randint(1, 7)
        bias = r.random() < 0.7
        lead = [r.randint(1, 4) for _ in range(r.randint(0, 2))]
        m = nn.Linear(I, O, bias=bias)
        x = torch.randn(*lead, I).requires_grad_(True)
        out = m(x)
        up, ig, pg = backward(out, {'x': x}, m.named_parameters())
        return {'name': f'linear_{i}', 'kind': 'linear', 'args': [I, O], 'options': {'bias': bias}, 'input': tt(x),
                'state': {k: tt(v) for k, v in m.state_dict().items()}, 'output': tt(out), 'upstream': tt(up), 'inputGrad': ig['x'], 'paramGrads': pg}

    def layernorm_case(i, r):
        shape = [r.randint(1, 5) for _ in range(r.choice([1, 1, 2]))]
        if math.prod(shape) == 1:
            shape[-1] = 2  # over one element x - mean is 0; torch's vectorised mean leaves rounding noise there
        eps = r.choice([1e-5, 1e-5, 1e-3, 1e-6, 0.1])
        affine = r.random() < 0.75
        bias = affine and r.random() < 0.7
        lead = [r.randint(1, 3) for _ in range(r.randint(1, 2))]
        x = (torch.randn(*lead, *shape) * r.choice([0.5, 1.0, 3.0]) + r.choice([0.0, 1.0, -2.0])).requires_grad_(True)
        params = []
        w = b = None
        if affine:
            w = (torch.rand(*shape) + 0.5).requires_grad_(True)
            params.append(('weight', w))
            if bias:
                b = (torch.rand(*shape) - 0.5).requires_grad_(True)
                params.append(('bias', b))
        out = F.layer_norm(x, shape, w, b, eps)
        up, ig, pg = backward(out, {'x': x}, params)
        return {'name': f'layernorm_{i}', 'kind': 'layernorm', 'args': [shape], 'options': {'eps': eps, 'elementwiseAffine': affine, 'bias': bias},
                'input': tt(x), 'state': {k: tt(v) for k, v in params}, 'output': tt(out), 'upstream': tt(up), 'inputGrad': ig['x'], 'paramGrads': pg}

    def rmsnorm_case(i, r):
        D = r.randint(1, 8)
        eps = r.choice([1e-6, 1e-5, 1e-3, 0.0]) if D > 1 else 1e-6
        affine = r.random() < 0.75
        lead = [r.randint(1, 3) for _ in range(r.randint(0, 2))]
        x = (torch.randn(*lead, D) * r.choice([0.3, 1.0, 4.0])).requires_grad_(True)
        params = []
        y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
        if affine:
            w = (torch.rand(D) + 0.5).requires_grad_(True)
            params.append(('weight', w))
            y = y * w
        up, ig, pg = backward(y, {'x': x}, params)
        return {'name': f'rmsnorm_{i}', 'kind': 'rmsnorm', 'args': [D], 'options': {'eps': eps, 'elementwiseAffine': affine},
                'input': tt(x), 'state': {k: tt(v) for k, v in params}, 'output': tt(y), 'upstream': tt(up), 'inputGrad': ig['x'], 'paramGrads': pg}

    def embedding_case(i, r):
        V, D = r.randint(1, 9), r.randint(1, 5)
        pad = r.choice([None, None, r.randint(0, V - 1), -r.randint(1, V)])
        m = nn.Embedding(V, D, padding_idx=pad)
        ids = torch.randint(0, V, [r.randint(1, 4) for _ in range(r.randint(1, 2))])
        if pad is not None and ids.numel() > 1:
            ids.view(-1)[0] = pad % V  # the padding row is looked up at least once
        out = m(ids)
        up, _, pg = backward(out, {}, m.named_parameters())
        options = {} if pad is None else {'paddingIdx': pad}
        return {'name': f'embedding_{i}', 'kind': 'embedding', 'args': [V, D], 'options': options, 'input': tt(ids),
                'state': {k: tt(v) for k, v in m.state_dict().items()}, 'output': tt(out), 'upstream': tt(up), 'inputGrad': None, 'paramGrads': pg}

    def batchnorm_case(i, r):
        two_d = r.random() < 0.4
        C = r.randint(1, 4)
        momentum = r.choice([0.1, 0.1, 0.3, 0.01, None])
        affine = r.random() < 0.75
        track = r.random() < 0.8
        eps = r.choice([1e-5, 1e-5, 1e-3])
        if two_d:
            m = nn.BatchNorm2d(C, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
            shape = [r.randint(1, 3), C, r.randint(1, 3), r.randint(1, 3)]
            if shape[0] * shape[2] * shape[3] < 2:
                shape[0] = 2
        else:
            m = nn.BatchNorm1d(C, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
            shape = [r.randint(2, 5), C] if r.random() < 0.5 else [r.randint(1, 3), C, r.randint(2, 4)]
        with torch.no_grad():
            if affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        initial = {k: tt(v) for k, v in m.state_dict().items()}
        warm = [torch.randn(*shape) * 2 + 0.5 for _ in range(r.randint(0, 2))]
        m.train()
        with torch.no_grad():
            for w in warm:
                m(w)
        x = (torch.randn(*shape) * r.choice([1.0, 3.0]) + r.choice([0.0, 1.0])).requires_grad_(True)
        out = m(x)
        up, ig, pg = backward(out, {'x': x}, m.named_parameters())
        case = {'name': f'batchnorm{"2d" if two_d else "1d"}_{i}', 'kind': 'batchnorm2d' if two_d else 'batchnorm1d', 'args': [C],
                'options': {'eps': eps, 'momentum': momentum, 'affine': affine, 'trackRunningStats': track},
                'initialState': initial, 'warmup': [tt(last(w)) for w in warm], 'input': tt(last(x)), 'output': tt(last(out)),
                'upstream': tt(last(up)), 'inputGrad': tt(last(x.grad)), 'paramGrads': pg,
                'state': {k: tt(v) for k, v in m.state_dict().items()}}
        m.eval()
        with torch.no_grad():
            case['evalOutput'] = tt(last(m(x)))
        return case

    acts = [('relu', F.relu), ('gelu', F.gelu), ('gelu_tanh', lambda v: F.gelu(v, approximate='tanh')), ('silu', F.silu),
            ('tanh', torch.tanh), ('sigmoid', torch.sigmoid), ('softmax', None), ('log_softmax', None)]

    def activation_case(i, r):
        name, f = acts[i % len(acts)]
        shape = [r.randint(1, 4) for _ in range(r.randint(1, 3))]
        x = (torch.randn(*shape) * r.choice([1.0, 3.0, 10.0])).requires_grad_(True)
        dim = r.randint(-len(shape), len(shape) - 1)
        if name == 'softmax':
            y = F.softmax(x, dim=dim)
        elif name == 'log_softmax':
            y = F.log_softmax(x, dim=dim)
        else:
            y = f(x)
        up, ig, _ = backward(y, {'x': x}, [])
        return {'name': f'{name}_{i}', 'kind': 'activation', 'fn': name, 'dim': dim, 'input': tt(x), 'output': tt(y), 'upstream': tt(up), 'inputGrad': ig['x']}

    def ce_case(i, r):
        C = r.choice([1, 2, 3, 4, 5, 6]) if i % 10 else 1  # one class too: the loss is 0 (torch allows it)
        N = r.randint(1, 5)
        extra = [r.randint(1, 3) for _ in range(r.choice([0, 0, 1, 2]))]
        logits = (torch.randn(N, C, *extra) * r.choice([1.0, 3.0])).requires_grad_(True)
        probs = r.random() < 0.25
        options, kwargs = {}, {}
        red = r.choice(['mean', 'mean', 'sum', 'none'])
        options['reduction'] = red
        kwargs['reduction'] = red
        if r.random() < 0.5:
            w = torch.rand(C) + 0.25
            options['weight'] = tt(w)
            kwargs['weight'] = w
        if r.random() < 0.5:
            eps = r.choice([0.05, 0.1, 0.3, 1.0])
            options['labelSmoothing'] = eps
            kwargs['label_smoothing'] = eps
        if probs:
            target = torch.softmax(torch.randn(N, C, *extra) * 2, 1)
        else:
            target = torch.randint(0, C, (N, *extra))
            if r.random() < 0.5:
                ignore = r.choice([-100, -1, C, r.randint(0, C - 1)])
                options['ignoreIndex'] = ignore
                kwargs['ignore_index'] = ignore
                flat = target.view(-1)
                hits = r.sample(range(flat.numel()), r.randint(1, max(1, flat.numel() - 1)))
                for h in hits:
                    flat[h] = ignore
        loss = F.cross_entropy(logits, target, **kwargs)
        up, ig, _ = backward(loss, {'logits': logits}, [])
        return {'name': f'ce_{i}', 'kind': 'crossEntropy', 'options': options, 'input': tt(last(logits)),
                'target': tt(last(target) if probs else target), 'output': tt(loss), 'upstream': tt(up), 'inputGrad': tt(last(logits.grad))}

    makers = [(linear_case, 50), (layernorm_case, 40), (rmsnorm_case, 30), (embedding_case, 40), (batchnorm_case, 50), (activation_case, 64), (ce_case, 60)]
    for k, (make, count) in enumerate(makers):
        for i in range(count):
            seed = 1000 * (k + 1) + i
            torch.manual_seed(seed)
            cases.append(make(i, random.Random(seed)))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in [('layers', layers), ('activations', activations), ('losses', losses), ('checkpoints', checkpoints), ('rnn', rnn), ('sweep', sweep)]:
        data = {'generator': 'packages/core/scripts/generate_fixtures.py', 'torch': torch.__version__, 'cases': fn()}
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump(data, f)
        print(f'wrote fixtures/{name}.json')


if __name__ == '__main__':
    main()
