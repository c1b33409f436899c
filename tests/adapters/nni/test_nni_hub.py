"""NNI's ImageNet hub spaces (no fast path) trace through the general path, their input shape known."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

nni = pytest.importorskip("nni")

import nape_plugin as nape  # noqa: E402
from nape_nni import hub  # noqa: E402

logging.getLogger("nni").setLevel(logging.WARNING)


@pytest.mark.parametrize("name,kwargs,device,shape", [
    ("ProxylessNAS", {}, "meta", (3, 224, 224)),
    ("MobileNetV3Space", {}, "meta", (3, 224, 224)),
    ("ShuffleNetSpace", {}, "meta", (3, 224, 224)),
    # AutoFormer's constructor reads tensor values (no meta device); a small configuration keeps the test fast
    ("AutoFormer", {"search_embed_dim": (64, 96), "search_mlp_ratio": (3.0, 4.0), "search_num_heads": (2, 4),
                    "search_depth": (2, 3), "img_size": 64, "patch_size": 16}, "cpu", (3, 64, 64)),
])
def test_imagenet_hub_spaces_trace_completely(name, kwargs, device, shape):
    import nni.nas.hub.pytorch as nni_hub
    with torch.device(device):
        space = getattr(nni_hub, name)(**kwargs)
        sample: dict = {}
        model = space.random(memo=sample, random_state=np.random.RandomState(0))
    assert hub.identify(space).input_shape == shape
    g = nape.to_graph(model)                                         # input shape inferred
    assert not g.oov
    assert g.params + g.meta.get("unused_params", 0) == sum(p.numel() for p in model.parameters())
    assert nape.to_graph(space, sample=sample) == g
