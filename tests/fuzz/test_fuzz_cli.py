"""Fuzzing the command line: every subcommand with broken files, odd values and junk arguments exits with status
0, 1 or 2 and, when it fails, prints one line ``nape <command>: error: ...`` (or argparse's usage), never a
traceback."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

from hypothesis import event, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nape_plugin as nape  # noqa: E402
from nape_plugin.cli.main import main  # noqa: E402
from nape_plugin.gennape.recipe import CONFIG_DIR  # noqa: E402

from ..conftest import SHARED_DATA  # noqa: E402
from .strategies import examples, junk, mutated  # noqa: E402

NB201 = nape.spaces.get("nb201")
ARCHS = [NB201.sample(i) for i in range(6)]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Input files good and bad, a tiny benchmark table, and places one cannot write to."""
    d = tmp_path_factory.mktemp("cli-fuzz")
    rows = "".join(f"{a},{80 + i}\n" for i, a in enumerate(ARCHS))
    texts = {"ok.csv": "arch,label\n" + rows, "badcols.csv": "x,y\n1,2\n", "empty.csv": "",
             "header.csv": "arch,label\n", "short.csv": "arch,label\n" + ARCHS[0] + "\n",
             "strlabel.csv": f"arch,label\n{ARCHS[0]},abc\n",
             "nanlabel.csv": "arch,label\n" + "".join(f"{a},nan\n" for a in ARCHS), "list.txt": "\n".join(ARCHS),
             "bad.json": "{not json", "list.json": "[1, 2]", "graph.json": NB201.to_graph(ARCHS[0]).to_json(),
             "notpt.pt": "hello", "config.json": (CONFIG_DIR / "default.json").read_text()}
    for name, text in texts.items():
        (d / name).write_text(text)
    for name, data in {"badbytes.csv": b"\xff\xfe\x00arch,label\n\x80\x81,1\n", "nul.csv": b"arch,label\n\x00,\x00\n",
                       "bin.pt": b"\x00\x01" * 50}.items():
        (d / name).write_bytes(data)
    (d / "dir").mkdir()
    (d / "empty-root").mkdir()
    table = d / "root" / "nb201" / "nb201.csv"
    table.parent.mkdir(parents=True)
    if (SHARED_DATA / "nb201" / "nb201.csv").is_file():
        with open(SHARED_DATA / "nb201" / "nb201.csv") as src:
            table.write_text("".join(next(src) for _ in range(9)))
    nape.load_pretrained().save(d / "est.pt")
    return {p.name: p for p in d.iterdir()} | {"missing": d / "missing.csv", "in-missing": d / "no" / "x.csv",
                                                "under-file": d / "ok.csv" / "x.out", "proc": Path("/proc/x/y")}


def paths(files: dict[str, Path]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(str(p) for p in files.values()))


def values(files: dict[str, Path]) -> st.SearchStrategy[str]:
    """A wrong argument value, most likely: a path, an architecture, a name, a number, or junk text."""
    return (paths(files) | st.sampled_from(ARCHS + ["nb201", "nb301", "default", "flops", "gbdt", "-1", "0", "3",
                                                     "1e9", "nan", "full", "heads", "label", "arch", "x.py:f"])
            | st.text(max_size=20) | junk.map(str))


def either(good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly ``good``, sometimes ``bad``: a run should get past the argument checks often enough to reach the
    code that reads files and data."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 0 else good)


def options(draw, spec: dict[str, st.SearchStrategy | None]) -> list[str]:
    """Some of the options of ``spec`` (flag -> value strategy, None for a switch), in random order."""
    argv: list[str] = []
    for flag in draw(st.lists(st.sampled_from(sorted(spec)), max_size=len(spec), unique=True)):
        argv.append(flag)
        if spec[flag] is not None:
            argv.append(draw(spec[flag]))
    return argv


@st.composite
def command_lines(draw, files: dict[str, Path]) -> list[str]:
    bad = values(files)
    f = {k: st.just(str(p)) for k, p in files.items()}
    arch = st.sampled_from(ARCHS)
    space, model = either(st.just("nb201"), bad), either(st.sampled_from(["default", str(files["est.pt"])]), bad)
    csv_in = either(f["ok.csv"], paths(files))
    small = either(st.integers(1, 3).map(str), st.integers(-2, 0).map(str) | bad)
    label, mode = either(st.just("label"), bad), either(st.sampled_from(["heads", "rescale"]), bad)
    out_file = either(st.sampled_from(["out.json", "sub/out.csv", "out.pt"]), paths(files) | bad)
    cmd = draw(st.sampled_from(["predict", "finetune", "convert", "evaluate", "pretrain", "search", "surrogate",
                                "plugins", "demo"]))
    if cmd == "predict":
        return [cmd, *draw(st.lists(either(arch | f["graph.json"], bad), max_size=3)),
                *options(draw, {"--file": either(f["list.txt"] | f["ok.csv"], paths(files)), "--space": space,
                                "--model": model, "--std": None, "--json": None})]
    if cmd == "finetune":
        return [cmd, draw(csv_in), *options(draw, {"--space": space, "--model": model, "--mode": mode}),
                "--out", draw(out_file)]
    if cmd == "convert":
        return [cmd, draw(either(arch | f["graph.json"], bad | paths(files))),
                *options(draw, {"--space": space, "--input-shape": either(st.just("3,8,8"), bad), "-k": bad,
                                "-o": out_file, "--indent": small, "--summary": None, "--device": bad})]
    if cmd == "evaluate":
        return [cmd, draw(either(st.just("nb201"), bad)), "--data-root", str(files["root"]),
                *options(draw, {"--model": model, "--metric": either(st.just("c10_valid_200ep"), bad),
                                "--shots": small, "--seeds": small, "--mode": mode, "--json": out_file})]
    if cmd == "pretrain":                      # the data root is empty: a valid config fails before training
        config = files["config.json"].parent / "fuzzed-config.json"
        config.write_text(json.dumps(draw(mutated(json.loads(files["config.json"].read_text())) | junk),
                                     default=str))
        return [cmd, draw(either(st.just(str(config)), bad)), "--data-root", str(files["empty-root"]), "--out",
                str(files["dir"]), *options(draw, {"--threads": small, "--seed": small})]
    if cmd == "search":
        return [cmd, "--space", draw(space), "--budget", draw(small), "--population", draw(small),
                *options(draw, {"--scorer": either(st.sampled_from(["flops", "params", "gbdt", "default"]), bad),
                                "--train-csv": csv_in, "--label-column": label, "--cost": either(st.just("flops"), bad),
                                "--cost-csv": csv_in, "--cost-column": label, "--start": either(arch, bad),
                                "--sample-size": small, "--batch-size": small, "--top": small,
                                "--out": either(st.just("run"), bad), "--json": None,
                                "--strategy": either(st.just("random"), bad), "-k": bad})]
    if cmd == "surrogate":
        return [cmd, draw(either(st.sampled_from(["flops", "params", "gbdt"]), bad)), "--space", draw(space),
                "--test", draw(csv_in), *options(draw, {"--train": csv_in, "--label-column": label, "-k": bad,
                                                        "-o": out_file, "--curve-columns": bad, "--arch-column": bad})]
    if cmd == "plugins":
        return [cmd, *options(draw, {"--json": None})]
    return [cmd, "--model", "no-such-model-" + draw(st.text(max_size=8)),
            *options(draw, {"--out": out_file, "--top": small})]


@examples(60)
@given(data=st.data())
def test_the_command_line_fails_in_one_line(files, tmp_path_factory, data):
    argv = data.draw(command_lines(files))
    work = tmp_path_factory.getbasetemp() / "cwd"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    out, err, home = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(work)                             # outputs with relative paths land here
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:            # argparse: --help/--version (0) or a usage error (2)
                code = e.code
    finally:
        os.chdir(home)
    text = err.getvalue()
    event(f"{argv[0]}: " + ("done" if code == 0 else "usage error" if "usage:" in text else f"error, exit {code}"))
    assert code in (0, 1, 2) and "Traceback" not in text, (argv, text)
    if code:
        last = text.strip().splitlines()[-1] if text.strip() else ""
        assert last.startswith((f"nape {argv[0]}: error: ", "nape: error: ")), (argv, text)
