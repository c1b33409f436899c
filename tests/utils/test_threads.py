"""nape's torch-thread default: per call, from an argument, $NAPE_THREADS or the default, and never left behind."""
from __future__ import annotations

import pytest
import torch

import nape_plugin as nape
from nape_plugin import cli
from nape_plugin.cli import plugins as cli_plugins
from nape_plugin.errors import NapeError
from nape_plugin.gennape import estimator as estimator_module
from nape_plugin.utils import threads


@pytest.fixture
def torch_threads():
    """Run the test with torch set to 2 threads (as torch's default on a 2-core machine); restore afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(before)


def test_the_argument_wins_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.resolve() == threads.DEFAULT == 1
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.resolve() == 3 and threads.resolve(2) == 2
    monkeypatch.setenv(threads.ENV, "torch")
    assert threads.resolve() is None and threads.resolve("4") == 4


@pytest.mark.parametrize("value", ["0", "many", -1])
def test_a_bad_thread_count_is_a_nape_error(monkeypatch, value):
    monkeypatch.setenv(threads.ENV, str(value))
    with pytest.raises(NapeError, match="threads must be"):
        threads.resolve()


def test_limit_holds_only_inside_and_an_outer_choice_holds_for_inner_calls(monkeypatch, torch_threads):
    monkeypatch.delenv(threads.ENV, raising=False)
    with threads.limit():
        assert torch.get_num_threads() == 1
        with threads.limit(3):
            assert torch.get_num_threads() == 3
            with threads.limit():                       # e.g. est.predict inside a command run with --threads 3
                assert torch.get_num_threads() == 3
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == torch_threads
    with threads.limit("torch"):
        assert torch.get_num_threads() == torch_threads


def test_estimator_calls_run_on_the_default_and_restore_the_users_setting(monkeypatch, torch_threads):
    monkeypatch.delenv(threads.ENV, raising=False)
    est = nape.load_pretrained()
    seen = []
    raw = estimator_module.head_outputs                  # the forward passes of predict
    monkeypatch.setattr(estimator_module, "head_outputs",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or raw(*a, **k))
    space = nape.spaces.get("nb201")
    est.predict([space.to_graph(space.sample(0))])
    assert seen and set(seen) == {1} and torch.get_num_threads() == torch_threads
    monkeypatch.setenv(threads.ENV, "torch")
    seen.clear()
    est.predict([space.to_graph(space.sample(1))])
    assert set(seen) == {torch_threads}


def test_every_command_takes_threads(monkeypatch, torch_threads, capsys):
    seen = []
    monkeypatch.setattr(cli_plugins.Plugins, "run", staticmethod(lambda args: seen.append(torch.get_num_threads()) or 0))
    monkeypatch.delenv(threads.ENV, raising=False)
    assert cli.main(["plugins"]) == 0 and cli.main(["plugins", "--threads", "3"]) == 0
    assert seen == [1, 3] and torch.get_num_threads() == torch_threads
    with pytest.raises(SystemExit):
        cli.main(["plugins", "--threads", "0"])
    assert "threads must be at least 1" in capsys.readouterr().err
