"""NASLib search-space graph objects -> (nape space name, encoding that space parses).

Pure functions: nothing here imports NASLib. Objects are recognised by duck typing, as NASLib's own optimizers treat
them: ``get_type()`` names the space and one getter holds the architecture (``get_spec()`` for nasbench101,
``get_op_indices()`` for nasbench201 and the TransNAS-Bench-101 spaces, ``get_compact()`` for nasbench301).

NASLib quirks handled here:

* with numpy 2, op indices and compact tuples hold ``np.int64`` (their text form reads ``np.int64(3)``), TransNAS-Bench
  macro indices are a padded ``np.ndarray``; every value is turned into a plain ``int``;
* a nasbench101 spec is the sampled 7x7 matrix before pruning (or NASLib's padded form of a pruned cell); the nb101
  space prunes it as NAS-Bench-101 does before it trains a cell;
* TransNAS-Bench-101 micro op indices always follow the benchmark's arch string ``64-41414-a_bc_def`` (edges (0,1)
  (0,2) (1,2) (0,3) (1,3) (2,3); ids 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3): NASLib queries the
  benchmark with that reading whatever ``create_graph`` says, so it is the one whose labels match.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from nape_plugin.errors import ConversionError, EncodingError

#: NASLib ``get_type()`` -> nape space name.
SPACES: dict[str, str] = {
    "nasbench101": "nb101",
    "nasbench201": "nb201",
    "nasbench301": "nb301",
    "transbench101_micro": "tnb101_micro",
    "transbench101_macro": "tnb101_macro",
}
#: NASLib ``get_type()`` -> the getter holding the architecture.
GETTERS: dict[str, str] = {
    "nasbench101": "get_spec",
    "nasbench201": "get_op_indices",
    "nasbench301": "get_compact",
    "transbench101_micro": "get_op_indices",
    "transbench101_macro": "get_op_indices",
}

NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")   # NASLib's ids
NB201_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))                           # NASLib's edge order
NB301_NUM_OPS = 7
TNB101_MICRO_NUM_OPS = 4


@dataclass(frozen=True)
class Arch:
    """One NASLib architecture in nape terms: the nape space name, its encoding there, and NASLib's type name."""

    space: str
    encoding: Any
    naslib_type: str


def naslib_type(obj: Any) -> str | None:
    """The NASLib space type of ``obj`` (``"nasbench201"`` ...) when it looks like a NASLib graph object, else None."""
    get_type = getattr(obj, "get_type", None)
    if not callable(get_type):
        return None
    try:
        kind = get_type()
    except Exception:   # a foreign object whose get_type needs arguments or state: not ours
        return None
    if not isinstance(kind, str) or kind not in GETTERS or not callable(getattr(obj, GETTERS[kind], None)):
        return None
    return kind


def plain_int(value: Any, what: str) -> int:
    """``value`` as a Python int (accepts numpy integers and integral floats); ``EncodingError`` otherwise."""
    if isinstance(value, bool):
        raise EncodingError(f"{what}: got the bool {value!r}, expected an integer")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    raise EncodingError(f"{what}: got {value!r} ({type(value).__name__}), expected an integer")


def int_list(values: Any, what: str) -> list[int]:
    """A flat list of plain ints from a list, tuple or numpy array."""
    if hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise EncodingError(f"{what}: got {type(values).__name__} {values!r:.80}, expected a sequence of integers")
    return [plain_int(v, f"{what}[{i}]") for i, v in enumerate(values)]


# ----------------------------------------------------------------------------------------------- nasbench101
def nb101_encoding(spec: Any) -> dict[str, list]:
    """A NASLib nasbench101 spec (``{"matrix": ndarray, "ops": [...]}``) as plain nested lists.

    The matrix may be the sampled one before pruning or NASLib's padded form of a pruned cell; the nb101 space prunes
    it as the benchmark does.
    """
    if not isinstance(spec, dict) or "matrix" not in spec or "ops" not in spec:
        raise EncodingError(f"nasbench101 spec must be a dict with 'matrix' and 'ops'; got {spec!r:.80}")
    matrix = spec["matrix"]
    rows = matrix.tolist() if hasattr(matrix, "tolist") else matrix
    if not isinstance(rows, (list, tuple)):
        raise EncodingError(f"nasbench101 matrix must be a 2-d array or nested list; got {type(matrix).__name__}")
    return {"matrix": [int_list(r, f"nasbench101 matrix row {i}") for i, r in enumerate(rows)],
            "ops": [str(o) for o in spec["ops"]]}


# ----------------------------------------------------------------------------------------------- nasbench201
def nb201_encoding(op_indices: Any) -> str:
    """NASLib nasbench201 op indices as the NB201 arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
    ids = int_list(op_indices, "nasbench201 op indices")
    if len(ids) != 6 or any(not 0 <= i < len(NB201_OPS) for i in ids):
        raise EncodingError(f"nasbench201 op indices {ids} must be 6 ids in 0..4 for the edges (1,2) (1,3) (1,4) "
                            "(2,3) (2,4) (3,4); ids: " + ", ".join(f"{i} {o}" for i, o in enumerate(NB201_OPS)))
    op = {edge: NB201_OPS[i] for edge, i in zip(NB201_EDGES, ids)}
    return f"|{op[0, 1]}~0|+|{op[0, 2]}~0|{op[1, 2]}~1|+|{op[0, 3]}~0|{op[1, 3]}~1|{op[2, 3]}~2|"


# ----------------------------------------------------------------------------------------------- nasbench301
def nb301_encoding(compact: Any) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """A NASLib nasbench301 compact (normal cell, reduce cell; 8 ``(input node, op id)`` pairs each) with plain ints."""
    if compact is None:
        raise EncodingError("nasbench301 object has no architecture yet (get_compact() is None); sample or set one")
    cells = list(compact.tolist() if hasattr(compact, "tolist") else compact)
    if len(cells) != 2:
        raise EncodingError(f"nasbench301 compact must hold 2 cells (normal, reduce); got {len(cells)}")
    out = []
    for c, cell in enumerate(cells):
        pairs = list(cell)
        if len(pairs) != 8:
            raise EncodingError(f"nasbench301 compact cell {c} must hold 8 (input, op) pairs; got {len(pairs)}")
        cell_pairs = []
        for k, pair in enumerate(pairs):
            node, op = int_list(pair, f"nasbench301 compact cell {c} pair {k}")
            if not 0 <= node < k // 2 + 2:
                raise EncodingError(f"nasbench301 compact cell {c} pair {k}: input node {node} must be in "
                                    f"0..{k // 2 + 1} (two cell inputs, then earlier intermediate nodes)")
            if not 0 <= op < NB301_NUM_OPS:
                raise EncodingError(f"nasbench301 compact cell {c} pair {k}: op id {op} must be in 0..6")
            cell_pairs.append((node, op))
        out.append(tuple(cell_pairs))
    return out[0], out[1]


# ------------------------------------------------------------------------------------------ transbench101
def tnb101_micro_encoding(op_indices: Any) -> tuple[int, ...]:
    """NASLib transbench101_micro op indices as the benchmark's 6 digits (see the module docstring)."""
    ids = int_list(op_indices, "transbench101_micro op indices")
    if len(ids) != 6 or any(not 0 <= i < TNB101_MICRO_NUM_OPS for i in ids):
        raise EncodingError(f"transbench101_micro op indices {ids} must be 6 ids in 0..3 (0 none, 1 skip_connect, "
                            "2 nor_conv_1x1, 3 nor_conv_3x3)")
    return tuple(ids)


def tnb101_macro_encoding(op_indices: Any) -> str:
    """NASLib transbench101_macro op indices (a zero-padded array of 4..6 layer codes in 1..4) as ``64-xxxx-basic``."""
    ids = int_list(op_indices, "transbench101_macro op indices")
    codes = [i for i in ids if i != 0]
    if any(i != 0 for i in ids[len(codes):]) or not 4 <= len(codes) <= 6 or any(not 1 <= i <= 4 for i in codes):
        raise EncodingError(f"transbench101_macro op indices {ids} must be 4 to 6 layer codes in 1..4 (1 keep, "
                            "2 double channels, 3 downsample, 4 both), zero-padded at the end")
    return "64-{}-basic".format("".join(map(str, codes)))


ENCODERS: dict[str, Callable[[Any], Any]] = {
    "nasbench101": nb101_encoding,
    "nasbench201": nb201_encoding,
    "nasbench301": nb301_encoding,
    "transbench101_micro": tnb101_micro_encoding,
    "transbench101_macro": tnb101_macro_encoding,
}


def to_arch(obj: Any, kind: str | None = None) -> Arch:
    """The nape space and encoding of a NASLib graph object; ``ConversionError`` when it holds no architecture."""
    kind = kind or naslib_type(obj)
    if kind is None:
        raise ConversionError(f"{type(obj).__qualname__} is not a NASLib search-space graph object of a supported "
                              f"type ({', '.join(GETTERS)})")
    getter = GETTERS[kind]
    try:
        raw = getattr(obj, getter)()
    except Exception as e:
        raise ConversionError(f"NASLib {kind} object: {getter}() failed ({type(e).__name__}: {e}); set an "
                              "architecture first (sample_random_architecture or set_spec)") from e
    if raw is None:
        raise ConversionError(f"NASLib {kind} object holds no architecture ({getter}() returned None); set one first "
                              "(sample_random_architecture or set_spec)")
    try:
        encoding = ENCODERS[kind](raw)
    except EncodingError as e:
        raise ConversionError(f"NASLib {kind} object: {e}") from e
    return Arch(SPACES[kind], encoding, kind)


def cache_key(obj: Any, kind: str) -> Hashable | None:
    """A hashable key from ``obj.get_hash()`` (numpy scalars made plain), or None when there is none."""
    get_hash = getattr(obj, "get_hash", None)
    if not callable(get_hash):
        return None
    try:
        return kind, _freeze(get_hash())
    except Exception:   # no architecture set yet, or an unhashable value: convert without caching
        return None


def _freeze(value: Any) -> Hashable:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    hash(value)
    return value
