"""Tracing frozen NNI models: the NNI idioms the core tracer does not see through, rewritten before it runs.

Two things stand between torch.fx and NNI 3.0's modules:

* ``torch.sum(torch.stack(xs), 0)`` (and ``torch.mean``): how NNI's ``Cell`` and ``NasBench201Cell`` merge a node's
  inputs. It is an n-ary add (a mean is an add and a division); the fx graph is rewritten to say so, so the graph of an
  NNI cell equals the graph of the same cell written with Python's ``sum``.
* ``_NasBench101CellFixed`` (a frozen ``NasBench101Cell``) compares tensor sizes and NumPy integers in ``forward``,
  which fx cannot trace. It is swapped, for the time of the trace, for a module with the same submodules and a static
  ``forward`` computing the same function.

The rewritten ``GraphModule`` then goes through :func:`nape_plugin.convert.trace.trace` like any module.
Parameters of the original model that the network never uses (NNI's NAS-Bench-101 cell allocates a projection for
every vertex, used or not) are reported in ``graph.meta["unused_params"]``.
"""
from __future__ import annotations

import contextlib
import inspect
import operator
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.fx as fx
from torch import nn

from nape_plugin.convert.opmap import module_mapping, op_mappings
from nape_plugin.convert.trace import trace
from nape_plugin.errors import TraceError
from nape_plugin.graph import CompGraph

__all__ = ["trace_model", "merge_stacked_reductions"]


class _Tracer(fx.Tracer):
    """Keeps the module classes the core tracer maps to single ops as leaves (the same leaves it will see), except
    NNI's ``_ListIdentity`` (a ``Cell``'s default preprocessor): an ``nn.Identity`` that passes a Python list through,
    which must be inlined for the cell's list operations to stay Python."""

    def __init__(self, modules: dict):
        super().__init__()
        from nni.nas.nn.pytorch.cell import _ListIdentity
        self.modules = modules
        self.inlined = (_ListIdentity,)

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if isinstance(m, self.inlined):
            return False
        return module_mapping(self.modules, type(m)) is not None or super().is_leaf_module(m, qualname)


def _arg(node: fx.Node, pos: int, key: str, default: Any) -> Any:
    return node.args[pos] if len(node.args) > pos else node.kwargs.get(key, default)


def _is_reduction(node: fx.Node) -> str | None:
    """``"sum"`` or ``"mean"`` when ``node`` reduces its first argument with torch.sum/mean (function or method)."""
    if node.op == "call_function" and node.target in (torch.sum, torch.mean):
        return node.target.__name__
    if node.op == "call_method" and node.target in ("sum", "mean"):
        return str(node.target)
    return None


def merge_stacked_reductions(graph: fx.Graph) -> int:
    """Rewrite ``torch.sum(torch.stack(xs), 0)`` into ``xs[0] + xs[1] + ...`` (a mean also divides by ``len(xs)``).

    Only a stack along dim 0 reduced along dim 0 without ``keepdim``, whose result nothing else reads, is rewritten.
    Returns the number of rewrites.
    """
    count = 0
    for node in list(graph.nodes):
        kind = _is_reduction(node)
        if kind is None or not node.args:
            continue
        stack = node.args[0]
        if not (isinstance(stack, fx.Node) and stack.op == "call_function" and stack.target is torch.stack):
            continue
        xs = _arg(stack, 0, "tensors", None)
        if not isinstance(xs, (list, tuple)) or not xs or _arg(stack, 1, "dim", 0) != 0 or len(stack.users) != 1 \
                or _arg(node, 1, "dim", None) not in (0, (0,), [0]) or _arg(node, 2, "keepdim", False) \
                or node.kwargs.get("dtype") is not None:
            continue
        with graph.inserting_before(node):
            acc = xs[0]
            for x in xs[1:]:
                acc = graph.call_function(operator.add, (acc, x))
            if kind == "mean" and len(xs) > 1:
                acc = graph.call_function(operator.truediv, (acc, len(xs)))
        node.replace_all_uses_with(acc)
        graph.erase_node(node)
        graph.erase_node(stack)
        count += 1
    return count


# --------------------------------------------------------------------------------------- traceable stand-ins
class NB101CellTwin(nn.Module):
    """A frozen NNI ``NasBench101Cell`` with a static ``forward``: the same submodules, the same function.

    Mirrors ``_NasBench101CellFixed.forward``: vertex ``t`` applies its op to the sum of its predecessors (truncated to
    its channel count) and, when the cell input feeds it, the input's projection; the output concatenates the vertices
    feeding it and adds the input's projection when the input feeds the output directly.
    """

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.projections = cell.projections
        self.ops = cell.ops
        self.matrix = [[int(v) for v in row] for row in cell.connection_matrix]
        self.channels = [int(c) for c in cell.hidden_features]
        self.num_nodes = int(cell.num_nodes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, ch, n = self.matrix, self.channels, self.num_nodes
        tensors = [x]
        for t in range(1, n - 1):
            add_in = [tensors[s] if ch[s] == ch[t] else tensors[s][:, :ch[t]] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                add_in.append(self.projections[t](x))
            tensors.append(self.ops[t](add_in[0] if len(add_in) == 1 else sum(add_in)))
        sources = [s for s in range(n - 1) if m[s][n - 1]]
        if len(sources) == 1:
            return self.projections[n - 1](x) if sources[0] == 0 else tensors[sources[0]]
        out = torch.cat([tensors[s] for s in sources if s > 0], 1)
        if m[0][n - 1]:
            out = out + self.projections[n - 1](x)
        return out


def _twin_factories() -> dict[type, Callable[[nn.Module], nn.Module]]:
    from nni.nas.hub.pytorch.modules.nasbench101 import _NasBench101CellFixed
    return {_NasBench101CellFixed: NB101CellTwin}


@contextlib.contextmanager
def _traceable(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` with every untraceable NNI submodule swapped for its stand-in; restored on exit."""
    factories = _twin_factories()
    if type(module) in factories:
        yield factories[type(module)](module)
        return
    swaps = [(parent, name, child) for parent in module.modules() for name, child in parent.named_children()
             if type(child) in factories]
    try:
        for parent, name, child in swaps:
            setattr(parent, name, factories[type(child)](child))
        yield module
    finally:
        for parent, name, child in swaps:
            setattr(parent, name, child)


def _concrete_args(module: nn.Module) -> dict[str, Any]:
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {p.name: p.default for p in params[1:] if p.default is not inspect.Parameter.empty}


def trace_model(module: nn.Module, input_shape: Sequence[int], name: str | None = None) -> CompGraph:
    """The computation graph of a frozen NNI model (or any module built from NNI's modules)."""
    name = name or type(module).__name__
    modules, _, _ = op_mappings()
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with _traceable(module) as root:
            tracer = _Tracer(modules)
            try:
                graph = tracer.trace(root, concrete_args=_concrete_args(root) or None)
            except Exception as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                raise TraceError(
                    f"torch.fx cannot trace the NNI model {name}: {type(e).__name__}: {first}. Data-dependent control "
                    "flow is the usual cause: register the offending submodule as a single op through the "
                    "nape_op_mappings hook (docs/plugin_hooks.md), or make its control flow static; docs/nni.md "
                    "lists the NNI spaces known to trace") from e
            merge_stacked_reductions(graph)
            gm = fx.GraphModule(root, graph, class_name=name)
    finally:
        for m, training in modes:
            m.training = training
    g = trace(gm, input_shape, name=name)
    unused = sum(p.numel() for p in module.parameters()) - g.params
    meta = {k: v for k, v in g.meta.items() if k != "unused_params"}
    if unused > 0:
        meta["unused_params"] = unused
    return CompGraph(g.nodes, g.edges, meta, validate=False) if meta != g.meta else g
