"""NNI's NDS networks (``DARTS``, ``NASNet``, ``ENAS``, ``AmoebaNet``, ``PNAS``), built directly from a sample.

NNI implements these spaces after facebookresearch/unnas (``nni/nas/hub/pytorch/nasnet.py``): a stem, three stages
of cells (the first cell of stages 2 and 3 a reduction cell), global pooling and a linear classifier. Each cell
preprocesses its two inputs (1x1 ReLU-conv-BN, or a factorized reduction after a reduction cell), computes
``num_nodes_per_cell`` nodes as the sum of two ops on chosen earlier states, and concatenates all nodes (``merge_op``
``"all"``) or those no other node reads (``"loose_end"``).

Differences from NAS-Bench-301's DARTS network (``Network`` of the DARTS code base) that the graph keeps:
width and depth are choices (16/24/32 channels, 4 to 20 cells; the benchmark trains width 32, 8 cells), and NNI's
factorized reduction pads its input before the shifted 1x1 convolution (a ``pad`` and a ``slice`` node where the DARTS
code only slices).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from nape_plugin.errors import EncodingError
from nape_plugin.graph import CompGraph
from nape_plugin.graph.builder import GraphBuilder

__all__ = ["SPACES", "cell_choices", "build_graph"]

#: ``(op candidates, merge_op, nodes per cell)`` of each NDS space class of NNI's hub (their class attributes).
SPACES: dict[str, tuple[str, str, int]] = {
    "DARTS": ("DARTS_OPS", "all", 4),
    "PNAS": ("PNAS_OPS", "all", 5),
    "NASNet": ("NASNET_OPS", "loose_end", 5),
    "ENAS": ("ENAS_OPS", "loose_end", 5),
    "AmoebaNet": ("AMOEBA_OPS", "loose_end", 5),
}
_POOLS = {"avg_pool_2x2": ("avg", 2, 0), "avg_pool_3x3": ("avg", 3, 1), "avg_pool_5x5": ("avg", 5, 2),
          "max_pool_2x2": ("max", 2, 0), "max_pool_3x3": ("max", 3, 1), "max_pool_5x5": ("max", 5, 2),
          "max_pool_7x7": ("max", 7, 3)}


def cell_choices(sample: Mapping[str, Any], cell: str, num_nodes: int) -> list[tuple[int, str, int, str]]:
    """``[(input_a, op_a, input_b, op_b)]`` per node 2 .. num_nodes + 1 of the ``cell`` (``"normal"``/``"reduce"``)."""
    out = []
    for i in range(2, num_nodes + 2):
        node = []
        for k in (0, 1):
            try:
                op, inp = sample[f"{cell}/op_{i}_{k}"], sample[f"{cell}/input_{i}_{k}"]
            except KeyError as e:
                raise EncodingError(f"NNI NDS sample lacks {e.args[0]!r}; expected {cell}/op_i_k and "
                                    f"{cell}/input_i_k for nodes i = 2..{num_nodes + 1} and k = 0, 1") from None
            inp = inp[0] if isinstance(inp, (list, tuple)) and len(inp) == 1 else inp
            if not isinstance(inp, int) or not 0 <= inp < i:
                raise EncodingError(f"NNI NDS sample: {cell}/input_{i}_{k} = {inp!r}, expected one state in 0..{i - 1}")
            node += [inp, str(op)]
        out.append(tuple(node))
    return out


def _relu_conv_bn(b: GraphBuilder, x: int, c_out: int, kernel: int = 1, stride: int = 1, padding: int = 0) -> int:
    return b.bn(b.conv(b.relu(x), c_out, kernel, stride, padding))


def _factorized_reduce(b: GraphBuilder, x: int, c_out: int) -> int:
    x = b.relu(x)
    c, h, w = b.shape(x)
    y = b.op("slice", b.op("pad", x, (c, h + 1, w + 1)), (c, h, w))
    half = c_out // 2
    return b.bn(b.concat([b.conv(x, half, 1, 2, 0), b.conv(y, half, 1, 2, 0)]))


def _sep(b: GraphBuilder, x: int, c: int, k: int, stride: int, padding: int, dilation: int = 1) -> int:
    x = b.conv(b.relu(x), c, k, stride, padding, dilation, groups=c)
    return b.bn(b.conv(x, c, 1))


def _op(b: GraphBuilder, x: int, name: str, c: int, stride: int) -> int:
    """One op of NNI's NDS ``OPS`` table on ``x`` (``c`` channels in and out)."""
    if name in _POOLS:
        kind, k, p = _POOLS[name]
        return b.pool(kind, x, k, stride, p)
    if name == "skip_connect":
        return x if stride == 1 else _factorized_reduce(b, x, c)
    if name in ("conv_1x1", "conv_3x3"):
        k = int(name[-1])
        return _relu_conv_bn(b, x, c, k, stride, k // 2)
    if name.startswith("sep_conv_"):
        k = int(name[-1])
        return _sep(b, _sep(b, x, c, k, stride, k // 2), c, k, 1, k // 2)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        k = int(name[-1])
        return _sep(b, x, c, k, stride, k - 1, 2)
    if name == "dil_sep_conv_3x3":
        return _sep(b, _sep(b, x, c, 3, stride, 2, 2), c, 3, 1, 2, 2)
    if name in ("conv_3x1_1x3", "conv_7x1_1x7"):
        k = int(name[-1])
        x = b.conv(b.relu(x), c, (1, k), (1, stride), (0, k // 2))
        return b.bn(b.conv(x, c, (k, 1), (stride, 1), (k // 2, 0)))
    raise EncodingError(f"NNI NDS op {name!r} has no direct builder (known: {', '.join(sorted(_known()))})")


def _known() -> set[str]:
    return {*_POOLS, "skip_connect", "conv_1x1", "conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
            "dil_conv_3x3", "dil_conv_5x5", "dil_sep_conv_3x3", "conv_3x1_1x3", "conv_7x1_1x7"}


def build_graph(sample: Mapping[str, Any], config: Mapping[str, Any], input_shape: Sequence[int] | None = None,
                ) -> CompGraph:
    """The graph of the frozen ``NDS(**config)`` for ``sample`` (labels without a common scope).

    ``config`` holds NDS's constructor arguments: op_candidates, merge_op, num_nodes_per_cell, width, num_cells,
    dataset, auxiliary_loss, drop_path_prob. NNI builds the auxiliary head only for retraining a fixed model; it
    runs in training mode only and is not part of the graph, so ``auxiliary_loss=True`` is refused here.
    """
    if config.get("auxiliary_loss"):
        raise EncodingError("NNI NDS with auxiliary_loss=True has no direct builder; trace the frozen model instead")
    merge_op, n_nodes = config["merge_op"], int(config["num_nodes_per_cell"])
    width = _choice(sample, "width", config["width"])
    depth = _choice(sample, "depth", config["num_cells"])
    cifar = config.get("dataset", "imagenet") == "cifar"
    num_labels = 10 if cifar else 1000
    unknown = {op for cell in ("normal", "reduce") for node in cell_choices(sample, cell, n_nodes)
               for op in node[1::2]} - _known()
    if unknown:
        raise EncodingError(f"NNI NDS ops {sorted(unknown)} have no direct builder")
    cells = {cell: cell_choices(sample, cell, n_nodes) for cell in ("normal", "reduce")}
    shape = tuple(input_shape) if input_shape is not None else ((3, 32, 32) if cifar else (3, 224, 224))
    b = GraphBuilder(shape)
    c = width
    if cifar:
        s0 = s1 = b.bn(b.conv(b.input, 3 * c, 3, 1, 1))
        last_reduce = False
    else:
        s0 = b.bn(b.conv(b.relu(b.bn(b.conv(b.input, c // 2, 3, 2, 1))), c, 3, 2, 1))
        s1 = _relu_conv_bn(b, s0, c, 3, 2, 1)
        last_reduce = True
    for stage in range(3):
        if stage:
            c *= 2
        for r in range((stage + 1) * depth // 3 - stage * depth // 3):
            reduce = stage > 0 and r == 0
            choices = cells["reduce" if reduce else "normal"]
            pre0 = _factorized_reduce(b, s0, c) if last_reduce else _relu_conv_bn(b, s0, c)
            states = [pre0, _relu_conv_bn(b, s1, c)]
            for in_a, op_a, in_b, op_b in choices:
                states.append(b.add([_op(b, states[j], op, c, 2 if reduce and j < 2 else 1)
                                     for j, op in ((in_a, op_a), (in_b, op_b))]))
            used = {j for node in choices for j in node[0::2]}
            outs = [k for k in range(2, n_nodes + 2) if merge_op == "all" or k not in used]
            s0, s1 = s1, b.concat([states[k] for k in outs])
            last_reduce = reduce
    x = b.linear(b.flatten(b.global_pool(s1)), num_labels)
    meta: dict[str, Any] = {"source": "nni", "model": "NDS", "input_shape": list(shape)}
    g = b.build(x, meta=meta)
    unused = sum(n.params for n in b.nodes) - g.params     # preprocessors of states that no node reads
    return g.with_meta(unused_params=unused) if unused else g


def _choice(sample: Mapping[str, Any], label: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    if label not in sample:
        raise EncodingError(f"NNI NDS sample lacks {label!r} (the space chooses it from {tuple(value)})")
    return int(sample[label])

