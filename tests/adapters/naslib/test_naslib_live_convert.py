"""Conversion of real NASLib search-space objects, checked against NASLib's own encodings (skipped without NASLib)."""
from __future__ import annotations

import random

import numpy as np
import pytest

naslib = pytest.importorskip("naslib")

import nape_plugin as nape  # noqa: E402
from nape_naslib.plugin import cache  # noqa: E402


def seeded(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def test_nasbench201_objects_match_naslibs_arch_string():
    from naslib.search_spaces import NasBench201SearchSpace
    from naslib.search_spaces.nasbench201.conversions import convert_naslib_to_str
    space = nape.spaces.get("nb201")
    seeded(0)
    cache.clear()
    for _ in range(5):
        arch = NasBench201SearchSpace()
        arch.sample_random_architecture()
        assert nape.to_graph(arch) == space.to_graph(convert_naslib_to_str(arch))
        child = NasBench201SearchSpace()
        child.mutate(arch)                                  # np.int64 op ids from np.random.choice
        assert nape.to_graph(child) == space.to_graph(convert_naslib_to_str(child))
    holder = arch.get_nbhd()[0]                             # torch.nn.Module with .arch, as NASLib returns them
    assert nape.to_graph(holder) == space.to_graph(convert_naslib_to_str(holder.arch))


def test_nasbench301_objects_match_naslibs_genotype():
    from naslib.search_spaces import NasBench301SearchSpace
    from naslib.search_spaces.nasbench301.conversions import convert_naslib_to_genotype
    if "nb301" not in nape.spaces.names():
        pytest.skip("space nb301 is not registered")
    space = nape.spaces.get("nb301")
    seeded(1)
    for _ in range(3):
        arch = NasBench301SearchSpace()
        arch.sample_random_architecture()
        assert any(isinstance(v, np.integer) for cell in arch.get_compact() for pair in cell for v in pair)
        # reference: the genotype NASLib reads off the ops it placed on the cell edges (not from the compact tuple,
        # whose np.int64 values would print as "np.int64(3)" in the genotype string under numpy 2)
        assert nape.to_graph(arch) == space.to_graph(str(convert_naslib_to_genotype(arch)))


def test_nasbench101_objects_match_the_pruned_model_spec():
    from nasbench_pytorch.model import ModelSpec
    from naslib.search_spaces import NasBench101SearchSpace
    space = nape.spaces.get("nb101")
    rng = np.random.default_rng(2)
    ops_pool = ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    done = 0
    while done < 5:                                         # NASLib's sampler, without the benchmark file
        matrix = np.triu(rng.integers(0, 2, size=(7, 7)), 1)
        ops = ["input", *rng.choice(ops_pool, size=5).tolist(), "output"]
        try:
            spec = ModelSpec(matrix.copy(), list(ops))      # prunes; fails when input does not reach output
        except RuntimeError:
            continue
        if not spec.valid_spec or int(spec.matrix.sum()) > 9:
            continue
        arch = NasBench101SearchSpace()
        arch.instantiate_model = False                      # the converter needs the spec only
        arch.set_spec({"matrix": matrix, "ops": ops})
        assert nape.to_graph(arch) == space.to_graph((spec.matrix.tolist(), spec.ops))
        done += 1


def test_transbench101_objects_match_naslibs_arch_strings():
    from naslib.search_spaces import TransBench101SearchSpaceMacro, TransBench101SearchSpaceMicro
    from naslib.search_spaces.transbench101.conversions import (convert_op_indices_macro_to_str,
                                                                convert_op_indices_micro_to_str)
    micro, macro = nape.spaces.get("tnb101_micro"), nape.spaces.get("tnb101_macro")
    seeded(3)
    for _ in range(3):
        arch = TransBench101SearchSpaceMicro(dataset="class_scene")
        arch.sample_random_architecture()
        assert nape.to_graph(arch) == micro.to_graph(convert_op_indices_micro_to_str(arch.get_op_indices()))
        arch = TransBench101SearchSpaceMacro(dataset="class_scene")
        arch.sample_random_architecture()
        assert nape.to_graph(arch) == macro.to_graph(convert_op_indices_macro_to_str(arch.get_op_indices()))
