import random

import numpy as np
import torch
from torch_geometric.data import Batch

from nape_plugin import GraphBuilder
from nape_plugin.graph.packed import PackedGraphs


def _graphs(n: int, seed: int = 0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        b = GraphBuilder((3, 8, 8))
        x = b.conv(b.input, rng.choice([4, 8]), 3)
        for _ in range(rng.randint(0, 3)):
            x = b.add([x, b.relu(b.conv(x, b.shape(x)[0], rng.choice([1, 3])))])
        out.append(b.build(b.linear(b.flatten(b.global_pool(x)), 10)))
    return out


def test_batch_equals_pyg_batching_of_to_pyg():
    graphs = _graphs(6)
    packed = PackedGraphs(graphs)
    idx = [4, 1, 5]
    ours = packed.batch(idx)
    ref = Batch.from_data_list([graphs[i].to_pyg() for i in idx])
    torch.testing.assert_close(ours.x, ref.x)
    torch.testing.assert_close(ours.edge_index, ref.edge_index)
    torch.testing.assert_close(ours.batch, ref.batch)
    torch.testing.assert_close(ours.u, ref.u)


def test_repeated_nodes_are_featurised_once():
    graphs = _graphs(20)
    packed = PackedGraphs(graphs)
    packed.batch([0])
    assert len(packed.table) < sum(g.num_nodes for g in graphs) / 4
    np.testing.assert_allclose(packed.mflops, [g.flops / 1e6 for g in graphs])


def test_arrays_round_trip_subset_and_concat():
    graphs = _graphs(8)
    packed = PackedGraphs(graphs)
    again = PackedGraphs.from_arrays(packed.to_arrays())
    torch.testing.assert_close(again.batch([2, 3]).x, packed.batch([2, 3]).x)
    sub = packed.subset([5, 2])
    torch.testing.assert_close(sub.batch([0, 1]).edge_index, packed.batch([5, 2]).edge_index)
    both = PackedGraphs.concat([PackedGraphs(graphs[:3]), PackedGraphs(graphs[3:])])
    assert len(both) == 8
    torch.testing.assert_close(both.batch([1, 6]).x, packed.batch([1, 6]).x)
    torch.testing.assert_close(both.batch([1, 6]).edge_index, packed.batch([1, 6]).edge_index)


def test_targets_travel_with_the_batch():
    packed = PackedGraphs(_graphs(4))
    packed.y = np.array([0.1, 0.2, 0.3, 0.4])
    packed.group = np.array([0, 0, 1, 1])
    b = packed.batch([3, 0])
    torch.testing.assert_close(b.y, torch.tensor([0.4, 0.1]))
    assert b.group.tolist() == [1, 0]


def test_graphs_are_packed_as_their_effective_graph():
    b = GraphBuilder((4, 8, 8))
    dead = b.conv(b.input, 4, 3)
    g = b.build(b.add([b.zero(dead), b.conv(b.input, 4, 1)]))
    batch = PackedGraphs([g]).batch([0])
    assert batch.x.shape[0] == 4                      # input, the live conv, add, output
    assert batch.edge_index.tolist() == [[0, 1, 2], [1, 2, 3]]
