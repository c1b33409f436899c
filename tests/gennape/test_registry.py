"""nape_plugin.gennape.pretrained.registry: an estimator by registered name, by file, or either (resolve)."""
import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin import plugins
from nape_plugin.errors import DataError, UnknownNameError
from nape_plugin.gennape import recipe
from nape_plugin.gennape.pretrained import load, resolve, user_dir


@pytest.fixture(scope="module")
def graphs():
    space = nape.spaces.get("nb201")
    return [space.to_graph(space.sample(i)) for i in range(4)]


def test_resolve_takes_a_registered_name_or_a_saved_file(tmp_path, graphs):
    est = resolve("default")
    path = tmp_path / "mine.pt"
    est.save(path)
    np.testing.assert_array_equal(resolve(str(path)).predict(graphs), est.predict(graphs))
    np.testing.assert_array_equal(resolve(path).predict(graphs), load(path).predict(graphs))


def test_resolve_names_the_registered_models_when_neither(tmp_path):
    with pytest.raises(UnknownNameError, match=r"no pretrained model named 'nope\.pt' and no such file; pretrained: "
                                               r"default, gennape-nb101"):
        resolve("nope.pt")


def test_models_in_the_user_data_folder_are_registered_by_file_name(tmp_path, monkeypatch, graphs):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    user_dir().mkdir(parents=True)
    resolve("default").save(user_dir() / "my-model.pt")
    plugins.manager._refresh()
    try:
        assert "my-model" in nape.gennape.pretrained.names()
        np.testing.assert_array_equal(nape.load_pretrained("my-model").predict(graphs),
                                      nape.load_pretrained("default").predict(graphs))
    finally:
        monkeypatch.undo()
        plugins.manager._refresh()
    assert "my-model" not in nape.gennape.pretrained.names()


def test_a_config_name_that_cannot_name_a_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="'name' must be a plain file name"):
        recipe.pretrain({"name": "../escape", "seed": 0, "train": []}, tmp_path)
