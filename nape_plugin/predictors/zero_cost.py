"""Zero-cost proxies: training-free scores of a freshly initialised network (higher = better).

Computed on one batch of random inputs (standard normal pixels, uniform random labels) drawn from a fixed seed, on any
``torch.nn.Module`` or on the reference module of a search-space architecture (built under the same seed):

* ``synflow`` (Tanaka et al. 2020): sum over conv/linear weights of ``|w * dR/dw|``, ``R`` the summed output of the
  network with absolute weights, batch norm removed, in float64, on an all-ones input; reported as ``log(1 + value)``
  because the raw value spans hundreds of orders of magnitude.
* ``nwot`` (Mellor et al. 2021, NASWOT): ``log|det K|``, ``K[i, j]`` the number of ReLU units on which inputs ``i`` and
  ``j`` agree in sign (summed over every ``nn.ReLU``/``nn.ReLU6``/``nn.LeakyReLU`` module's input).
* ``jacov`` (Mellor et al. 2020): ``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of the correlation
  matrix of the per-input Jacobians of the summed output with respect to the input, ``k = 1e-5``.
* ``grad_norm``: sum over conv/linear weights of the norm of the cross-entropy gradient.
* ``snip`` (Lee et al. 2019): sum over conv/linear weights of ``|w * dL/dw|``.
* ``flops``, ``params``: from the computation graph, in millions.

Networks are used in training mode (batch statistics in batch norm) as in the reference implementations.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import Tags
from torch import nn

from ..errors import ConversionError, EmptyBatchError, UnknownNameError
from ..graph.core import CompGraph
from ..utils.progress import track
from ..utils.validation import check_labels, check_not_sparse

#: Every proxy :func:`compute` knows.
PROXIES: tuple[str, ...] = ("synflow", "nwot", "jacov", "grad_norm", "snip", "flops", "params")
#: Proxies that need a runnable module (the others come from the computation graph).
MODULE_PROXIES = frozenset({"synflow", "nwot", "jacov", "grad_norm", "snip"})

_PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_RELUS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU)


def _logits(out: Any) -> torch.Tensor:
    """The prediction tensor of a forward pass (the last tensor when a module returns a tuple)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[-1], torch.Tensor):
        return out[-1]
    raise ConversionError(f"zero-cost proxies need a module returning a tensor (or a tuple ending in one), got "
                          f"{type(out).__name__}")


def _weights(model: nn.Module) -> list[nn.Parameter]:
    return [m.weight for m in model.modules() if isinstance(m, _PRUNABLE) and m.weight is not None]


def _without_batchnorm(model: nn.Module) -> nn.Module:
    for name, child in model.named_children():
        if isinstance(child, _BATCHNORMS):
            setattr(model, name, nn.Identity())
        else:
            _without_batchnorm(child)
    return model


def synflow(model: nn.Module, input_shape: Sequence[int], device: str | torch.device = "cpu") -> float:
    net = _without_batchnorm(copy.deepcopy(model)).to(device).double().train()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    out = _logits(net(torch.ones((1, *input_shape), dtype=torch.float64, device=device)))
    out.sum().backward()
    with torch.no_grad():
        total = float(sum((w * w.grad).abs().sum() for w in _weights(net) if w.grad is not None))
    return math.log1p(total) if math.isfinite(total) else float("nan")


def _gradient_scores(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    net = copy.deepcopy(model).to(x.device).train()
    net.zero_grad()
    out = _logits(net(x))
    nn.functional.cross_entropy(out, labels.to(x.device) % out.shape[1]).backward()
    ws = [w for w in _weights(net) if w.grad is not None]
    with torch.no_grad():
        return {"grad_norm": float(sum(w.grad.norm() for w in ws)),
                "snip": float(sum((w * w.grad).abs().sum() for w in ws))}


def _activation_scores(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    net = copy.deepcopy(model).to(x.device).train()
    n = x.shape[0]
    K = torch.zeros((n, n), dtype=torch.float64, device=x.device)

    def count(_module: nn.Module, inputs: tuple) -> None:
        nonlocal K
        c = (inputs[0].detach().reshape(n, -1) > 0).double()
        K = K + c @ c.T + (1 - c) @ (1 - c).T

    hooks = [m.register_forward_pre_hook(count) for m in net.modules() if isinstance(m, _RELUS)]
    x = x.clone().requires_grad_(True)
    try:
        out = _logits(net(x))
    finally:
        for h in hooks:
            h.remove()
    out.backward(torch.ones_like(out))
    nwot = float(torch.linalg.slogdet(K)[1]) if hooks else float("nan")
    jac = x.grad.detach().reshape(n, -1).double().cpu().numpy()
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jac)
    if np.isfinite(corr).all():
        v = np.linalg.eigvalsh(corr)
        jacov = float(-np.sum(np.log(np.abs(v) + 1e-5) + 1.0 / (np.abs(v) + 1e-5)))
    else:
        jacov = float("nan")
    return {"nwot": nwot, "jacov": jacov}


def random_batch(input_shape: Sequence[int], batch_size: int = 64, seed: int = 0,
                 num_classes: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed random batch proxies are computed on: standard normal inputs and uniform labels."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch_size, *input_shape), generator=gen)
    return x, torch.randint(0, num_classes, (batch_size,), generator=gen)


def compute(model: nn.Module, input_shape: Sequence[int], proxies: Iterable[str] = PROXIES, batch_size: int = 64,
            seed: int = 0, graph: CompGraph | None = None, device: str | torch.device = "cpu") -> dict[str, float]:
    """The zero-cost proxies of ``model`` (left unchanged) as ``{name: value}``; higher = better for each.

    ``graph`` (the module's computation graph) saves a trace when ``flops``/``params`` are asked for; ``device``
    runs the network elsewhere (a copy; the random batch is drawn on the CPU, so scores do not depend on it).
    """
    proxies = list(proxies)
    unknown = [p for p in proxies if p not in PROXIES]
    if unknown:
        raise UnknownNameError(f"unknown zero-cost proxies {unknown}; known: {', '.join(PROXIES)}")
    input_shape = tuple(int(s) for s in input_shape)
    x, labels = random_batch(input_shape, batch_size, seed)
    x = x.to(device)
    out: dict[str, float] = {}
    if "synflow" in proxies:
        out["synflow"] = synflow(model, input_shape, device)
    if {"grad_norm", "snip"} & set(proxies):
        out.update(_gradient_scores(model, x, labels))
    if {"nwot", "jacov"} & set(proxies):
        out.update(_activation_scores(model, x))
    if {"flops", "params"} & set(proxies):
        if graph is None:
            from ..convert.api import to_graph
            graph = to_graph(model, input_shape=input_shape)
        out["flops"], out["params"] = graph.flops / 1e6, graph.params / 1e6
    return {p: out[p] for p in proxies}


class ZeroCostProxy(RegressorMixin, BaseEstimator):
    """A zero-cost proxy as a predictor: ``predict`` needs no training.

    Items are ``torch.nn.Module`` objects (pass ``input_shape``), architectures of ``space`` (their reference module
    is built under ``random_state``, which also draws the random batch, so scores are reproducible), or, for
    ``flops``/``params`` only, computation graphs.
    ``fit(items, y)`` is optional: it fits ``y ~ a * proxy + b`` by least squares so that ``predict`` answers in the
    units of ``y`` (the ranking does not change).
    """

    def __init__(self, proxy: str = "synflow", space: Any = None, input_shape: Sequence[int] | None = None,
                 batch_size: int = 64, random_state: int = 0, device: str = "cpu"):
        self.proxy = proxy
        self.space = space
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.requires_fit = False                  # predicts the raw proxy before (and without) any fit
        return tags

    def _space(self):
        if self.space is None or not isinstance(self.space, str):
            return self.space
        from .. import spaces
        return spaces.get(self.space)

    def _one(self, item: Any) -> float:
        if self.proxy not in PROXIES:
            raise UnknownNameError(f"unknown zero-cost proxy {self.proxy!r}; known: {', '.join(PROXIES)}")
        space = self._space()
        if isinstance(item, CompGraph) or (space is not None and self.proxy in ("flops", "params")):
            g = item if isinstance(item, CompGraph) else space.to_graph(item)
            if self.proxy not in ("flops", "params"):
                raise ConversionError(f"proxy {self.proxy!r} runs the network; pass a torch.nn.Module or an "
                                      "architecture with space=..., not a computation graph")
            return (g.flops if self.proxy == "flops" else g.params) / 1e6
        if isinstance(item, nn.Module):
            if self.input_shape is None:
                raise ConversionError("scoring a torch.nn.Module needs input_shape=(C, H, W)")
            return compute(item, self.input_shape, [self.proxy], self.batch_size, self.random_state,
                           device=self.device)[self.proxy]
        if space is None:
            raise ConversionError(f"cannot score {type(item).__name__}: pass torch.nn.Module objects with "
                                  "input_shape=..., or set space=<name> to score architecture encodings")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            model = space.build(item)
        return compute(model, space.input_shape, [self.proxy], self.batch_size, self.random_state,
                       device=self.device)[self.proxy]

    def scores(self, items: Iterable[Any]) -> np.ndarray:
        """The raw proxy value of each item (NaN where it is undefined, e.g. the output ignores the input)."""
        check_not_sparse(items)
        values = np.array([self._one(it) for it in track(items, f"score {self.proxy}")], dtype=np.float64)
        if not len(values):
            raise EmptyBatchError("got no architectures; pass a non-empty list of modules, graphs or encodings")
        return values

    def fit(self, items: Sequence[Any], y: Any) -> ZeroCostProxy:
        """Calibrate ``predict`` to the units of ``y`` by a least-squares line on the proxy; returns self."""
        s = self.scores(items)
        y = check_labels(y, len(s), "architectures")
        ok = np.isfinite(s)
        if ok.sum() >= 2 and np.ptp(s[ok]) > 0:
            self.coef_, self.intercept_ = np.polyfit(s[ok], y[ok], 1)
        else:
            self.coef_, self.intercept_ = 0.0, float(y.mean())
        return self

    def predict(self, items: Sequence[Any]) -> np.ndarray:
        """The proxy of each item, calibrated to the fitted labels' units once :meth:`fit` was called."""
        s = self.scores(items)
        return s * self.coef_ + self.intercept_ if hasattr(self, "coef_") else s

