"""NNI's NAS-Bench-101 network, built directly from a sample (no model is instantiated).

NNI's ``NasBench101`` computes the network of the benchmark (stem, three stacks of three cells joined by 2x2 max
pools, global pooling, linear) but its frozen cell allocates a 1x1 projection (conv, BN, ReLU) from the cell input to
*every* vertex, where the benchmark only creates those of vertices fed by the input. The unused projections never run,
so the graph is the benchmark's, and their weights are reported in ``graph.meta["unused_params"]``: for the cell of
NB101 hash 00005c14... PyTorch counts 10,302,986 parameters, the benchmark records 8,555,530 (the parameters the
network uses, which is what the graph says), the difference being 1,747,456 unused projection weights.

Channel counts and pruning come from NNI's own functions, so the graph follows NNI's code.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from nape_plugin.errors import EncodingError
from nape_plugin.graph import CompGraph
from nape_plugin.graph.builder import GraphBuilder

__all__ = ["OPS", "cell_spec", "build_graph"]

#: NNI's op names in ``NasBench101`` (the benchmark's names).
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")


def cell_spec(sample: Mapping[str, Any], max_num_nodes: int = 7, max_num_edges: int = 9,
              ) -> tuple[list[list[int]], list[str]]:
    """The pruned (adjacency matrix, ops) of a sample of NNI's ``NasBench101Cell`` (labels without the ``cell/``
    scope: ``num_nodes``, ``op1``..., ``input1``...). Ops include ``"input"`` and ``"output"``, as in the benchmark."""
    from nni.mutable import ConstraintViolation
    from nni.nas.hub.pytorch.modules.nasbench101 import _NasBench101CellFixed, prune
    try:
        n = int(sample["num_nodes"])
        if not 2 <= n <= max_num_nodes:
            raise EncodingError(f"NNI NasBench101 sample: num_nodes={n} is outside 2..{max_num_nodes}")
        ops = ["input", *(str(sample[f"op{i}"]) for i in range(1, n - 1)), "output"]
        inputs = [[int(k) for k in sample[f"input{i}"]] for i in range(1, n)]
    except KeyError as e:
        raise EncodingError(f"NNI NasBench101 sample {dict(sample)!r} lacks {e.args[0]!r}; expected num_nodes, "
                            "op1..op{num_nodes-2} and input1..input{num_nodes-1}") from None
    bad = [op for op in ops[1:-1] if op not in OPS]
    if bad:
        raise EncodingError(f"NNI NasBench101 sample: unknown op(s) {bad}; the ops are {', '.join(OPS)}")
    if any(not 0 <= k < i for i, ks in enumerate(inputs, 1) for k in ks):
        raise EncodingError(f"NNI NasBench101 sample: input{{i}} may only name vertices 0..i-1, got {inputs}")
    if sum(len(ks) for ks in inputs) > max_num_edges:
        raise EncodingError(f"NNI NasBench101 sample has {sum(len(ks) for ks in inputs)} edges; the space allows "
                            f"at most {max_num_edges}")
    matrix = _NasBench101CellFixed.build_connection_matrix(inputs, n)
    try:
        matrix, ops = prune(matrix, ops)
    except ConstraintViolation as e:
        raise EncodingError(f"NNI NasBench101 sample {dict(sample)!r} is invalid: {e}") from None
    return matrix.astype(int).tolist(), list(ops)


def _conv_bn_relu(b: GraphBuilder, x: int, c_out: int, kernel: int) -> int:
    return b.relu(b.bn(b.conv(x, c_out, kernel, padding=kernel // 2)))


def _cell(b: GraphBuilder, x: int, matrix: Sequence[Sequence[int]], ops: Sequence[str], c_out: int) -> tuple[int, int]:
    """Appends one cell; returns (output node, weights of the projections the cell allocates but never uses)."""
    from nni.nas.hub.pytorch.modules.nasbench101 import compute_vertex_channels
    n = len(matrix)
    c_in = b.shape(x)[0]
    ch = [int(c) for c in compute_vertex_channels(c_in, c_out, np.asarray(matrix))]
    unused = sum(c_in * ch[t] + 2 * ch[t] for t in range(1, n) if not matrix[0][t])
    tensors = [x]
    for t in range(1, n - 1):
        add_in = [tensors[s] if ch[s] == ch[t] else b.op("slice", tensors[s], (ch[t], *b.shape(tensors[s])[1:]))
                  for s in range(1, t) if matrix[s][t]]
        if matrix[0][t]:
            add_in.append(_conv_bn_relu(b, x, ch[t], 1))
        v = b.add(add_in)
        if ops[t] == "maxpool3x3":
            tensors.append(b.pool("max", v, 3, 1, 1))
        else:
            tensors.append(_conv_bn_relu(b, v, ch[t], 3 if ops[t] == "conv3x3-bn-relu" else 1))
    sources = [s for s in range(n - 1) if matrix[s][n - 1]]
    if len(sources) == 1:
        return (_conv_bn_relu(b, x, ch[n - 1], 1) if sources[0] == 0 else tensors[sources[0]]), unused
    out = b.concat([tensors[s] for s in sources if s > 0])
    if matrix[0][n - 1]:
        out = b.add([out, _conv_bn_relu(b, x, ch[n - 1], 1)])
    return out, unused


def build_graph(matrix: Sequence[Sequence[int]], ops: Sequence[str], stem_out_channels: int = 128,
                num_stacks: int = 3, num_modules_per_stack: int = 3, num_labels: int = 10,
                input_shape: Sequence[int] = (3, 32, 32)) -> CompGraph:
    """The graph of NNI's ``NasBench101(stem_out_channels, num_stacks, num_modules_per_stack, num_labels=...)`` with
    the pruned cell ``(matrix, ops)`` in every cell (see :func:`cell_spec`)."""
    b = GraphBuilder(input_shape)
    x = _conv_bn_relu(b, b.input, stem_out_channels, 3)
    channels, unused = stem_out_channels, 0
    for stack in range(num_stacks):
        if stack:
            x = b.pool("max", x, 2, 2)
            channels *= 2
        for _ in range(num_modules_per_stack):
            x, u = _cell(b, x, matrix, ops, channels)
            unused += u
    x = b.linear(b.flatten(b.global_pool(x)), num_labels)
    meta: dict[str, Any] = {"source": "nni", "model": "NasBench101", "input_shape": list(input_shape)}
    if unused:
        meta["unused_params"] = unused
    return b.build(x, meta=meta)
