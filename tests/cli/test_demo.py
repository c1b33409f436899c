"""`nape demo`, the README's main job: the shipped model on the shipped sample, a table and a plot."""
import json
import re
from importlib import resources

from nape_plugin import cli
from nape_plugin.data.demo import demo_sample


def test_demo_sample_ships_in_the_package():
    sample = demo_sample()
    assert len(sample) == 500 and len(set(sample.archs)) == 500
    assert sample.labels.min() > 0 and sample.labels.max() < 100


def test_demo_prints_the_card_metrics_a_top_table_and_saves_the_plot(tmp_path, capsys):
    plot = tmp_path / "scatter.png"
    assert cli.main(["demo", "--out", str(plot), "--top", "5"]) == 0
    out = capsys.readouterr().out
    card = json.loads(resources.files("nape_plugin.gennape.pretrained").joinpath("default.json").read_text())
    printed = float(re.search(r"Spearman (\d\.\d{4})", out)[1])
    assert abs(printed - card["check"]["srcc"]) <= card["check"]["precision"]["srcc"] + 5e-5
    table = [line.split() for line in out.splitlines() if line.strip().startswith(("1 ", "5 "))]
    assert [row[0] for row in table] == ["1", "5"] and all(row[-1].startswith("|") for row in table)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_with_an_unknown_model_names_the_shipped_ones(tmp_path, capsys):
    assert cli.main(["demo", "--model", "nope", "--out", str(tmp_path / "x.png")]) != 0
    err = capsys.readouterr().err
    assert "no pretrained model named 'nope'" in err and "default, gennape-nb101" in err
    assert not (tmp_path / "x.png").exists()
