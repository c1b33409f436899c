"""nape_plugin.gennape.nn.dag_conv: the bidirectional DAG convolution, on tiny literal graphs."""
import torch

from nape_plugin.gennape.nn.dag_conv import DAGConv, dag_adjacency

# 0 -> 1 -> 2, and 0 -> 2
EDGES = torch.tensor([[0, 1, 0], [1, 2, 2]])


def test_shapes_and_repr():
    conv = DAGConv(4, 8)
    assert conv(torch.randn(3, 4), EDGES).shape == (3, 8)
    assert repr(conv) == "DAGConv(4, 8)"


def test_reset_parameters_redraws_the_weights():
    torch.manual_seed(0)
    conv = DAGConv(4, 8)
    before = conv.lin.weight.detach().clone()
    conv.reset_parameters()
    assert conv.lin.weight.shape == (8, 12) and not torch.equal(before, conv.lin.weight)


def test_it_reads_producers_and_consumers_with_separate_weights():
    conv = DAGConv(1, 1, bias=False)
    with torch.no_grad():
        conv.lin.weight.copy_(torch.tensor([[1.0, 10.0, 100.0]]))    # [self | mean of producers | mean of consumers]
    x = torch.tensor([[1.0], [2.0], [4.0]])
    out = conv(x, EDGES).squeeze(1)
    # node 0: no producers, consumers 1 and 2 (mean 3); node 1: producer 0, consumer 2; node 2: producers 0 and 1
    assert out.tolist() == [1 + 0 + 100 * 3, 2 + 10 * 1 + 100 * 4, 4 + 10 * 1.5 + 0]


def test_reversing_the_edges_swaps_the_two_directions():
    conv = DAGConv(2, 3)
    x = torch.randn(3, 2)
    flipped = DAGConv(2, 3)
    with torch.no_grad():
        w = conv.lin.weight
        flipped.lin.weight.copy_(torch.cat([w[:, :2], w[:, 4:], w[:, 2:4]], dim=1))
        flipped.lin.bias.copy_(conv.lin.bias)
    torch.testing.assert_close(conv(x, EDGES), flipped(x, EDGES.flip(0)))


def test_precomputed_adjacency_gives_the_same_output():
    conv = DAGConv(4, 4)
    x = torch.randn(3, 4)
    torch.testing.assert_close(conv(x, dag_adjacency(EDGES, 3)), conv(x, EDGES))
