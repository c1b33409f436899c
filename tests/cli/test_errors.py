"""Broken input on every subcommand: one line ``nape <command>: error: ...`` and status 2 (bad input or usage) or
1 (the system failed), never a traceback; outputs that cannot be written are found before any work."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin.cli.main import main

NB201 = nape.spaces.get("nb201")
ARCH = NB201.sample(0)


@pytest.fixture(autouse=True)
def private_folders(tmp_path, monkeypatch):
    """Nothing a case does reaches the user's data or cache folders."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NAPE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli-errors")
    rows = "".join(f"{NB201.sample(i)},{80 + i}\n" for i in range(5))
    for name, text in {"ok.csv": "arch,label\n" + rows, "badcols.csv": "x,y\n1,2\n", "header.csv": "arch,label\n",
                       "strlabel.csv": f"arch,label\n{ARCH},abc\n", "badarch.csv": "arch,label\nfoo,1\nbar,2\n",
                       "nan.csv": "arch,label\n" + "".join(f"{NB201.sample(i)},nan\n" for i in range(5)),
                       "bad.json": "{not json", "list.json": "[1, 2]", "notpt.pt": "hello",
                       "badconfig.json": "{not json", "listconfig.json": "[1]",
                       "evil.json": '{"name": "../x", "seed": 0, "train": [{"family": "nb201"}]}',
                       "badtrain.json": '{"name": "x", "seed": 0, "train": "nb201"}',
                       "shipped.json": '{"name": "default", "seed": 0, "train": [{"family": "nb201"}]}'}.items():
        (d / name).write_text(text)
    (d / "badbytes.csv").write_bytes(b"\xff\xfe\x00arch,label\n\x80\x81,1\n")
    (d / "nul.csv").write_bytes(b"arch,label\n\x00a,\x00\n")
    (d / "dir").mkdir()
    (d / "empty-root").mkdir()
    return d


CASES = [
    # predict
    ("predict --file {d}/missing.txt", 2, "no architecture file"),
    ("predict --file {d}/dir", 2, "is a folder"),
    ("predict --file {d}/badbytes.csv", 2, "not UTF-8 text"),
    ("predict --file {d}/nul.csv", 2, "no registered space parses"),
    ("predict --file {d}/badcols.csv", 2, "has no column(s) arch"),
    ("predict {d}/missing.json", 2, "no graph JSON file"),
    ("predict {d}/bad.json", 2, "not valid graph JSON"),
    ("predict {ARCH} --model {d}/notpt.pt", 2, "cannot read estimator weights"),
    ("predict {ARCH} --space nosuch", 2, "no search space named 'nosuch'"),
    # finetune
    ("finetune {d}/missing.csv --out {d}/x.pt", 2, "no labels CSV file"),
    ("finetune {d}/badbytes.csv --out {d}/x.pt", 2, "not UTF-8 text"),
    ("finetune {d}/strlabel.csv --out {d}/x.pt", 2, "'label' column"),
    ("finetune {d}/header.csv --out {d}/x.pt", 2, "has a header but no rows"),
    ("finetune {d}/ok.csv --out {d}/dir", 2, "it is a folder"),
    ("finetune {d}/ok.csv --out {d}/ok.csv/x.pt", 2, "cannot write"),
    ("finetune {d}/ok.csv --out {d}/x.pt --mode nope", 2, "invalid choice: 'nope'"),
    # convert
    ("convert {d}/missing.json", 2, "no graph JSON file"),
    ("convert {ARCH} -o {d}/dir", 2, "it is a folder"),
    ("convert {ARCH} -o /proc/nope/x.json", 2, "cannot write"),
    ("convert {d}/bad.py:f", 2, "no file"),
    ("convert torch.nn:Linear -k in_features=3 -k bogus=1 --input-shape 3", 2, "cannot take"),
    # evaluate
    ("evaluate nb201 --shots -5", 2, "not a positive integer"),
    ("evaluate nb201 --seeds 0", 2, "not a positive integer"),
    ("evaluate nb201 --json {d}/dir", 2, "it is a folder"),
    ("evaluate nb201 --mode nope", 2, "invalid choice: 'nope'"),
    ("evaluate nb201 --data-root {d}/empty-root", 2, "table not found"),
    # pretrain (the data root is empty: nothing could train)
    ("pretrain {d}/badconfig.json --data-root {d}/empty-root", 2, "is not valid JSON"),
    ("pretrain {d}/listconfig.json --data-root {d}/empty-root", 2, "must be a JSON object"),
    ("pretrain {d}/evil.json --data-root {d}/empty-root", 2, "'name' must be a plain file name"),
    ("pretrain {d}/badtrain.json --data-root {d}/empty-root", 2, "'train' must be a non-empty list"),
    ("pretrain {d}/shipped.json --out {here} --data-root {d}/empty-root", 2, "refusing to overwrite the shipped"),
    ("pretrain default --threads 0 --data-root {d}/empty-root", 2, "not a positive integer"),
    # search and surrogate
    ("search --space nb201 --scorer gbdt --train-csv {d}/badbytes.csv --label-column label", 2, "not UTF-8 text"),
    ("search --space nb201 --scorer gbdt --train-csv {d}/nan.csv --label-column label", 2, "NaN or infinite"),
    ("search --space nb201 --scorer gbdt --train-csv {d}/badarch.csv --label-column label", 2, "row 2"),
    ("search --space nb201 --scorer flops -k bogus=1", 2, "takes no keyword(s) bogus"),
    ("search --space nb201 --out {d}/ok.csv", 2, "cannot create the folder"),
    ("search --space nb201 --budget 0", 2, "not a positive integer"),
    ("surrogate flops --space nb201 --test {d}/dir", 2, "is a folder"),
    ("surrogate gbdt --space nb201 --train {d}/badbytes.csv --test {d}/ok.csv --label-column label", 2,
     "not UTF-8 text"),
    ("surrogate flops --space nb201 --test {d}/ok.csv -o {d}/dir", 2, "it is a folder"),
    # demo
    ("demo --out /proc/nope/x.png", 2, "cannot write"),
    ("demo --top -3", 2, "not a positive integer"),
]


@pytest.mark.parametrize("line, status, message", CASES, ids=[c[0].split(" {")[0][:40] for c in CASES])
def test_broken_input_is_one_line(d, capsys, line, status, message):
    from nape_plugin.gennape.pretrained import HERE
    argv = line.format(d=d, ARCH=ARCH, here=HERE).split()
    try:
        code = main(argv)
    except SystemExit as e:                   # argparse's usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == status, err
    assert "Traceback" not in err and message in err, err
    assert err.strip().splitlines()[-1].startswith(f"nape {argv[0]}: error: ")


def test_an_os_failure_is_status_1(d, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(d / "x.json"))

    monkeypatch.setattr("nape_plugin.graph.core.atomic_write", full)
    assert main(["convert", ARCH, "-o", str(d / "x.json")]) == 1
    assert capsys.readouterr().err == f"nape convert: error: No space left on device: {d / 'x.json'}\n"


@pytest.mark.parametrize("shots", [-5, 0, 4, 2.5])
def test_few_shot_splits_that_leave_nothing_to_test_are_refused(shots):
    from nape_plugin.cli.evaluate import few_shot
    from nape_plugin.errors import ParameterError
    graphs = [NB201.to_graph(NB201.sample(i)) for i in range(5)]
    with pytest.raises(ParameterError, match="shots must be an int from 1 to 3"):
        few_shot(nape.load_pretrained(), graphs, np.arange(5.0), shots, [0])
