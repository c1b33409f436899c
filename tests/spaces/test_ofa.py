"""Once-for-All spaces: encodings, the largest and smallest subnets, sizes against OFA's implementation, moves, errors.
The space contract (round trips, direct builder vs tracing, seeded sampling, moves) is nape_plugin.testing.check_space,
run on every registered space in test_conformance.py and here on the extreme subnets."""
from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch

import nape_plugin as nape
from nape_plugin.errors import EncodingError
from nape_plugin.spaces.ofa import (RESOLUTIONS, OFAMobileNetV3Space, OFAProxylessSpace, OFAResNetSpace,
                                    make_divisible)
from nape_plugin.testing import check_space

NAMES = ("ofa_mbv3", "ofa_pn", "ofa_resnet")
MBV3_MAX = "r224|" + "|".join(["k7e6,k7e6,k7e6,k7e6"] * 5)
MBV3_MIN = "r224|" + "|".join(["k3e3,k3e3"] * 5)
PN_MAX = "r224|" + "|".join(["k7e6,k7e6,k7e6,k7e6"] * 5) + "|k7e6"
PN_MIN = "r224|" + "|".join(["k3e3,k3e3"] * 5) + "|k3e3"
RN_MAX = ("r224|stem:d2,w1.0,w1.0|w1.0:" + ",".join(["e0.35"] * 4) + "|w1.0:" + ",".join(["e0.35"] * 4)
          + "|w1.0:" + ",".join(["e0.35"] * 6) + "|w1.0:" + ",".join(["e0.35"] * 4))
RN_MIN = ("r224|stem:d0,w0.65,w0.65|w0.65:e0.2,e0.2|w0.65:e0.2,e0.2|w0.65:" + ",".join(["e0.2"] * 4)
          + "|w0.65:e0.2,e0.2")

#: Parameters of the largest and smallest subnets, identical to the subnets OFA's own code builds
#: (``get_active_subnet`` of the released supernets' classes; benchmarks/ofa_reference.py, docs/spaces.md).
OFA_PARAMS = {MBV3_MAX: 7_664_760, MBV3_MIN: 3_410_792, PN_MAX: 7_942_056, PN_MIN: 3_718_832,
              RN_MAX: 48_105_992, RN_MIN: 6_539_280}
SPACE_OF = {MBV3_MAX: "ofa_mbv3", MBV3_MIN: "ofa_mbv3", PN_MAX: "ofa_pn", PN_MIN: "ofa_pn", RN_MAX: "ofa_resnet",
            RN_MIN: "ofa_resnet"}


def space(name):
    return nape.spaces.get(name)


def traced(sp, arch):
    with torch.device("meta"):
        model = sp.build(arch)
    return nape.to_graph(model, input_shape=sp.input_shape_for(arch))


# --------------------------------------------------------------------------------------------------- registry
def test_registered():
    assert isinstance(space("ofa_mbv3"), OFAMobileNetV3Space)
    assert isinstance(space("ofa_pn"), OFAProxylessSpace)
    assert isinstance(space("ofa_resnet"), OFAResNetSpace)
    for name in NAMES:
        assert (space(name).input_shape, space(name).num_classes) == ((3, 224, 224), 1000)
    assert RESOLUTIONS == tuple(range(128, 228, 4))


def test_channel_layouts():
    mb, pn = space("ofa_mbv3"), space("ofa_pn")
    assert mb.widths == (24, 40, 80, 112, 160) and mb.head_channels == (960, 1280)
    assert (pn.stem_channels, pn.first_block_channels) == (40, 24)
    assert pn.widths == (32, 56, 104, 128, 248, 416) and pn.head_channels == (1664,)
    assert [OFAResNetSpace.stem_channels(w) for w in (0.65, 0.8, 1.0)] == [(24, 40), (24, 48), (32, 64)]
    assert [make_divisible(v) for v in (19.2, 41.6, 166.4, 819.2)] == [24, 40, 168, 816]


# --------------------------------------------------------------------------------------------------- encodings
def test_ofa_dicts_as_json():
    for name in NAMES:
        sp = space(name)
        arch = sp.sample(0)
        assert sp.parse(json.dumps(sp.encode(arch, "ofa"))) == arch


def test_ofa_dict_variants():
    mb = space("ofa_mbv3")
    arch = "r160|k3e4,k5e6|k7e3,k3e3,k5e4|k3e6,k3e6|k5e4,k5e4,k7e6,k3e3|k3e3,k3e3"
    full = mb.encode(arch, "ofa")
    assert full == {"ks": [3, 5, 0, 0, 7, 3, 5, 0, 3, 3, 0, 0, 5, 5, 7, 3, 3, 3, 0, 0],
                    "e": [4, 6, 0, 0, 3, 3, 4, 0, 6, 6, 0, 0, 4, 4, 6, 3, 3, 3, 0, 0],
                    "d": [2, 3, 2, 4, 2], "r": [160]}
    active = {"ks": [3, 5, 7, 3, 5, 3, 3, 5, 5, 7, 3, 3, 3], "e": [4, 6, 3, 3, 4, 6, 6, 4, 4, 6, 3, 3, 3],
              "d": [2, 3, 2, 4, 2]}
    for form in (full, {**active, "r": 160}, {**active, "image_size": 160}, {**active, "r": [160], "wid": None},
                 {"ks": np.array(full["ks"]), "e": [float(e) for e in full["e"]], "d": full["d"], "r": [160]},
                 str({**active, "r": [160]})):
        assert mb.parse(form) == arch
    assert mb.parse({"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5}) == MBV3_MAX   # r defaults to 224
    pn = space("ofa_pn")
    assert pn.encode(PN_MIN, "ofa")["d"] == [2, 2, 2, 2, 2, 1]
    assert pn.parse({"ks": [3] * 21, "e": [3] * 21, "d": [2] * 5}) == PN_MIN       # the last depth may be left out
    rn = space("ofa_resnet")
    assert rn.encode(RN_MIN, "ofa") == {"d": [0, 0, 0, 0, 0],
                                        "e": [0.2, 0.2, 0, 0, 0.2, 0.2, 0, 0, 0.2, 0.2, 0.2, 0.2, 0, 0, 0.2, 0.2, 0, 0],
                                        "w": [0] * 6, "r": [224]}
    assert rn.parse({"d": [2, 2, 2, 2, 2], "e": [0.35] * 18, "w": [2] * 6, "image_size": 224}) == RN_MAX


@pytest.mark.parametrize("name, bad, fragment", [
    ("ofa_mbv3", "r130|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "resolution 130"),
    ("ofa_mbv3", "r256|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "resolution 256"),
    ("ofa_mbv3", "r224|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "4 stage(s), expected 5"),
    ("ofa_mbv3", "r224|k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "stage 1 has 1 block(s)"),
    ("ofa_mbv3", "r224|k3e3,k3e3,k3e3,k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "stage 1 has 5"),
    ("ofa_mbv3", "r224|k4e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "block k4e3"),
    ("ofa_mbv3", "r224|k3e5,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "block k3e5"),
    ("ofa_mbv3", "r224|k3e3,3x3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "block '3x3' must read"),
    ("ofa_mbv3", "k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3", "must start with the resolution"),
    ("ofa_mbv3", "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|", "must start with the res"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20}, "missing ['d']"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "w": [1]}, "unknown key(s) 'w'"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "wid": 1}, "'wid' must be None"),
    ("ofa_mbv3", {"ks": [3] * 19, "e": [3] * 19, "d": [2] * 5}, "expected 20"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 4}, "'d' has 4 entries"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [1] * 5}, "depth 1 of stage 1"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3.5] * 20, "d": [2] * 5}, "not an integer"),
    ("ofa_mbv3", {"ks": 3, "e": [3] * 20, "d": [2] * 5}, "'ks' must be a list"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": [160, 224]}, "must be one value"),
    ("ofa_mbv3", {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 160, "image_size": 160}, "resolution once"),
    ("ofa_mbv3", "{'ks': [3] * 20}", "neither JSON nor a Python literal"),
    ("ofa_mbv3", 42, "cannot read a int"),
    ("ofa_pn", "r224|" + "|".join(["k3e3,k3e3"] * 6), "stage 6 has 2 block(s), allowed (1,)"),
    ("ofa_pn", {"ks": [3] * 21, "e": [3] * 21, "d": [2] * 5 + [2]}, "depth 2 of stage 6"),
    ("ofa_resnet", RN_MIN.replace("stem:d0", "stem:d1"), "must start 'r<res>|stem:d2"),
    ("ofa_resnet", RN_MIN.replace("w0.65:e0.2,e0.2|w0.65:e0.2,e0.2|", "w0.65:e0.2|w0.65:e0.2,e0.2|"),
     "stage 1 has 1 block(s), allowed 2 to 4"),
    ("ofa_resnet", RN_MIN.replace("|w0.65:e0.2,e0.2|w0.65:e0.2,e0.2|", "|w0.7:e0.2,e0.2|w0.65:e0.2,e0.2|"),
     "width multiplier 0.7"),
    ("ofa_resnet", RN_MIN.replace("|w0.65:e0.2,e0.2|w0.65:e0.2,e0.2|", "|w0.65:e0.3,e0.2|w0.65:e0.2,e0.2|"),
     "bottleneck ratio 0.3"),
    ("ofa_resnet", RN_MIN.replace("|w0.65:e0.2,e0.2|w0.65:e0.2,e0.2|", "|w0.65:0.2,0.2|w0.65:e0.2,e0.2|"),
     "must read 'w<width>:e<ratio>"),
    ("ofa_resnet", RN_MIN.rsplit("|", 1)[0], "3 stage(s), expected 4"),
    ("ofa_resnet", {"d": [1, 0, 0, 0, 0], "e": [0.2] * 18, "w": [0] * 6}, "2 (keep) or 0 (skip)"),
    ("ofa_resnet", {"d": [0, 3, 0, 0, 0], "e": [0.2] * 18, "w": [0] * 6}, "extra depth"),
    ("ofa_resnet", {"d": [0] * 5, "e": [0.2] * 18, "w": [0, 0, 0, 0, 0, 3]}, "6 indices"),
    ("ofa_resnet", {"d": [0] * 5, "e": [0.2] * 17, "w": [0] * 6}, "expected 18"),
    ("ofa_resnet", {"d": [0] * 5, "e": [0.2] * 18}, "missing ['w']"),
])
def test_malformed_encodings(name, bad, fragment):
    with pytest.raises(EncodingError) as info:
        space(name).parse(bad)
    assert fragment in str(info.value)


def test_reads_the_labelled_table(shared_data):
    """The table's ks/e/d (20 slots, unused ones carrying values) at the row's image_size; CompOFA's subnets are OFA
    subnets whose expand ratio is one per stage, tied to the stage's depth (2: 3, 3: 4, 4: 6)."""
    rows = pd.read_csv(shared_data / "ofa" / "ofa_mbv3_imagenet.csv")
    mb = space("ofa_mbv3")
    for _, r in rows.groupby("supernet").head(40).iterrows():
        ks, es, ds = json.loads(r.ks), json.loads(r.e), json.loads(r.d)
        arch = mb.arch({"ks": ks, "e": es, "d": ds, "image_size": r.image_size})
        assert arch.resolution == r.image_size and mb.input_shape_for(arch) == (3, r.image_size, r.image_size)
        assert [len(st) for st in arch.stages] == ds
        assert [b for st in arch.stages for b in st] == [(ks[4 * s + j], es[4 * s + j]) for s, d in enumerate(ds)
                                                         for j in range(d)]
        if r.supernet == "compofa":
            assert all({e for _, e in st} == {{2: 3, 3: 4, 4: 6}[len(st)]} for st in arch.stages)
        g = mb.to_graph(arch)
        assert g.nodes[0].out_shape == (3, r.image_size, r.image_size)


def test_to_graph_detects_the_space():
    for arch, name in SPACE_OF.items():
        assert nape.to_graph(arch) == space(name).to_graph(arch)


# -------------------------------------------------------------------------------------------------- networks
def test_contract_on_the_extreme_subnets():
    for name in NAMES:
        extremes = [a for a, n in SPACE_OF.items() if n == name]
        check_space(space(name), n=0, archs=extremes)
        for arch in extremes + [space(name).sample(1)]:
            g = space(name).to_graph(arch)
            assert not g.oov and g.meta["arch"] == arch
            r = int(arch[1:4])
            assert g.nodes[0].out_shape == (3, r, r) and g.nodes[-1].out_shape == (1000,)


def test_subnet_parameters_match_ofa():
    for arch, expected in OFA_PARAMS.items():
        sp = space(SPACE_OF[arch])
        with torch.device("meta"):
            model = sp.build(arch)
        assert sum(p.numel() for p in model.parameters()) == sp.to_graph(arch).params == expected, arch


def test_ops_of_each_family():
    mb = space("ofa_mbv3").to_graph(MBV3_MIN)
    ops = set(mb.ops)
    assert {"hardswish", "hardsigmoid", "relu", "depthwise_conv", "mul", "add", "global_avgpool"} <= ops
    assert "relu6" not in ops
    # squeeze-excite in stages 2, 4, 5 only: 2 + 2 + 2 blocks at the minimum depth
    assert mb.ops.count("hardsigmoid") == 6
    pn = set(space("ofa_pn").to_graph(PN_MIN).ops)
    assert "relu6" in pn and not pn & {"hardswish", "hardsigmoid", "mul", "relu"}
    rn = space("ofa_resnet").to_graph(RN_MIN)
    assert {"maxpool", "avgpool", "conv", "add", "relu"} <= set(rn.ops)
    assert rn.ops.count("avgpool") == 4        # one shortcut pool per stage (1x1 at stride 1, as OFA builds it)


@pytest.fixture
def one_thread():
    """Run real forward passes on one thread: tiny convolutions gain nothing from more, and lose much on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_real_forward_at_low_resolution(one_thread):
    torch.manual_seed(0)
    for arch in (MBV3_MIN, PN_MIN, RN_MIN):
        sp = space(SPACE_OF[arch])
        small = "r128" + arch[4:]
        model = sp.build(small).eval()
        with torch.no_grad():
            out = model(torch.randn(1, *sp.input_shape_for(small)))
        assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_width_multiplier_variant():
    sp = OFAMobileNetV3Space(width_mult=1.2)
    assert sp.widths == (32, 48, 96, 136, 192)
    arch = sp.sample(0)
    assert sp.to_graph(arch) == traced(sp, arch)
    assert sp.to_graph(arch).params > space("ofa_mbv3").to_graph(arch).params


# ------------------------------------------------------------------------------------------------------ moves
def test_samples_cover_the_choices():
    for name in NAMES:
        sp = space(name)
        archs = {sp.sample(random.Random(i)) for i in range(200)}
        assert len(archs) == 200
        assert {sp.input_shape_for(a)[1] for a in archs} == set(RESOLUTIONS)


def test_neighbours():
    # resolution (24 others) + per block 2 kernels + 2 ratios + depth moves (drop one, or append one of 9 blocks)
    assert len(space("ofa_mbv3").neighbours(MBV3_MIN)) == 24 + 10 * 4 + 5 * 9
    assert len(space("ofa_pn").neighbours(PN_MIN)) == 24 + 11 * 4 + 5 * 9
    # resolution + stem toggle + 2 stem widths x 2 + 4 stage widths x 2 + 10 blocks x 2 ratios + 4 x 3 appended blocks
    assert len(space("ofa_resnet").neighbours(RN_MIN)) == 24 + 1 + 4 + 8 + 20 + 12
