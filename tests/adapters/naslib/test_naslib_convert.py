"""NASLib graph objects -> nape encodings and graphs, with stand-ins that expose NASLib's getters (no NASLib needed)."""
from __future__ import annotations

import ast
import csv
import random

import numpy as np
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import ConversionError, EncodingError
from nape_naslib import convert
from nape_naslib.plugin import GraphCache, cache, naslib_graph


class FakeGraph:
    """Exposes what NASLib's search-space graphs expose: get_type(), the space's getter and get_hash()."""

    def __init__(self, kind: str, arch, getter: str | None = None):
        self.kind, self.arch = kind, arch
        setattr(self, getter or convert.GETTERS[kind], lambda: self.arch)

    def get_type(self) -> str:
        return self.kind

    def get_hash(self):
        if self.kind == "nasbench101":
            return tuple(np.asarray(self.arch["matrix"]).flatten().tolist()) + tuple(self.arch["ops"])
        return tuple(np.asarray(self.arch, dtype=object).flatten().tolist()) if self.kind == "nasbench301" \
            else tuple(self.arch)


def space_or_skip(name: str):
    if name not in nape.spaces.names():
        pytest.skip(f"space {name} is not registered")
    return nape.spaces.get(name)


# ------------------------------------------------------------------------------------------------- recognition
def test_naslib_type_recognises_only_naslib_like_objects():
    assert convert.naslib_type(FakeGraph("nasbench201", (0,) * 6)) == "nasbench201"

    class NoGetter:
        def get_type(self):
            return "nasbench201"

    class Raises:
        def get_type(self):
            raise RuntimeError("needs state")

    class Other:
        def get_type(self, x):
            return x

    for obj in (NoGetter(), Raises(), Other(), FakeGraph("nlp", (0,), "get_compact"), object(), "nasbench201"):
        assert convert.naslib_type(obj) is None


# ------------------------------------------------------------------------------------------------- nasbench201
def test_nb201_op_indices_map_to_the_arch_string():
    # the first row of the benchmark table: NASLib tuple (4, 3, 3, 0, 0, 0)
    expect = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert convert.nb201_encoding([4, 3, 3, 0, 0, 0]) == expect
    assert convert.nb201_encoding(np.array([4, 3, 3, 0, 0, 0], dtype=np.int64)) == expect
    assert convert.nb201_encoding(tuple(np.int64(v) for v in (4, 3, 3, 0, 0, 0))) == expect


def test_nb201_encoding_matches_the_benchmark_table(shared_data):
    with open(shared_data / "nb201" / "nb201.csv") as f:
        rows = [(r["naslib_tuple"], r["arch_str"]) for r in csv.DictReader(f)]
    assert len(rows) == 15625
    for tup, arch in rows:
        assert convert.nb201_encoding(ast.literal_eval(tup)) == arch


@pytest.mark.parametrize("bad", [(0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5), (0, 1, 2, 3, -1, 0), (0.5, 0, 0, 0, 0, 0),
                                 (True, 0, 0, 0, 0, 0), "012340"])
def test_nb201_bad_op_indices_raise(bad):
    with pytest.raises(EncodingError):
        convert.nb201_encoding(bad)


# ------------------------------------------------------------------------------------------------- nasbench101
def test_nb101_unpruned_numpy_spec_converts_to_its_pruned_graph():
    space = space_or_skip("nb101")
    # vertex 2 only feeds vertex 3, which reaches nothing: both are pruned
    matrix = np.array([[0, 1, 1, 0, 0, 0, 1],
                       [0, 0, 0, 0, 1, 0, 0],
                       [0, 0, 0, 1, 0, 0, 0],
                       [0, 0, 0, 0, 0, 0, 0],
                       [0, 0, 0, 0, 0, 1, 0],
                       [0, 0, 0, 0, 0, 0, 1],
                       [0, 0, 0, 0, 0, 0, 0]], dtype=np.int64)
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"]
    enc = convert.nb101_encoding({"matrix": matrix, "ops": ops})
    assert enc["matrix"][0] == [0, 1, 1, 0, 0, 0, 1] and all(type(v) is int for row in enc["matrix"] for v in row)
    pruned = ([[0, 1, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
              ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"])
    cache.clear()
    assert nape.to_graph(FakeGraph("nasbench101", {"matrix": matrix, "ops": ops})) == space.to_graph(pruned)


def test_nb101_rows_of_the_benchmark_table_convert(shared_data):
    space = space_or_skip("nb101")
    with open(shared_data / "nb101" / "nb101_subset.csv") as f:
        rows = [r for _, r in zip(range(20), csv.DictReader(f))]
    for r in rows:
        matrix, ops = np.array(ast.literal_eval(r["adjacency"])), ast.literal_eval(r["ops"])
        fake = FakeGraph("nasbench101", {"matrix": matrix, "ops": ops})
        assert naslib_graph(fake) == space.to_graph((matrix.tolist(), ops))
        assert space.arch_id(convert.to_arch(fake).encoding) == r["nb101_hash"]


def test_nb101_malformed_spec_raises():
    with pytest.raises(EncodingError):
        convert.nb101_encoding({"matrix": np.zeros((3, 3))})
    with pytest.raises(EncodingError):
        convert.nb101_encoding({"matrix": 5, "ops": ["input", "output"]})


# ------------------------------------------------------------------------------------------------- nasbench301
def test_nb301_compact_with_numpy_ints_becomes_plain_ints():
    rng = np.random.default_rng(0)
    compact = tuple(tuple((np.int64(rng.integers(k // 2 + 2)), np.int64(rng.integers(7))) for k in range(8))
                    for _ in range(2))
    enc = convert.nb301_encoding(compact)
    assert enc == tuple(tuple((int(a), int(b)) for a, b in cell) for cell in compact)
    assert all(type(v) is int for cell in enc for pair in cell for v in pair)
    assert "np.int64" not in repr(enc)
    # NASLib's mutable (list) form converts the same
    assert convert.nb301_encoding([[list(p) for p in cell] for cell in compact]) == enc


@pytest.mark.parametrize("bad", [((0, 0),) * 8,                                     # one cell
                                 (((0, 0),) * 7, ((0, 0),) * 8),                    # 7 pairs
                                 (((0, 0),) * 8, ((0, 7),) + ((0, 0),) * 7),        # op 7
                                 (((0, 0),) * 7 + ((6, 0),), ((0, 0),) * 8)])       # pair 7 reads node 6
def test_nb301_bad_compact_raises(bad):
    with pytest.raises(EncodingError):
        convert.nb301_encoding(bad)


def test_nb301_rows_of_the_benchmark_table_convert(shared_data):
    space = space_or_skip("nb301")
    with open(shared_data / "nb301" / "nb301_500.csv") as f:
        rows = [r for _, r in zip(range(10), csv.DictReader(f))]
    for r in rows:
        compact = tuple(tuple(tuple(np.int64(v) for v in p) for p in cell) for cell in ast.literal_eval(r["naslib_arch"]))
        fake = FakeGraph("nasbench301", compact)
        assert naslib_graph(fake) == space.to_graph(r["genotype"])


# ------------------------------------------------------------------------------------------ transbench101
def test_tnb101_micro_follows_the_benchmark_string_order(shared_data):
    space = space_or_skip("tnb101_micro")
    with open(shared_data / "tnb101" / "tnb101_micro_class_scene.csv") as f:
        nets = [ast.literal_eval(r["net"]) for _, r in zip(range(10), csv.DictReader(f))]
    for net in nets:
        fake = FakeGraph("transbench101_micro", np.array(net))    # NASLib samples with np.random.randint
        enc = convert.to_arch(fake).encoding
        assert enc == net
        assert space.parse(enc) == "64-41414-{}_{}{}_{}{}{}".format(*net)
        assert naslib_graph(fake) == space.to_graph(net)


def test_tnb101_macro_padded_array_becomes_arch_string():
    assert convert.tnb101_macro_encoding(np.array([1, 2, 3, 4, 0, 0])) == "64-1234-basic"
    assert convert.tnb101_macro_encoding([4, 1, 3, 2, 1, 3]) == "64-413213-basic"
    for bad in ([1, 2, 3, 0, 0, 0], [1, 0, 2, 3, 4, 0], [1, 2, 5, 4, 0, 0]):
        with pytest.raises(EncodingError):
            convert.tnb101_macro_encoding(bad)
    space = space_or_skip("tnb101_macro")
    fake = FakeGraph("transbench101_macro", np.array([1, 2, 3, 4, 0, 0]))
    assert naslib_graph(fake) == space.to_graph("64-1234-basic")


# --------------------------------------------------------------------------------------------------- the hook
def test_to_graph_converts_caches_and_unwraps_optimizer_holders():
    space = nape.spaces.get("nb201")
    cache.clear()
    ids = (2, 2, 0, 4, 2, 0)
    g = nape.to_graph(FakeGraph("nasbench201", np.array(ids)))
    assert g == space.to_graph(convert.nb201_encoding(ids))
    assert (cache.hits, cache.misses) == (0, 1)
    assert nape.to_graph(FakeGraph("nasbench201", list(ids))) is g          # same get_hash() -> cached graph
    assert cache.hits == 1
    holder = torch.nn.Module()                                              # NASLib's candidates: Module(arch=graph)
    holder.arch = FakeGraph("nasbench201", ids)
    assert nape.to_graph(holder) is g


def test_dataset_context_picks_the_nb201_input_shape():
    ids = (2, 2, 0, 4, 2, 0)
    g = nape.to_graph(FakeGraph("nasbench201", ids), dataset="ImageNet16-120")
    assert g.meta["input_shape"] == [3, 16, 16]
    assert nape.to_graph(FakeGraph("nasbench201", ids), dataset="cifar10-valid").meta["input_shape"] == [3, 32, 32]


def test_object_without_architecture_raises_a_clear_error():
    class Unset(FakeGraph):
        def get_op_indices(self):
            raise NotImplementedError("Neither op_indices nor the model is set")

    with pytest.raises(ConversionError, match="set an architecture"):
        nape.to_graph(Unset("transbench101_micro", None, "get_hash"))
    with pytest.raises(ConversionError, match="holds no architecture"):
        nape.to_graph(FakeGraph("nasbench301", None))


def test_non_naslib_objects_fall_through_to_other_converters():
    assert naslib_graph(object()) is None
    assert naslib_graph(torch.nn.Linear(2, 2)) is None
    g = nape.to_graph(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), input_shape=(3, 8, 8))
    assert "conv" in g.ops


def test_graph_cache_is_a_bounded_lru():
    lru = GraphCache(maxsize=2)
    space = nape.spaces.get("nb201")
    graphs = [space.to_graph(space.sample(random.Random(i))) for i in range(3)]
    lru.put("a", graphs[0])
    lru.put("b", graphs[1])
    assert lru.get("a") is graphs[0]            # "a" is now the most recent
    lru.put("c", graphs[2])                     # evicts "b"
    assert lru.get("b") is None and lru.get("a") is graphs[0] and lru.get("c") is graphs[2]
    assert len(lru) == 2 and (lru.hits, lru.misses) == (3, 1)
