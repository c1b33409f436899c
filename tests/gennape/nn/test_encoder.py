"""nape_plugin.gennape.nn.encoder: node features -> one embedding per graph, on a tiny literal batch."""
import pytest
import torch
from torch_geometric.nn import GINConv, GraphConv

from nape_plugin.gennape.nn.dag_conv import DAGConv
from nape_plugin.gennape.nn.encoder import SIZE_COLUMNS, GraphEncoder
from nape_plugin.graph.features import NUM_NODE_FEATURES

# two graphs: 0 -> 1 -> 2 and 3 -> 4
EDGES = torch.tensor([[0, 1, 3], [1, 2, 4]])
BATCH = torch.tensor([0, 0, 0, 1, 1])


def features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(5, NUM_NODE_FEATURES, generator=g), torch.rand(2, 3, generator=g)


@pytest.mark.parametrize("conv, cls", [("dag", DAGConv), ("graphconv", GraphConv), ("gin", GINConv)])
def test_shapes_and_conv_kinds(conv, cls):
    enc = GraphEncoder(NUM_NODE_FEATURES, 3, width=8, layers=2, conv=conv, embed_dim=6)
    x, u = features()
    z = enc(x, EDGES, BATCH, u)
    assert z.shape == (2, 6) and z.abs().max() <= 1 and all(isinstance(c, cls) for c in enc.convs)


def test_unknown_conv_is_named():
    with pytest.raises(ValueError, match="unknown conv 'gcn'"):
        GraphEncoder(NUM_NODE_FEATURES, conv="gcn")


def test_reset_parameters_reaches_every_layer():
    torch.manual_seed(0)
    enc = GraphEncoder(NUM_NODE_FEATURES, 3, width=8, layers=2)
    before = [p.detach().clone() for p in enc.parameters()]
    enc.reset_parameters()
    changed = [not torch.equal(a, b) for a, b in zip(before, enc.parameters()) if a.dim() > 1]
    assert changed and all(changed)


def test_graphs_of_a_batch_are_embedded_independently():
    enc = GraphEncoder(NUM_NODE_FEATURES, 3, width=8, layers=2).eval()
    x, u = features()
    together = enc(x, EDGES, BATCH, u)
    first = enc(x[:3], EDGES[:, :2], torch.zeros(3, dtype=torch.long), u[:1])
    torch.testing.assert_close(together[:1], first)


def test_relative_encoder_ignores_a_uniform_size_shift():
    enc = GraphEncoder(NUM_NODE_FEATURES, 3, width=8, layers=2, relative=True).eval()
    x, u = features()
    wider = x.clone()
    wider[:, SIZE_COLUMNS] += 0.3
    torch.testing.assert_close(enc(x, EDGES, BATCH, u), enc(wider, EDGES, BATCH, u + 1))
