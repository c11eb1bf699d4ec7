#!/usr/bin/python3
"""Writes PyTorch reference trajectories and schedules for @dl/optim's parity tests into ../fixtures/.

Run with Debian's torch:  /usr/bin/python3 packages/optim/scripts/generate_fixtures.py
Tests read the JSON and never need Python.

optimizers.json: one small problem with four parameters of different shapes ([3, 4], [4], [2, 3, 2], [])
and the loss  L(p) = sum_i sum(0.5 * A_i * p_i^2 + B_i * p_i + 0.3 * sin(p_i)), whose gradient depends on
the parameters (so the trajectory is a real optimisation, not a fixed gradient sequence). Each case runs
50 steps of torch.optim and records the parameters after steps 10, 20, 30, 40 and 50.

Where torch 1.13 lacks the algorithm or option, the reference is written here by hand with torch ops,
following the paper (and later PyTorch releases), and the case says so in its `reference` field:
  - Lion (Chen et al. 2023, Algorithm 2) and LAMB (You et al. 2020, Algorithm 2 with bias correction);
  - NAdam: torch 1.13 multiplies mu_t into the product twice when forming prod_{i<=t+1} mu_i (fixed in
    PyTorch 2.0, which uses mu_product * mu_next). We follow the paper/PyTorch >= 2.0 and write that
    reference by hand; `nadam_torch113_differs` records how far 1.13 is from it;
  - decoupled_weight_decay for NAdam/RAdam and maximize for NAdam/RAdam (PyTorch >= 2.1).

schedules.json: every torch.optim.lr_scheduler we mirror, the lr (and momentum where cycled) at each step
t = 0, 1, ... (the value the optimizer uses for its t-th update), including boundaries, restarts and
ReduceLROnPlateau fed with a fixed metric sequence.

hardening.json:
  - one_cycle_edge: OneCycleLR when pct_start * total_steps = 1 (the warm-up phase is one point). torch
    raises ZeroDivisionError at step 0 (recorded); the values from step 1 on are torch's own, from a
    scheduler started at last_epoch=0 (the generator checks that this start reproduces a normal run);
  - scheduled_betas: Adam, AdamW, Adamax and RAdam with OneCycleLR cycling beta1 (as torch does by default
    for optimizers with betas), and Adam with beta2 set by hand before every step, 50 steps on the problem
    of optimizers.json.

Pass file names to write only some files (e.g. `generate_fixtures.py hardening`).
"""
import json
import math
import os
import sys

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
STEPS = 50
RECORD = [10, 20, 30, 40, 50]
SHAPES = [[3, 4], [4], [2, 3, 2], []]


def flat(x):
    return [float(v) for v in x.detach().reshape(-1).tolist()]


A = [torch.rand(s) * 1.5 + 0.5 for s in SHAPES]
B = [torch.randn(s) for s in SHAPES]
P0 = [torch.randn(s) for s in SHAPES]


def loss_fn(ps):
    dt = ps[0].dtype
    return sum(((0.5 * a.to(dt) * p * p + b.to(dt) * p + 0.3 * torch.sin(p)).sum() for p, a, b in zip(ps, A, B)))


def grads_at(ps):
    ps = [p.detach().clone().requires_grad_(True) for p in ps]
    loss_fn(ps).backward()
    return [p.grad.detach() for p in ps]


# Every case is also run in float64: if float32 and float64 disagree by more than WELL_POSED (relative to
# max(1, |value|)) after 50
# steps, the case amplifies rounding (e.g. an adaptive method chattering around the optimum) and
# comparing float32 implementations element by element would test noise, so the generator refuses it.
WELL_POSED = 3e-6
ILL = []


def check_conditioning(name, run):
    a, b = run(torch.float32), run(torch.float64)
    worst = max(abs(x - y) / max(1.0, abs(y)) for k in a for pa, pb in zip(a[k], b[k]) for x, y in zip(pa, pb))
    if worst > WELL_POSED:
        ILL.append(f'{name}: float32 vs float64 differ by {worst:.3g}: ill-conditioned case, change its options')
    return worst


def run_torch(make_opt, make_sched=None, clip_norm=None, clip_value=None, dtype=torch.float32):
    ps = [p.to(dtype).clone().requires_grad_(True) for p in P0]
    opt = make_opt(ps)
    sched = make_sched(opt) if make_sched else None
    traj, norms = {}, {}
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss_fn(ps).backward()
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(ps, clip_value)
        if clip_norm is not None:
            norms[step] = float(torch.nn.utils.clip_grad_norm_(ps, clip_norm))
        opt.step()
        if sched:
            sched.step()
        if step in RECORD:
            traj[str(step)] = [flat(p) for p in ps]
    return traj, norms


def run_manual(step_fn, opts, dtype=torch.float32):
    """A hand-written reference: step_fn(params, grads, state, t, opts) -> new params."""
    ps = [p.to(dtype).clone() for p in P0]
    state = [dict() for _ in ps]
    traj = {}
    for t in range(1, STEPS + 1):
        gs = grads_at(ps)
        if opts.get('maximize'):
            gs = [-g for g in gs]
        ps = [step_fn(p, g, s, t, opts) for p, g, s in zip(ps, gs, state)]
        if t in RECORD:
            traj[str(t)] = [flat(p) for p in ps]
    return traj


def lion_step(p, g, s, t, o):
    # Lion, Chen et al. 2023, Algorithm 2 (decoupled weight decay).
    lr, (b1, b2), wd = o.get('lr', 1e-4), o.get('betas', (0.9, 0.99)), o.get('weightDecay', 0.0)
    m = s.get('m', torch.zeros_like(p))
    c = b1 * m + (1 - b1) * g
    p = p - lr * (torch.sign(c) + wd * p)
    s['m'] = b2 * m + (1 - b2) * g
    return p


def lamb_step(p, g, s, t, o):
    # LAMB, You et al. 2020, Algorithm 2, with Adam's bias correction; trust ratio ||p|| / ||r + wd p||.
    lr, (b1, b2), eps, wd = o.get('lr', 1e-3), o.get('betas', (0.9, 0.999)), o.get('eps', 1e-6), o.get('weightDecay', 0.0)
    m = b1 * s.get('m', torch.zeros_like(p)) + (1 - b1) * g
    v = b2 * s.get('v', torch.zeros_like(p)) + (1 - b2) * g * g
    s['m'], s['v'] = m, v
    r = (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)
    u = r + wd * p
    pn, un = p.norm(), u.norm()
    ratio = (pn / un) if (pn > 0 and un > 0) else torch.tensor(1.0)
    return p - lr * ratio * u


def nadam_step(p, g, s, t, o):
    # NAdam as PyTorch >= 2.0 (Dozat 2016): mu_product_next = mu_product * mu_next.
    lr, (b1, b2), eps = o.get('lr', 2e-3), o.get('betas', (0.9, 0.999)), o.get('eps', 1e-8)
    wd, psi, decoupled = o.get('weightDecay', 0.0), o.get('momentumDecay', 4e-3), o.get('decoupledWeightDecay', False)
    if wd != 0:
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
    mu = b1 * (1. - 0.5 * (0.96 ** (t * psi)))
    mu_next = b1 * (1. - 0.5 * (0.96 ** ((t + 1) * psi)))
    s['mu_product'] = s.get('mu_product', 1.0) * mu
    mu_product_next = s['mu_product'] * mu_next
    m = b1 * s.get('m', torch.zeros_like(p)) + (1 - b1) * g
    v = b2 * s.get('v', torch.zeros_like(p)) + (1 - b2) * g * g
    s['m'], s['v'] = m, v
    denom = (v / (1 - b2 ** t)).sqrt() + eps
    p = p - lr * (1. - mu) / (1. - s['mu_product']) * g / denom
    return p - lr * mu_next / (1. - mu_product_next) * m / denom


def radam_step(p, g, s, t, o):
    # RAdam as torch.optim.RAdam, plus PyTorch >= 2.1's decoupled_weight_decay and maximize.
    lr, (b1, b2), eps = o.get('lr', 1e-3), o.get('betas', (0.9, 0.999)), o.get('eps', 1e-8)
    wd, decoupled = o.get('weightDecay', 0.0), o.get('decoupledWeightDecay', False)
    if wd != 0:
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
    m = b1 * s.get('m', torch.zeros_like(p)) + (1 - b1) * g
    v = b2 * s.get('v', torch.zeros_like(p)) + (1 - b2) * g * g
    s['m'], s['v'] = m, v
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * (b2 ** t) / bc2
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - (m / bc1) * lr * (math.sqrt(bc2) / (v.sqrt() + eps)) * rect
    return p - (m / bc1) * lr


def torch_kwargs(opts):
    names = {'weightDecay': 'weight_decay', 'lrDecay': 'lr_decay', 'initialAccumulatorValue': 'initial_accumulator_value',
             'momentumDecay': 'momentum_decay'}
    return {names.get(k, k): (tuple(v) if k == 'betas' else v) for k, v in opts.items()}


def optimizers():
    O = torch.optim
    cases = []

    def torch_case(name, cls, opts, **extra):
        run = lambda dt: run_torch(lambda ps: cls(ps, **torch_kwargs(opts)), clip_norm=extra.get('clipGradNorm'), clip_value=extra.get('clipGradValue'), dtype=dt)
        check_conditioning(name, lambda dt: run(dt)[0])
        traj, norms = run(torch.float32)
        case = {'name': name, 'optimizer': cls.__name__, 'options': opts, 'reference': f'torch.optim.{cls.__name__} {torch.__version__}', 'trajectory': traj}
        if extra:
            case['config'] = extra
        if norms:
            case['gradNorms'] = {str(k): v for k, v in norms.items() if k in RECORD}
        cases.append(case)

    def manual_case(name, optimizer, fn, opts, reference):
        check_conditioning(name, lambda dt: run_manual(fn, opts, dt))
        cases.append({'name': name, 'optimizer': optimizer, 'options': opts, 'reference': reference, 'trajectory': run_manual(fn, opts)})

    for n, o in [('sgd', {'lr': 0.05}), ('sgd_momentum', {'lr': 0.05, 'momentum': 0.9}),
                 ('sgd_dampening', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.5}), ('sgd_nesterov', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True}),
                 ('sgd_weight_decay', {'lr': 0.05, 'weightDecay': 0.1}), ('sgd_maximize', {'lr': 0.01, 'maximize': True}),
                 ('sgd_all', {'lr': 0.03, 'momentum': 0.8, 'nesterov': True, 'weightDecay': 0.05, 'maximize': True})]:
        torch_case(n, O.SGD, o)
    for n, o in [('adagrad', {}), ('adagrad_lr', {'lr': 0.1}), ('adagrad_lr_decay', {'lr': 0.1, 'lrDecay': 0.05}),
                 ('adagrad_initial_accumulator', {'lr': 0.1, 'initialAccumulatorValue': 0.5}), ('adagrad_weight_decay', {'lr': 0.1, 'weightDecay': 0.1}),
                 ('adagrad_eps', {'lr': 0.1, 'eps': 1e-2}), ('adagrad_maximize', {'lr': 0.05, 'maximize': True})]:
        torch_case(n, O.Adagrad, o)
    for n, o in [('rmsprop', {}), ('rmsprop_alpha', {'alpha': 0.999}), ('rmsprop_centered', {'centered': True}),
                 ('rmsprop_momentum', {'momentum': 0.5}), ('rmsprop_centered_momentum', {'centered': True, 'momentum': 0.7, 'eps': 1e-6}),
                 ('rmsprop_weight_decay', {'weightDecay': 0.1}), ('rmsprop_maximize', {'lr': 0.005, 'maximize': True})]:
        torch_case(n, O.RMSprop, o)
    for n, o in [('adadelta', {}), ('adadelta_rho', {'rho': 0.5, 'lr': 0.5}), ('adadelta_eps', {'eps': 1e-3}),
                 ('adadelta_weight_decay', {'weightDecay': 0.1}), ('adadelta_maximize', {'maximize': True})]:
        torch_case(n, O.Adadelta, o)
    for n, o in [('adam', {}), ('adam_lr', {'lr': 0.05}), ('adam_betas', {'lr': 0.05, 'betas': [0.8, 0.99]}), ('adam_eps', {'lr': 0.05, 'eps': 1e-3}),
                 ('adam_weight_decay', {'lr': 0.05, 'weightDecay': 0.1}), ('adam_amsgrad', {'lr': 0.05, 'amsgrad': True}),
                 ('adam_maximize', {'lr': 0.01, 'maximize': True}), ('adam_all', {'lr': 0.03, 'betas': [0.85, 0.98], 'eps': 1e-6, 'weightDecay': 0.05, 'amsgrad': True})]:
        torch_case(n, O.Adam, o)
    for n, o in [('adamw', {}), ('adamw_lr', {'lr': 0.05}), ('adamw_weight_decay', {'lr': 0.05, 'weightDecay': 0.3}),
                 ('adamw_amsgrad', {'lr': 0.05, 'amsgrad': True, 'betas': [0.8, 0.9]}), ('adamw_maximize', {'lr': 0.01, 'maximize': True, 'eps': 1e-4})]:
        torch_case(n, O.AdamW, o)
    for n, o in [('adamax', {}), ('adamax_lr', {'lr': 0.05}), ('adamax_betas', {'lr': 0.02, 'betas': [0.8, 0.95]}), ('adamax_eps', {'lr': 0.05, 'eps': 1e-2}),
                 ('adamax_weight_decay', {'lr': 0.05, 'weightDecay': 0.1}), ('adamax_maximize', {'lr': 0.01, 'maximize': True})]:
        torch_case(n, O.Adamax, o)
    for n, o in [('radam', {}), ('radam_lr', {'lr': 0.05}), ('radam_betas', {'lr': 0.05, 'betas': [0.8, 0.9]}), ('radam_eps', {'lr': 0.05, 'eps': 1e-3}),
                 ('radam_weight_decay', {'lr': 0.05, 'weightDecay': 0.1})]:
        torch_case(n, O.RAdam, o)
    later = 'hand-written (torch 1.13 lacks it), as PyTorch >= 2.1'
    manual_case('radam_decoupled', 'RAdam', radam_step, {'lr': 0.05, 'weightDecay': 0.1, 'decoupledWeightDecay': True}, later)
    manual_case('radam_maximize', 'RAdam', radam_step, {'lr': 0.01, 'maximize': True}, later)
    nref = 'hand-written NAdam as PyTorch >= 2.0 (torch 1.13 has the mu_product_next bug)'
    for n, o in [('nadam', {}), ('nadam_lr', {'lr': 0.01}), ('nadam_betas', {'lr': 0.01, 'betas': [0.8, 0.99]}), ('nadam_momentum_decay', {'lr': 0.01, 'momentumDecay': 0.05}),
                 ('nadam_eps', {'lr': 0.01, 'eps': 1e-3}), ('nadam_weight_decay', {'lr': 0.005, 'weightDecay': 0.3}),
                 ('nadam_decoupled', {'lr': 0.01, 'weightDecay': 0.1, 'decoupledWeightDecay': True}), ('nadam_maximize', {'lr': 0.01, 'maximize': True})]:
        manual_case(n, 'NAdam', nadam_step, o, nref)
    for n, o in [('lion', {}), ('lion_lr', {'lr': 0.01}), ('lion_betas', {'lr': 0.01, 'betas': [0.95, 0.98]}),
                 ('lion_weight_decay', {'lr': 0.01, 'weightDecay': 1.0}), ('lion_maximize', {'lr': 0.01, 'maximize': True})]:
        manual_case(n, 'Lion', lion_step, o, 'hand-written: Chen et al. 2023, Algorithm 2 (not in torch)')
    for n, o in [('lamb', {}), ('lamb_lr', {'lr': 0.02}), ('lamb_betas', {'lr': 0.02, 'betas': [0.8, 0.9]}), ('lamb_eps', {'lr': 0.02, 'eps': 1e-2}),
                 ('lamb_weight_decay', {'lr': 0.02, 'weightDecay': 0.1}), ('lamb_maximize', {'lr': 0.01, 'maximize': True})]:
        manual_case(n, 'Lamb', lamb_step, o, 'hand-written: You et al. 2020, Algorithm 2 (not in torch)')

    # Clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_ before each step).
    torch_case('sgd_clip_norm', O.SGD, {'lr': 0.05, 'momentum': 0.9}, clipGradNorm=0.5)
    torch_case('adam_clip_value', O.Adam, {'lr': 0.05}, clipGradValue=0.3)

    # Schedules driving hyperparameters through the optimizer (scheduler.step() after optimizer.step()).
    ps_cases = [
        ('adamw_warmup_cosine', O.AdamW, {'lr': 0.05, 'weightDecay': 0.1}, {'schedule': 'warmupCosine', 'peak': 0.05, 'warmupSteps': 10, 'totalSteps': 50, 'init': 0.0005, 'end': 0.0},
         lambda opt: torch.optim.lr_scheduler.SequentialLR(opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.01, 1.0, 10), torch.optim.lr_scheduler.CosineAnnealingLR(opt, 40, 0.0)], [10])),
        ('sgd_one_cycle', O.SGD, {'lr': 0.1, 'momentum': 0.9}, {'schedule': 'oneCycle', 'maxValue': 0.1, 'totalSteps': 50},
         lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50)),
    ]
    for name, cls, opts, sched, make in ps_cases:
        check_conditioning(name, lambda dt: run_torch(lambda ps: cls(ps, **torch_kwargs(opts)), make_sched=make, dtype=dt)[0])
        traj, _ = run_torch(lambda ps: cls(ps, **torch_kwargs(opts)), make_sched=make)
        cases.append({'name': name, 'optimizer': cls.__name__, 'options': opts, 'schedule': sched, 'reference': f'torch.optim.{cls.__name__} + lr_scheduler {torch.__version__}', 'trajectory': traj})

    # How far torch 1.13's NAdam is from the reference (documents the bug; not used as a fixture).
    traj113, _ = run_torch(lambda ps: O.NAdam(ps))
    ref = next(c for c in cases if c['name'] == 'nadam')['trajectory']['50']
    diff = max(abs(a - b) for pa, pb in zip(traj113['50'], ref) for a, b in zip(pa, pb))
    return cases, diff


def schedules():
    S = torch.optim.lr_scheduler
    out = []

    def record(name, ours, make, base=0.1, steps=60, momentum=False, opt_kw=None):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base, **(opt_kw or {}))
        sched = make(opt)
        lrs, moms = [], []
        for _ in range(steps):
            lrs.append(opt.param_groups[0]['lr'])
            moms.append(opt.param_groups[0].get('momentum'))
            opt.step()
            sched.step()
        case = {'name': name, 'ours': ours, 'values': lrs}
        if momentum:
            case['momentum'] = moms
        out.append(case)

    record('step', {'fn': 'stepDecay', 'init': 0.1, 'stepSize': 7, 'gamma': 0.5}, lambda o: S.StepLR(o, 7, 0.5))
    record('multi_step', {'fn': 'multiStep', 'init': 0.1, 'milestones': [5, 12, 12, 30], 'gamma': 0.3}, lambda o: S.MultiStepLR(o, [5, 12, 12, 30], 0.3))
    record('exponential', {'fn': 'exponential', 'init': 0.1, 'gamma': 0.95}, lambda o: S.ExponentialLR(o, 0.95))
    record('constant_factor', {'fn': 'constantFactor', 'init': 0.1, 'factor': 0.25, 'totalIters': 8}, lambda o: S.ConstantLR(o, 0.25, 8))
    record('linear_up', {'fn': 'linear', 'init': 0.01, 'end': 0.1, 'steps': 10}, lambda o: S.LinearLR(o, 0.1, 1.0, 10))
    record('linear_down', {'fn': 'linear', 'init': 0.1, 'end': 0.005, 'steps': 20}, lambda o: S.LinearLR(o, 1.0, 0.05, 20))
    record('polynomial', {'fn': 'polynomial', 'init': 0.1, 'steps': 20, 'power': 2.0}, lambda o: S.PolynomialLR(o, 20, 2.0))
    record('polynomial_linear', {'fn': 'polynomial', 'init': 0.1, 'steps': 25}, lambda o: S.PolynomialLR(o, 25, 1.0))
    record('cosine', {'fn': 'cosine', 'init': 0.1, 'steps': 20, 'end': 0.001}, lambda o: S.CosineAnnealingLR(o, 20, 0.001))
    record('warm_restarts_mult2', {'fn': 'cosineWarmRestarts', 'init': 0.1, 'period': 5, 'periodMult': 2, 'end': 0.01}, lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2, 0.01), steps=80)
    record('warm_restarts', {'fn': 'cosineWarmRestarts', 'init': 0.1, 'period': 7}, lambda o: S.CosineAnnealingWarmRestarts(o, 7))
    record('warm_restarts_mult3', {'fn': 'cosineWarmRestarts', 'init': 0.1, 'period': 2, 'periodMult': 3}, lambda o: S.CosineAnnealingWarmRestarts(o, 2, 3), steps=80)
    for name, kw in [('one_cycle', {}), ('one_cycle_linear', {'anneal_strategy': 'linear', 'pct_start': 0.25}),
                     ('one_cycle_three_phase', {'three_phase': True, 'div_factor': 10, 'final_div_factor': 100}),
                     ('one_cycle_odd', {'pct_start': 0.37, 'base_momentum': 0.8, 'max_momentum': 0.9})]:
        ours = {'fn': 'oneCycle', 'maxValue': 0.5, 'totalSteps': 60, 'pctStart': kw.get('pct_start', 0.3), 'anneal': kw.get('anneal_strategy', 'cos'),
                'divFactor': kw.get('div_factor', 25.0), 'finalDivFactor': kw.get('final_div_factor', 1e4), 'threePhase': kw.get('three_phase', False),
                'baseMomentum': kw.get('base_momentum', 0.85), 'maxMomentum': kw.get('max_momentum', 0.95)}
        record(name, ours, lambda o, kw=kw: S.OneCycleLR(o, max_lr=0.5, total_steps=60, **kw), momentum=True, opt_kw={'momentum': 0.9})
    for name, kw in [('cyclic_triangular', {'step_size_up': 5, 'step_size_down': 3}), ('cyclic_triangular2', {'step_size_up': 4, 'mode': 'triangular2'}),
                     ('cyclic_exp_range', {'step_size_up': 6, 'mode': 'exp_range', 'gamma': 0.97})]:
        ours = {'fn': 'cyclic', 'base': 0.01, 'max': 0.1, 'stepSizeUp': kw['step_size_up'], 'stepSizeDown': kw.get('step_size_down'),
                'mode': kw.get('mode', 'triangular'), 'gamma': kw.get('gamma', 1.0), 'baseMomentum': 0.8, 'maxMomentum': 0.9}
        record(name, ours, lambda o, kw=kw: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, base_momentum=0.8, max_momentum=0.9, **kw), momentum=True, opt_kw={'momentum': 0.9})
    record('noam', {'fn': 'noam', 'dModel': 64, 'warmupSteps': 10, 'factor': 2.0},
           lambda o: S.LambdaLR(o, lambda t: 2.0 * 64 ** -0.5 * min((t + 1) ** -0.5, (t + 1) * 10 ** -1.5)), base=1.0)
    record('warmup_cosine', {'fn': 'warmupCosine', 'peak': 0.1, 'warmupSteps': 10, 'totalSteps': 60, 'init': 0.001, 'end': 0.0},
           lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.01, 1.0, 10), S.CosineAnnealingLR(o, 50, 0.0)], [10]))
    record('sequence_exp_step', {'fn': 'sequenceExpStep'},
           lambda o: S.SequentialLR(o, [S.ExponentialLR(o, 0.9), S.StepLR(o, 4, 0.5)], [15]))
    record('chained', {'fn': 'chained'}, lambda o: S.ChainedScheduler([S.ExponentialLR(o, 0.97), S.StepLR(o, 6, 0.5)]))

    # ReduceLROnPlateau: fixed metric sequences; value recorded after each report.
    metrics = [1.0, 0.9, 0.9, 0.91, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4]
    for name, kw in [('plateau_min', {'patience': 2}), ('plateau_max_abs_cooldown', {'mode': 'max', 'threshold_mode': 'abs', 'threshold': 0.01, 'patience': 1, 'cooldown': 2, 'factor': 0.5}),
                     ('plateau_min_lr', {'patience': 0, 'factor': 0.5, 'min_lr': 0.02}), ('plateau_rel_threshold', {'patience': 1, 'threshold': 0.05, 'eps': 1e-3})]:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = S.ReduceLROnPlateau(opt, **kw)
        vals = []
        for m in metrics:
            opt.step()
            sched.step(m)
            vals.append(opt.param_groups[0]['lr'])
        names = {'threshold_mode': 'thresholdMode', 'min_lr': 'minValue'}
        out.append({'name': name, 'ours': {'fn': 'reduceOnPlateau', 'init': 0.1, **{names.get(k, k): v for k, v in kw.items()}}, 'metrics': metrics, 'values': vals})
    return out


def one_cycle_from(opt, start, **kw):
    """OneCycleLR resumed at last_epoch=start (torch then evaluates steps start+1, ... only): the group
    entries its constructor would have written are set here."""
    S = torch.optim.lr_scheduler
    div, final_div = kw.get('div_factor', 25.0), kw.get('final_div_factor', 1e4)
    for g in opt.param_groups:
        g['initial_lr'] = kw['max_lr'] / div
        g['max_lr'] = kw['max_lr']
        g['min_lr'] = g['initial_lr'] / final_div
        g['max_momentum'] = kw.get('max_momentum', 0.95)
        g['base_momentum'] = kw.get('base_momentum', 0.85)
    return S.OneCycleLR(opt, last_epoch=start, **kw)


def one_cycle_edge():
    S = torch.optim.lr_scheduler
    out = []

    def values(sched_maker, total):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = sched_maker(opt)
        lrs, moms = [], []
        while len(lrs) < total:
            lrs.append(opt.param_groups[0]['lr'])
            moms.append(opt.param_groups[0]['momentum'])
            if len(lrs) < total:
                opt.step()
                sched.step()
        return lrs, moms

    # The resumed start reproduces a normal run (steps 1 ... total - 1).
    kw = dict(max_lr=0.5, total_steps=12, pct_start=0.25, three_phase=True)
    normal = values(lambda o: S.OneCycleLR(o, **kw), 12)
    resumed = values(lambda o: one_cycle_from(o, 0, **kw), 11)
    assert normal[0][1:] == resumed[0] and normal[1][1:] == resumed[1], (normal, resumed)

    for name, kw in [('two_phase_cos', dict(max_lr=0.5, total_steps=10, pct_start=0.1)),
                     ('two_phase_linear', dict(max_lr=0.2, total_steps=20, pct_start=0.05, anneal_strategy='linear')),
                     ('three_phase_cos', dict(max_lr=0.5, total_steps=10, pct_start=0.1, three_phase=True, div_factor=10.0)),
                     ('three_phase_linear', dict(max_lr=1.0, total_steps=4, pct_start=0.25, three_phase=True, anneal_strategy='linear'))]:
        assert kw['pct_start'] * kw['total_steps'] == 1
        try:
            S.OneCycleLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9), **kw)
            at0 = 'no error'
        except ZeroDivisionError as e:
            at0 = f'ZeroDivisionError: {e}'
        lrs, moms = values(lambda o, kw=kw: one_cycle_from(o, 0, **kw), kw['total_steps'] - 1)
        ours = {'maxValue': kw['max_lr'], 'totalSteps': kw['total_steps'], 'pctStart': kw['pct_start'], 'anneal': kw.get('anneal_strategy', 'cos'),
                'divFactor': kw.get('div_factor', 25.0), 'finalDivFactor': kw.get('final_div_factor', 1e4), 'threePhase': kw.get('three_phase', False)}
        out.append({'name': name, 'ours': ours, 'torchAtStep0': at0, 'fromStep': 1, 'values': lrs, 'momentum': moms})
    return out


def scheduled_betas():
    O = torch.optim
    S = torch.optim.lr_scheduler
    cases = []
    for name, cls, opts, max_lr in [('adam_one_cycle_beta1', O.Adam, {}, 0.05), ('adamw_one_cycle_beta1', O.AdamW, {'weightDecay': 0.1}, 0.05),
                                    ('adamax_one_cycle_beta1', O.Adamax, {}, 0.05), ('radam_one_cycle_beta1', O.RAdam, {}, 0.05)]:
        make = lambda opt, max_lr=max_lr: S.OneCycleLR(opt, max_lr=max_lr, total_steps=STEPS, pct_start=0.3, base_momentum=0.8, max_momentum=0.95)
        run = lambda dt, cls=cls, opts=opts, make=make: run_torch(lambda ps: cls(ps, **torch_kwargs(opts)), make_sched=make, dtype=dt)[0]
        check_conditioning(name, run)
        cases.append({'name': name, 'optimizer': cls.__name__, 'options': opts,
                      'schedule': {'maxValue': max_lr, 'totalSteps': STEPS, 'pctStart': 0.3, 'baseMomentum': 0.8, 'maxMomentum': 0.95},
                      'reference': f'torch.optim.{cls.__name__} + OneCycleLR (cycle_momentum: beta1) {torch.__version__}', 'trajectory': run(torch.float32)})

    # beta2 set by hand before each step: linear from 0.9 to 0.999 over 50 steps (torch reads the group's betas every step).
    def beta2_at(t):
        return 0.9 + (0.999 - 0.9) * min(t, STEPS) / STEPS

    class Beta2Schedule:
        def __init__(self, opt):
            self.opt, self.t = opt, 0
            self.apply()

        def apply(self):
            for g in self.opt.param_groups:
                g['betas'] = (g['betas'][0], beta2_at(self.t))

        def step(self):
            self.t += 1
            self.apply()

    run = lambda dt: run_torch(lambda ps: O.Adam(ps, lr=0.05), make_sched=Beta2Schedule, dtype=dt)[0]
    check_conditioning('adam_linear_beta2', run)
    cases.append({'name': 'adam_linear_beta2', 'optimizer': 'Adam', 'options': {'lr': 0.05}, 'beta2': {'init': 0.9, 'end': 0.999, 'steps': STEPS},
                  'reference': f'torch.optim.Adam {torch.__version__}, betas[1] set before every step', 'trajectory': run(torch.float32)})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    names = {'optimizers', 'schedules', 'hardening'}
    wanted = set(sys.argv[1:]) or names
    if wanted - names:
        raise SystemExit(f'unknown fixture file(s) {sorted(wanted - names)}: choose from {", ".join(sorted(names))}')
    problem = {'shapes': SHAPES, 'A': [flat(a) for a in A], 'B': [flat(b) for b in B], 'init': [flat(p) for p in P0],
               'loss': 'sum_i sum(0.5 * A_i * p_i^2 + B_i * p_i + 0.3 * sin(p_i))', 'steps': STEPS, 'record': RECORD}
    if 'optimizers' in wanted:
        cases, nadam_diff = optimizers()
        if ILL:
            raise SystemExit('\n'.join(ILL))
        with open(os.path.join(OUT, 'optimizers.json'), 'w') as f:
            json.dump({'torch': torch.__version__, 'problem': problem, 'nadam_torch113_differs': nadam_diff, 'cases': cases}, f, separators=(',', ':'))
        print(f'{len(cases)} optimizer cases (torch 1.13 NAdam differs from the reference by {nadam_diff:.3g} after {STEPS} steps)')
    if 'schedules' in wanted:
        with open(os.path.join(OUT, 'schedules.json'), 'w') as f:
            json.dump({'torch': torch.__version__, 'cases': schedules()}, f, separators=(',', ':'))
    if 'hardening' in wanted:
        edge, betas = one_cycle_edge(), scheduled_betas()
        if ILL:
            raise SystemExit('\n'.join(ILL))
        with open(os.path.join(OUT, 'hardening.json'), 'w') as f:
            json.dump({'torch': torch.__version__, 'problem': problem, 'one_cycle_edge': edge, 'scheduled_betas': betas}, f, separators=(',', ':'))
        print(f'hardening.json: {len(edge)} one-cycle edge cases, {len(betas)} scheduled-beta trajectories')


if __name__ == '__main__':
    main()
