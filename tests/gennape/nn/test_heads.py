"""nape_plugin.gennape.nn.heads: independent MLP heads evaluated in one batched matmul."""
import torch

from nape_plugin.gennape.nn.heads import HeadEnsemble


def test_shapes():
    heads = HeadEnsemble(embed_dim=5, num_heads=3, hidden=4)
    assert heads(torch.randn(7, 5)).shape == (7, 3)


def test_each_head_is_its_own_mlp():
    heads = HeadEnsemble(embed_dim=5, num_heads=3, hidden=4)
    z = torch.randn(7, 5)
    for k in range(3):
        expected = torch.relu(z @ heads.w1[k] + heads.b1[k]) @ heads.w2[k] + heads.b2[k]
        torch.testing.assert_close(heads(z)[:, k], expected.squeeze(1))


def test_reset_parameters_redraws_within_the_fan_in_bound():
    torch.manual_seed(0)
    heads = HeadEnsemble(embed_dim=16, num_heads=2, hidden=9)
    before = heads.w1.detach().clone()
    heads.reset_parameters()
    assert not torch.equal(before, heads.w1)
    assert heads.w1.abs().max() <= 16 ** -0.5 and heads.w2.abs().max() <= 9 ** -0.5
