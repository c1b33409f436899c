"""Zero-cost proxies against hand-computed values on tiny networks, and the predictor wrapper."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nape_plugin import plugins, spaces
from nape_plugin.graph.builder import GraphBuilder
from nape_plugin.errors import ConversionError, UnknownNameError
from nape_plugin.predictors.zero_cost import PROXIES, ZeroCostProxy, compute, random_batch

SHAPE = (3, 2, 2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small networks run fastest, and most reproducibly, on one thread (and a busy CI core stays usable)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def linear_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 3))


def relu_net() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3))


def test_synflow_of_a_linear_layer_is_the_sum_of_absolute_weights():
    net = linear_net()
    expected = math.log1p(float(net[1].weight.detach().double().abs().sum()))
    assert compute(net, SHAPE, ["synflow"])["synflow"] == pytest.approx(expected, rel=1e-9)


def test_grad_norm_and_snip_follow_their_definitions():
    net = relu_net()
    x, labels = random_batch(SHAPE, 16, seed=5)
    loss = nn.functional.cross_entropy(net(x), labels % 3)
    weights = [net[1].weight, net[3].weight]
    grads = torch.autograd.grad(loss, weights)
    got = compute(net, SHAPE, ["grad_norm", "snip"], batch_size=16, seed=5)
    with torch.no_grad():
        grad_norm = float(sum(g.norm() for g in grads))
        snip = float(sum((w * g).abs().sum() for w, g in zip(weights, grads)))
    assert got["grad_norm"] == pytest.approx(grad_norm, rel=1e-5)
    assert got["snip"] == pytest.approx(snip, rel=1e-5)


def test_nwot_is_the_log_determinant_of_the_relu_agreement_kernel():
    net = relu_net()
    x, _ = random_batch(SHAPE, 8, seed=2)
    c = (net[1](net[0](x)) > 0).double()
    K = c @ c.T + (1 - c) @ (1 - c).T
    got = compute(net, SHAPE, ["nwot"], batch_size=8, seed=2)["nwot"]
    assert got == pytest.approx(float(torch.linalg.slogdet(K)[1]), rel=1e-9)


def test_jacov_of_a_linear_network_sees_identical_jacobians():
    # every input has the same Jacobian, so the correlation matrix is all ones: eigenvalues n and n-1 zeros
    n, k = 8, 1e-5
    expected = -((math.log(n + k) + 1 / (n + k)) + (n - 1) * (math.log(k) + 1 / k))
    got = compute(linear_net(), SHAPE, ["jacov"], batch_size=n)["jacov"]
    assert got == pytest.approx(expected, rel=1e-4)


def test_flops_and_params_come_from_the_graph():
    net = relu_net()
    got = compute(net, SHAPE, ["flops", "params"])
    assert got["params"] == pytest.approx(sum(p.numel() for p in net.parameters()) / 1e6)
    assert got["flops"] == pytest.approx((12 * 5 + 5 * 3) / 1e6)


def test_the_module_is_left_unchanged_and_scores_are_reproducible():
    net = relu_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = compute(net, SHAPE, [p for p in PROXIES if p not in ("flops", "params")], batch_size=8)
    b = compute(net, SHAPE, [p for p in PROXIES if p not in ("flops", "params")], batch_size=8)
    assert a == b
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    assert compute(net, SHAPE, ["nwot"], batch_size=8, seed=1) != compute(net, SHAPE, ["nwot"], batch_size=8, seed=2)


def test_undefined_proxies_are_nan():
    class Ignores(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 3)

        def forward(self, x):
            return self.fc(x.flatten(1) * 0)

    got = compute(Ignores(), SHAPE, ["jacov", "nwot"], batch_size=4)
    assert math.isnan(got["jacov"])      # the output does not depend on the input
    assert math.isnan(got["nwot"])       # no ReLU module to read activation patterns from


def test_zero_cost_proxy_predictor_on_space_architectures():
    space = spaces.get("nb201")
    archs = [space.sample(i) for i in range(2)]
    zc = ZeroCostProxy("grad_norm", space="nb201", batch_size=4, random_state=0)
    s = zc.predict(archs)
    torch.manual_seed(0)
    ref = compute(space.build(archs[0]), space.input_shape, ["grad_norm"], batch_size=4)["grad_norm"]
    assert s[0] == pytest.approx(ref, rel=1e-6)
    assert np.array_equal(s, zc.predict(archs))
    y = np.array([70.0, 90.0])
    assert np.allclose(zc.fit(archs, y).predict(archs), y)
    flops = ZeroCostProxy("flops", space="nb201").predict(archs)
    assert np.allclose(flops, [space.to_graph(a).flops / 1e6 for a in archs])


def test_zero_cost_proxy_inputs_and_names():
    b = GraphBuilder(SHAPE)
    g = b.build(b.linear(b.flatten(b.input), 3))
    assert ZeroCostProxy("params").predict([g])[0] == pytest.approx(39 / 1e6)
    with pytest.raises(ConversionError, match="runs the network"):
        ZeroCostProxy("synflow").predict([g])
    with pytest.raises(ConversionError, match="input_shape"):
        ZeroCostProxy("synflow").predict([linear_net()])
    with pytest.raises(ConversionError, match="space="):
        ZeroCostProxy("synflow").predict(["|skip_connect~0|"])
    with pytest.raises(UnknownNameError, match="synflow"):
        ZeroCostProxy("fisher", input_shape=SHAPE).predict([linear_net()])
    assert ZeroCostProxy("snip", input_shape=SHAPE).predict([linear_net()]).shape == (1,)


def test_every_proxy_is_a_registered_predictor():
    for name in PROXIES:
        p = plugins.get_predictor(name, space="nb201")
        assert isinstance(p, ZeroCostProxy) and p.proxy == name and p.space == "nb201"
